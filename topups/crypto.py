"""Card codes at rest: encrypted with Fernet (cryptography's MultiFernet, for key rotation) and
findable by an exact search through a keyed digest, never decrypted for a search.

Keys come from the environment (settings.CARD_CODE_KEYS, CARD_CODE_SEARCH_KEY; see .env.example).
The first key encrypts, every listed key decrypts: to rotate, put a new key first, deploy, run
``manage.py rotate_card_code_keys`` and then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Every stored token starts so (Fernet's version byte 0x80, base64): tells encrypted rows from
# clear ones written before encryption, which the migration then encrypts.
TOKEN_PREFIX = "gAAAAA"


def _development_key(purpose: str) -> bytes:
    """A key derived from SECRET_KEY, for DEBUG only (settings require real keys otherwise)."""
    digest = hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("CARD_CODE_KEYS holds a value that is not a Fernet key.") from exc


def _keys() -> tuple[str, ...]:
    return tuple(settings.CARD_CODE_KEYS) or (_development_key("card-code").decode(),)


def fernet() -> MultiFernet:
    return _fernet(_keys())


def encrypt_code(code: str) -> str:
    """The token stored for ``code``; an empty code stays empty (nothing to hide, and filters on
    "has a code" keep working)."""
    return fernet().encrypt(code.encode()).decode() if code else ""


def decrypt_code(stored: str) -> str:
    """The code of a stored token. A value that is not a token is a row written before
    encryption (the migration encrypts them all): returned as it is."""
    if not stored or not stored.startswith(TOKEN_PREFIX):
        return stored or ""
    try:
        return fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A card code cannot be decrypted with CARD_CODE_KEYS: a key is missing.") from exc


def is_current(stored: str) -> bool:
    """Whether ``stored`` is empty or encrypted with the first (current) key."""
    if not stored:
        return True
    if not stored.startswith(TOKEN_PREFIX):
        return False
    try:
        Fernet(_keys()[0]).decrypt(stored.encode())
    except InvalidToken:
        return False
    return True


def card_code_digest(code: str) -> str:
    """The keyed digest (HMAC-SHA256) of a card code, stored in ``Order.card_code_digest``: an
    exact search filters on ``card_code_digest=card_code_digest(term)``. Empty for no code."""
    code = (code or "").strip()
    if not code:
        return ""
    key = settings.CARD_CODE_SEARCH_KEY.encode() or _development_key("card-code-search")
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()
