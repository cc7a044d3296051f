"""Settings for the test suite: the production settings, with the HTTPS redirect off
(the test client speaks plain HTTP) and a fast password hasher."""

import os

# Nothing from a developer's .env (make run writes one with DEBUG=true): set in the environment so
# that the processes the tests start skip it too.
os.environ["SETTINGS_IGNORE_DOTENV"] = "true"

# Test secrets (DEBUG is off, as in production, so the settings require real-looking ones). Set in
# the environment so that the processes the tests start (qclusters, check --deploy) get them too.
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x7Kp2mQ9vR4tW8yZ3bN6cF1hJ5gL0dS" * 2)
os.environ.setdefault("CARD_CODE_KEYS", "hMyn7mAq3Zt2QwUFL0rN6ZqkYAO3zJ0m6CbhpO5Rr2Y=")
os.environ.setdefault("CARD_CODE_SEARCH_KEY", "test-search-key-" + "Qa1Ws2Ed3Rf4Tg5Yh6Uj7Ik8Ol9P" * 2)

from .settings import *  # noqa: E402, F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ONECLICKDZ_API_KEY = "test-key-0000"
ONECLICKDZ_CONNECT_TIMEOUT = 2.0
ONECLICKDZ_READ_TIMEOUT = 2.0
# No test sits through retries and their back-off (the client's own tests build clients that retry).
ONECLICKDZ_GET_RETRIES = 0
ONECLICKDZ_RETRY_BACKOFF = 0.0
# A ledger walk reads a failed page again at once (the fault budget is production's).
LEDGER_SYNC_RESUME_SECONDS = 0.0
# Every send checks its number (a test that counts checks turns the reuse on; bench/status_lag.py
# sets the production figure in its cluster's environment).
ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS = env.int("ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS", default=0)  # noqa: F405
# Likewise the number check's answer (check-number.json): a test that counts API calls turns it on.
NUMBER_CHECK_CACHE_SECONDS = env.int("NUMBER_CHECK_CACHE_SECONDS", default=0)  # noqa: F405
# Tasks run inline in unit tests; the end-to-end tests start real qcluster processes instead.
Q_CLUSTER = {**Q_CLUSTER, "sync": env.bool("Q_SYNC", default=True)}  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory, so that qcluster processes started by a test share the test database.
    # One file per run, so that two runs at once do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-artifacts" / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405
LOGGING["loggers"]["topups"]["level"] = "WARNING"  # noqa: F405
# No collectstatic before tests: plain storage, files found in the apps and static/.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Login throttling off by default: client.login() passes no request, which django-axes requires.
# tests/security/test_login.py turns it on for the throttling tests.
AXES_ENABLED = False
# Orders without a cash session in the tests that are not about the books (tests/books/
# turn it on, as in production).
TILL_REQUIRED = env.bool("TILL_REQUIRED", default=False)  # noqa: F405
