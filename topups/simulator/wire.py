"""What the simulator puts on the wire: envelopes, JSON numbers, ids and timestamps.

Kept apart from the HTTP layer so the service modules (account, internet, later mobile and gift
cards) build their answers the same way without knowing about sockets.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_ALNUM = string.ascii_lowercase + string.digits


class ApiFailure(Exception):
    """An error the API answers with its error envelope (HTTP status, code, message, details)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


@dataclass
class Reply:
    """A successful answer: ``data`` plus anything to merge into ``meta`` besides the timestamp."""

    data: Any
    meta: dict[str, Any] = field(default_factory=dict)


def new_id() -> str:
    """A 24-hex id, the shape of the API's MongoDB ObjectIds."""
    return secrets.token_hex(12)


def new_request_id(now: datetime) -> str:
    suffix = "".join(secrets.choice(_ALNUM) for _ in range(6))
    return f"req_{int(now.timestamp())}_{suffix}"


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as every timestamp of the API."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 date or datetime; a value without an offset is taken as UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _plain(value: Any) -> Any:
    # JSON has no Decimal: integral amounts go out as ints (490), others as the shortest float
    # that reads back the same (1326.13), which is what the API's examples show.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return iso(value)
    return value


def dumps(payload: Any) -> bytes:
    return json.dumps(_plain(payload), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(raw: bytes) -> Any:
    """Parse a request body; decimals stay exact so ``value: 1000.0`` compares equal to 1000."""
    return json.loads(raw.decode("utf-8"), parse_float=Decimal)


def success(reply: Reply, now: datetime, request_id: str) -> dict[str, Any]:
    return {
        "success": True,
        "data": reply.data,
        "meta": {"timestamp": iso(now), **reply.meta},
        "requestId": request_id,
    }


def failure(error: ApiFailure, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return {"success": False, "error": body, "requestId": request_id}
