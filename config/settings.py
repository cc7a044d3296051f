"""Settings, read from the environment (and an optional .env file) with django-environ.

Every variable is documented in .env.example. The defaults give the embedded set-up: SQLite,
django-q2's ORM broker, the database cache and the bundled API simulator.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.defaults import SIMULATOR_URL

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The test settings skip .env: a developer's file (make run writes one with DEBUG=true) must not
# change what the tests see. Only the real environment reaches them.
if os.environ.get("SETTINGS_IGNORE_DOTENV") != "true":
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
# Placeholders that must never sign a production session: the old built-in default and the one
# .env.example ships with. With DEBUG off the app refuses to start on them, on a missing key or on
# a short one (Django's own rule: 50 characters, 5 distinct).
PLACEHOLDER_SECRET_KEYS = frozenset({
    "django-insecure-development-key-change-me",
    "change-me-to-a-long-random-string-before-going-to-production",
})
DEVELOPMENT_SECRET_KEY = "django-insecure-development-key-change-me"


def refuse_weak_secret(name: str, value: str) -> None:
    """Stop the process (DEBUG off) when a secret is missing, short or a known placeholder."""
    if (not value or value in PLACEHOLDER_SECRET_KEYS or value.startswith("django-insecure")
            or "change-me" in value or len(value) < 50 or len(set(value)) < 5):
        raise ImproperlyConfigured(
            f"{name} is missing, shorter than 50 characters or a placeholder: set a long random value "
            "in the environment (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )


SECRET_KEY = env("SECRET_KEY", default="" if not DEBUG else DEVELOPMENT_SECRET_KEY)
if not DEBUG:
    refuse_weak_secret("SECRET_KEY", SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "django_q",
    "topups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "topups.middleware.UserLanguageMiddleware",
    "topups.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A date out of bounds in an admin list's query is dropped with a message (topups/admin/dates.py).
    "topups.admin.dates.AdminDateLookupsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # A product line's templates live in its package (topups.lines.loader).
            "loaders": [("django.template.loaders.cached.Loader", [
                "django.template.loaders.filesystem.Loader",
                "django.template.loaders.app_directories.Loader",
                "topups.lines.loader.Loader",
            ])],
            # A product line's own template filters ({% load giftcards %}).
            "libraries": {"giftcards": "topups.lines.giftcards.templatetags"},
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "topups.context_processors.api_key_state",
                "topups.context_processors.ledger_flags",
                "topups.context_processors.cost_visibility",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A connection kept between requests (and between tasks) is checked before its first query, so one
# the database dropped (a failover, a restart) is opened again instead of failing the request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# A claim or a status write of a send that fails on a dropped connection is tried again on a new
# one for this long (seconds; topups/services/reconnect.py), so a blip delays an order by seconds.
DB_RETRY_SECONDS = env.float("DB_RETRY_SECONDS", default=10.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is shared by the web process and the qcluster workers: wait for locks
    # instead of failing, and take the write lock at BEGIN so a claim cannot deadlock.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "topups_cache"}
    }

# django-q2: the ORM broker by default, Redis when REDIS_URL is set. django-q2 requires
# timeout < retry; attempts are finite so no task can loop forever. Every task is safe to
# run twice (see topups/tasks.py), so a retry after a lost worker does no harm.
Q_CLUSTER = {
    "name": "topups",
    "workers": env.int("Q_WORKERS", default=4),
    # A task is killed after `timeout` s: the send lease (below) must outlast it (a system check
    # refuses otherwise), and a send task stops taking orders when the next one might not fit.
    "timeout": env.int("Q_TIMEOUT", default=60),
    "retry": env.int("Q_RETRY", default=90),
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = env.float("Q_POLL", default=0.5)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username+address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("ar", _("Arabic"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Africa/Algiers"
# Day/month/year and a 24-hour clock in every language (config/formats/ completes Django's en and ar).
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Served over HTTPS in production: secure cookies, HSTS and the redirect follow HTTPS,
# which defaults to on whenever DEBUG is off. A shop LAN without TLS sets HTTPS=false.
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Idle timeout: a session unused for a shift (8 h by default) ends; requests push it back
# (topups.middleware.StaffSessionMiddleware, at most every 5 minutes).
SESSION_COOKIE_AGE = int(env.float("SESSION_IDLE_HOURS", default=8) * 3600)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# No script reads the CSRF cookie (the dashboard's fetch calls are GETs; POSTs are plain forms
# carrying the token), so it can be hidden from JavaScript too.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp): only our own scripts, styles and images; no inline script
# at all. Templates keep behaviour in static/topups/*.js and looks in *.css.
# The one inline block Django's admin 5.2 still writes is the <style> of admin/change_list.html on
# a changelist without actions (e.g. the read-only audit trail); it is allowed by its hash alone
# rather than with 'unsafe-inline'. tests/security/test_headers.py fails if Django changes that block.
ADMIN_CHANGELIST_STYLE_HASH = "'sha256-blvLUW3UscWqsXGByNOqdBboM+ShWAuugp2mC/wbafU='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, ADMIN_CHANGELIST_STYLE_HASH],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Login throttling (django-axes): after 5 wrong passwords for one username from one address, that
# pair is refused for 15 minutes, on the dashboard's login page and the admin's alike. Other users,
# and the same user elsewhere, are not affected. On top of that, an account that collects 20
# wrong passwords from any addresses within the 15 minutes is locked everywhere (an attacker with
# many addresses gets 20 tries per window, not 5 per address); the README weighs the trade-off.
# The attempts are rows supervisors can see and delete (unlock) in the admin. A successful login
# clears the pair's failures.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ACCOUNT_FAILURE_LIMIT = env.int("LOGIN_ACCOUNT_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "topups.throttling.AccountAwareHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "topups.views.account.login_locked_out"
AXES_HTTP_RESPONSE_CODE = 429
# Behind our own proxy every request comes from the proxy's address: use the one it forwards.
AXES_CLIENT_IP_CALLABLE = "topups.http.client_ip"

# OneClickDZ API. The default URL is the bundled simulator (make run starts it).
ONECLICKDZ_API_URL = env("ONECLICKDZ_API_URL", default=SIMULATOR_URL)
ONECLICKDZ_API_KEY = env("ONECLICKDZ_API_KEY", default="")
ONECLICKDZ_CONNECT_TIMEOUT = env.float("ONECLICKDZ_CONNECT_TIMEOUT", default=5.0)
ONECLICKDZ_READ_TIMEOUT = env.float("ONECLICKDZ_READ_TIMEOUT", default=20.0)
# GETs (they change nothing at the API) are tried again this many times on a connection failure,
# 429 or 5xx, waiting BACKOFF × 2^n seconds between tries (or the API's Retry-After, at most 10 s).
# A POST is never tried again.
ONECLICKDZ_GET_RETRIES = env.int("ONECLICKDZ_GET_RETRIES", default=3)
# A number check is reused for the same line this long (a send tried again needs no second one).
ONECLICKDZ_NUMBER_CHECK_REUSE_SECONDS = 600
# The counter's checks, per user ("count/period", period s, m or h: django-ratelimit's rates).
# A number check (check-number.json) asks the API; a plan check (flexy-check.json, asked while the
# clerk types, and the flexy form's "Show plans and price") reads the cached plans.
NUMBER_CHECK_RATE = env("NUMBER_CHECK_RATE", default="20/m")
PLAN_CHECK_RATE = env("PLAN_CHECK_RATE", default="120/m")
# The API's answer on a line (found or refused) is given again for this long without a call.
NUMBER_CHECK_CACHE_SECONDS = env.int("NUMBER_CHECK_CACHE_SECONDS", default=60)
ONECLICKDZ_RETRY_BACKOFF = env.float("ONECLICKDZ_RETRY_BACKOFF", default=0.5)
# Orders a send task sends at once (threads per worker: a send mostly waits on the API).
ONECLICKDZ_SEND_THREADS = env.int("ONECLICKDZ_SEND_THREADS", default=4)
# An order left in "sending" longer than this lost its worker: it is reconciled by reference.
ONECLICKDZ_SENDING_LEASE_SECONDS = env.int("ONECLICKDZ_SENDING_LEASE_SECONDS", default=90)
# How long after an ambiguous send the API must still answer NOT_FOUND before we send again.
ONECLICKDZ_RESEND_AFTER_SECONDS = env.int("ONECLICKDZ_RESEND_AFTER_SECONDS", default=120)
# An order the API may hold (accepted, DUPLICATED_REF, an unclear POST) is closed as never sent on
# check-ref NOT_FOUND alone only once NOT_FOUND has lasted this long; before that, only the ledger
# (read past its last attempt, no debit that could be its) proves it.
ONECLICKDZ_NOT_FOUND_CLOSE_HOURS = env.int("ONECLICKDZ_NOT_FOUND_CLOSE_HOURS", default=72)

# Card codes are encrypted at rest (Fernet, AES-128-CBC + HMAC). CARD_CODE_KEYS is a comma-separated
# list of Fernet keys: the first encrypts, every one decrypts, so a key is rotated by putting the
# new one first and running `manage.py rotate_card_code_keys`. CARD_CODE_SEARCH_KEY keys the HMAC
# digest that lets an exact card-code search find a row without decrypting. With DEBUG off both
# are required; in development they are derived from SECRET_KEY.
CARD_CODE_KEYS = env.list("CARD_CODE_KEYS", default=[])
CARD_CODE_SEARCH_KEY = env("CARD_CODE_SEARCH_KEY", default="")
if not DEBUG:
    if not CARD_CODE_KEYS:
        raise ImproperlyConfigured("CARD_CODE_KEYS is missing: card codes cannot be stored without a key "
                                   "(python -c 'from cryptography.fernet import Fernet; "
                                   "print(Fernet.generate_key().decode())').")
    refuse_weak_secret("CARD_CODE_SEARCH_KEY", CARD_CODE_SEARCH_KEY)

# Shop details printed on receipts, and dashboard thresholds.
SHOP_NAME = env("SHOP_NAME", default="OneClickDZ reseller")
SHOP_ADDRESS = env("SHOP_ADDRESS", default="")
SHOP_PHONE = env("SHOP_PHONE", default="")
# A cashier sells only with an open cash session (topups.services.tills).
TILL_REQUIRED = env.bool("TILL_REQUIRED", default=True)
LOW_BALANCE_THRESHOLD = Decimal(env("LOW_BALANCE_THRESHOLD", default="5000"))
# A top-up of a line and value already topped up within this many hours asks for confirmation
# (the counter) or is flagged (a bulk file's preview).
# The product lines the shop sells, each a package that registers itself (topups.lines); the counter
# shows their tabs in this order.
TOPUPS_PRODUCT_LINES = ["topups.lines.internet", "topups.lines.mobile", "topups.lines.giftcards"]
# Gift cards (topups.lines.giftcards): the catalogue's refresh; the most cards in one order; how long
# a placed order may take to show in /gift-cards/list (the recovery of a lost answer waits that
# long before it may prove an order never placed); whether placeOrder accepts our ref (the Arabic
# guide's ``ref`` / ``orderRef``; the English and French reference have none).
GIFT_CATALOG_REFRESH_HOURS = env.int("GIFT_CATALOG_REFRESH_HOURS", default=24)
GIFT_MAX_QUANTITY = env.int("GIFT_MAX_QUANTITY", default=10)
GIFT_LIST_LAG_SECONDS = env.int("GIFT_LIST_LAG_SECONDS", default=60)
GIFT_SEND_REF = env.bool("GIFT_SEND_REF", default=False)
# How far the provider's clock may be from ours: an attempt's window is widened by it on both sides.
GIFT_CLOCK_SKEW_SECONDS = env.int("GIFT_CLOCK_SKEW_SECONDS", default=120)
SAME_LINE_WARNING_HOURS = env.float("SAME_LINE_WARNING_HOURS", default=24)

# Background schedule periods (minutes).
CATALOG_REFRESH_MINUTES = env.int("CATALOG_REFRESH_MINUTES", default=10)
BALANCE_REFRESH_MINUTES = env.int("BALANCE_REFRESH_MINUTES", default=3)
# Mobile plans rarely change: the API's guide says to sync them daily.
MOBILE_PLANS_REFRESH_MINUTES = env.int("MOBILE_PLANS_REFRESH_MINUTES", default=1440)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "topups": {"level": env("LOG_LEVEL", default="INFO"), "propagate": True},
        "django_q": {"level": "WARNING", "propagate": True},
    },
}

# Reconciliation with the provider's ledger (topups/services/ledger.py, reconcile.py).
# A first sync reads this many days back; each sync re-reads this much before the last row it saw
# (rows that arrive late); a debit, a refund or an order is only flagged this long after it happened.
LEDGER_BACKFILL_DAYS = env.int("LEDGER_BACKFILL_DAYS", default=7)
LEDGER_SYNC_OVERLAP_SECONDS = env.int("LEDGER_SYNC_OVERLAP_SECONDS", default=900)
LEDGER_GRACE_SECONDS = env.int("LEDGER_GRACE_SECONDS", default=600)
LEDGER_SYNC_MINUTES = env.int("LEDGER_SYNC_MINUTES", default=10)
# A ledger walk that meets a passing fault (reset, 429, 5xx, after the GET retries above) pauses and
# reads the same page again, within the run, up to this many failed calls per run (0: stop at the
# first); the pause starts at LEDGER_SYNC_RESUME_SECONDS and doubles while faults follow (at most 15 s).
# The scheduled run also stops in time for its task's timeout; the next run resumes at its page.
LEDGER_SYNC_FAULT_BUDGET = env.int("LEDGER_SYNC_FAULT_BUDGET", default=20)
LEDGER_SYNC_RESUME_SECONDS = env.float("LEDGER_SYNC_RESUME_SECONDS", default=1.0)

# A late order's customer (topups/services/claims.py, notices.py; docs/notices.md). The receipt's
# link works until this many days after the order is final; the public page lets one token and one
# address try the number's last digits this often ("count/period", django-ratelimit's rates), and
# one address open that many pages. CLAIM_BASE_URL is the address printed in the QR code (the shop's
# public one, e.g. https://shop.example); empty: the address the receipt was opened at.
CLAIM_LINK_DAYS = env.int("CLAIM_LINK_DAYS", default=7)
CLAIM_BASE_URL = env("CLAIM_BASE_URL", default="")
CLAIM_TRY_RATE = env("CLAIM_TRY_RATE", default="5/15m")
CLAIM_PAGE_RATE = env("CLAIM_PAGE_RATE", default="60/m")
# Orders in processing longer than this join the waiting list (queued and uncertain ones at once).
WAITING_AFTER_MINUTES = env.int("WAITING_AFTER_MINUTES", default=10)
# Notices: the channels the shop uses ("sms", "email"; none by default). SMS goes through a local
# gateway's HTTP API: NOTICE_SMS_URL, where {to} and {text} are replaced (URL-encoded), called with
# NOTICE_SMS_METHOD (POST also sends to= and text= as a form); any 2xx is a message handed over.
# NOTICE_SMS_TEMPLATE, if set, replaces our translated message ({shop}, {ref}, {url}).
NOTICE_CHANNELS = env.list("NOTICE_CHANNELS", default=[])
NOTICE_SMS_URL = env("NOTICE_SMS_URL", default="")
NOTICE_SMS_METHOD = env("NOTICE_SMS_METHOD", default="POST").upper()
NOTICE_SMS_TEMPLATE = env("NOTICE_SMS_TEMPLATE", default="")
NOTICE_SMS_TIMEOUT = env.float("NOTICE_SMS_TIMEOUT", default=10.0)
NOTICE_EMAIL_FROM = env("NOTICE_EMAIL_FROM", default="")
# A failed notice is tried again after NOTICE_RETRY_SECONDS, doubling, up to NOTICE_MAX_ATTEMPTS tries.
NOTICE_MAX_ATTEMPTS = env.int("NOTICE_MAX_ATTEMPTS", default=5)
NOTICE_RETRY_SECONDS = env.int("NOTICE_RETRY_SECONDS", default=60)
# The mail server for e-mail notices (django-environ's form: smtp://user:password@host:587, with
# +tls, or consolemail:// to print them).
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = NOTICE_EMAIL_FROM or "webmaster@localhost"
