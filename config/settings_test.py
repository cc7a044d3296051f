"""Settings for the test suite: the production settings, with the HTTPS redirect off
(the test client speaks plain HTTP) and a fast password hasher."""

from .settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ONECLICKDZ_API_KEY = "test-key-0000"
