"""Exceptions raised by the OneClickDZ client.

Every error carries what support needs: the API's ``code``, ``message`` and ``details``, the HTTP
status and the ``requestId``. The classes tell a caller what it may do next:

- ``InvalidRequest``: refused locally, nothing was sent.
- ``TransportError``: the request never reached the API (connection refused, DNS, connect
  timeout); nothing happened there, so it is safe to try again.
- ``OutcomeUnknown``: the request may have reached the API and we do not know the result (read
  timeout, connection dropped mid-response, 5xx or garbage in answer to a POST). A caller must
  never repeat such a POST blindly: look the order up by its reference instead.
- ``ApiError`` and its subclasses: the API answered with a documented error envelope.
"""

from __future__ import annotations

from typing import Any


class OneClickError(Exception):
    """Base of every error raised by the client."""

    default_code = "ERROR"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message or self.code
        self.details = details or {}
        self.http_status = http_status
        self.request_id = request_id
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message}"]
        if self.http_status:
            parts.append(f"HTTP {self.http_status}")
        if self.request_id:
            parts.append(f"requestId {self.request_id}")
        return " · ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, http_status={self.http_status!r})"


class InvalidRequest(OneClickError, ValueError):
    """Bad input caught before any network call (empty number, unknown type, bad value)."""

    default_code = "INVALID_REQUEST"


class ConfigurationError(OneClickError):
    """The client cannot call the API as configured (no API key, no base URL)."""

    default_code = "NOT_CONFIGURED"


class TransportError(OneClickError):
    """The request did not reach the API: safe to try again later."""

    default_code = "TRANSPORT_ERROR"


class KeyBeingChecked(TransportError):
    """Raised locally, without a network call: another caller is trying a key not yet known to
    work, and its answer did not come in time. Nothing was sent; try again shortly."""

    default_code = "KEY_BEING_CHECKED"


class OutcomeUnknown(OneClickError):
    """The request may have been processed; its result is unknown. Never re-POST: look it up."""

    default_code = "OUTCOME_UNKNOWN"


class ApiError(OneClickError):
    """The API answered with an error envelope."""

    default_code = "API_ERROR"


# Authentication and access -------------------------------------------------------------------


class AuthError(ApiError):
    """The key was refused, missing, or the caller is blocked. Calling again burns attempts."""

    default_code = "AUTH_ERROR"


class MissingAccessToken(AuthError):
    default_code = "MISSING_ACCESS_TOKEN"


class InvalidAccessToken(AuthError):
    default_code = "INVALID_ACCESS_TOKEN"

    @property
    def attempts_left(self) -> int | None:
        value = self.details.get("attemptsLeft")
        return value if isinstance(value, int) else None


class IpBlocked(AuthError):
    default_code = "IP_BLOCKED"


class KeyRefused(AuthError):
    """Raised locally, without a network call, for a key the API already refused.

    The API blocks the caller's IP after 5 failed key attempts, so once a key is refused no call
    is made with it again until the key changes.
    """

    default_code = "KEY_REFUSED"


class Forbidden(ApiError):
    """Any other 403 (for example a READ-ONLY key on a write call)."""

    default_code = "FORBIDDEN"


# Order refusals (documented codes) ------------------------------------------------------------


class ValidationFailed(ApiError):
    default_code = "ERR_VALIDATION"


class PhoneError(ApiError):
    default_code = "ERR_PHONE"

    @property
    def reason(self) -> str:
        """The API's why (``details.reason``: "Number not found for this service", "Number does not
        match required format"), which the message ("Invalid phone number for ADSL service") lacks."""
        reason = self.details.get("reason")
        return reason.strip() if isinstance(reason, str) else ""

    @property
    def explanation(self) -> str:
        """The message and the reason, as staff should read them."""
        if not self.reason or self.reason.lower() in self.message.lower():
            return self.message
        return f"{self.message}: {self.reason}"


class OutOfStock(ApiError):
    default_code = "ERR_STOCK"


class InsufficientBalance(ApiError):
    default_code = "INSUFFICIENT_BALANCE"


class DuplicatedRef(ApiError):
    default_code = "DUPLICATED_REF"


class NotFound(ApiError):
    default_code = "NOT_FOUND"


# Service state --------------------------------------------------------------------------------


class RateLimited(ApiError):
    default_code = "RATE_LIMITED"


class ServerError(ApiError):
    """5xx answered to a GET (safe to retry later). On a POST the client raises OutcomeUnknown."""

    default_code = "INTERNAL_ERROR"


class ServiceUnavailable(ServerError):
    default_code = "SERVICE_UNAVAILABLE"


class BadResponse(ApiError):
    """A GET was answered with something the client cannot read: not JSON, not the documented
    envelope, or a payload missing a required field. Nothing changed on the API's side (GETs change
    nothing); to a POST the client raises ``OutcomeUnknown`` instead."""

    default_code = "BAD_RESPONSE"


# error.code -> class. Aliases the docs list for the same case map to the same class.
ERROR_CODES: dict[str, type[ApiError]] = {
    "MISSING_ACCESS_TOKEN": MissingAccessToken,
    "INVALID_ACCESS_TOKEN": InvalidAccessToken,
    "ERR_AUTH": InvalidAccessToken,
    "IP_BLOCKED": IpBlocked,
    "IP_NOT_ALLOWED": IpBlocked,  # the simulator's code for a non-whitelisted IP (undocumented)
    "ERR_VALIDATION": ValidationFailed,
    "ERR_PHONE": PhoneError,
    "INVALID_PHONE": PhoneError,
    "ERR_STOCK": OutOfStock,
    "INSUFFICIENT_BALANCE": InsufficientBalance,
    "NO_BALANCE": InsufficientBalance,
    "DUPLICATED_REF": DuplicatedRef,
    "NOT_FOUND": NotFound,
    "RATE_LIMITED": RateLimited,
    "INTERNAL_ERROR": ServerError,
    "SERVICE_UNAVAILABLE": ServiceUnavailable,
}

# Refusals of an order: the API did not accept it and nothing was debited.
ORDER_REFUSALS = (ValidationFailed, PhoneError, OutOfStock, InsufficientBalance, Forbidden)
