"""The OneClickDZ v3 API client (account, internet and mobile top-ups, gift cards), with no Django in it.

One ``OneClickClient`` holds one ``requests.Session``. Every call has an explicit
``(connect, read)`` timeout. Retries are declared once, on the session's adapter, through
``urllib3.util.Retry``:

- GETs change nothing on the API, so they are retried with exponential backoff on connection
  failures, read failures, 429 and 5xx (honouring ``Retry-After``, capped).
- POSTs (``/internet/send``, ``/mobile/send``, ``/gift-cards/placeOrder``) debit the account. They
  are never repeated by the client once they may have left the machine; only a failure to
  *connect* (nothing was sent) is retried.

What a failure means for the caller is in the exception class (see ``errors.py``):

===============================================  ==================  ====================
fault                                            GET                 POST (send)
===============================================  ==================  ====================
bad input                                        InvalidRequest      InvalidRequest
no API key                                       ConfigurationError  ConfigurationError
key refused earlier (key guard)                  KeyRefused          KeyRefused
connection refused, DNS, connect timeout         TransportError      TransportError
certificate refused (during the handshake)       TransportError      TransportError
other TLS error (e.g. answer fails to decrypt)   TransportError      OutcomeUnknown
read timeout, connection dropped mid-response    TransportError      OutcomeUnknown
429                                              RateLimited         RateLimited
5xx                                              ServerError         OutcomeUnknown
body not JSON / not an envelope / missing field  BadResponse         OutcomeUnknown
documented error envelope                        its ApiError        its ApiError
===============================================  ==================  ====================

(GET rows are what is left after the retries.) ``OutcomeUnknown`` means "the order may exist":
look it up with ``check_ref`` rather than sending it again (a gift-card order has no lookup by
ref: it is found in ``list_gift_orders``).

**Key guard** (``keyguard.py``). Every authenticated call asks the client's ``KeyGuard`` first:
a key the API refused once is refused again without network (``KeyRefused``), and a key not yet
known to work is tried by one call at a time, so a wrong key costs one failed call however many
workers send at once.

The key itself never appears in logs, exception messages or reprs; only its fingerprint does.
"""

from __future__ import annotations

import logging
import math
import re
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar, runtime_checkable
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
from urllib3.util.retry import Retry

from .errors import (
    ApiError,
    AuthError,
    BadResponse,
    ConfigurationError,
    InvalidRequest,
    OneClickError,
    OutcomeUnknown,
    TransportError,
)
from .keyguard import (
    DEFAULT_KEY_GUARD,
    KeyGuard,
    await_probe,
    check_key,
    end_probe,
    key_fingerprint,
    record_refusal,
    record_works,
)
from .parsing import (
    Envelope,
    api_error,
    parse_account,
    parse_balance,
    parse_gift_catalog,
    parse_gift_order,
    parse_gift_order_placed,
    parse_gift_product,
    parse_health,
    parse_number_check,
    parse_page,
    parse_plans,
    parse_products,
    parse_send_result,
    parse_topup,
    parse_transaction,
    read_envelope,
)
from .types import (
    AccountInfo,
    Balance,
    GiftCatalog,
    GiftOrder,
    GiftOrderPlaced,
    GiftProductDetails,
    Health,
    LineType,
    MobilePlanInfo,
    NumberCheck,
    Page,
    ProductList,
    SendResult,
    Topup,
    Transaction,
)

logger = logging.getLogger("topups.oneclick")

T = TypeVar("T")

MSSIDN_PATTERN = re.compile(r"^0[567][0-9]{8}$")
NUMBER_PATTERNS: dict[LineType, re.Pattern[str]] = {
    LineType.ADSL: re.compile(r"^0[0-9]{8}$"),
    LineType.LTE: re.compile(r"^213[0-9]{9}$"),
}
MAX_PAGE_SIZE = 100
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


# Reachability ---------------------------------------------------------------------------------


@runtime_checkable
class Reachability(Protocol):
    """Told whether the API answers at all, so a dashboard can say it cannot be reached (and since
    when) rather than leave every figure "not known yet"."""

    def reached(self, base_url: str) -> None:
        """The API answered (whatever the answer)."""
        ...

    def unreachable(self, base_url: str, cause: str) -> None:
        """No answer came: ``cause`` is the transport failure ("could not connect", "read timeout"...)."""
        ...


# Retries --------------------------------------------------------------------------------------


class _Retry(Retry):
    """``Retry`` with the server's ``Retry-After`` capped, so a GET never sleeps for minutes."""

    MAX_RETRY_AFTER = 10.0

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.MAX_RETRY_AFTER)


def build_retry(get_retries: int, backoff_factor: float) -> Retry:
    """GETs: retried on connect/read failures, 429 and 5xx. POSTs: only on connect failures
    (``urllib3`` counts those whatever the method, and they are safe: nothing was sent)."""
    return _Retry(
        total=get_retries,
        connect=get_retries,
        read=get_retries,
        status=get_retries,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=10.0,
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last 429/5xx back so its envelope gives the error
        raise_on_redirect=False,
    )


# Input checks (all before any network call) ---------------------------------------------------


def _line_type(line_type: LineType | str | None) -> LineType:
    if isinstance(line_type, LineType):
        return line_type
    if isinstance(line_type, str):
        try:
            return LineType(line_type)
        except ValueError:
            pass
    raise InvalidRequest(f"Unknown line type {line_type!r}: use ADSL or 4G", details={"type": line_type})


def _number(line_type: LineType, number: str | None) -> str:
    if not isinstance(number, str) or not number.strip():
        raise InvalidRequest("A line number is required", details={"number": number})
    number = number.strip()
    pattern = NUMBER_PATTERNS[line_type]
    if not pattern.match(number):
        raise InvalidRequest(
            f"{number!r} is not a valid {line_type.value} number (expected {pattern.pattern})",
            details={"number": number, "type": line_type.value, "pattern": pattern.pattern},
        )
    return number


def _value(value: Any) -> int | float:
    """The card value as a JSON number: an int when integral (``1000``, never ``1000.0``)."""
    if value is None or isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise InvalidRequest(
            f"Invalid value {value!r}: a positive amount is required", details={"value": value}
        )
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidRequest(
            f"Invalid value {value!r}: not a number", details={"value": str(value)}
        ) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidRequest(
            f"Invalid value {value!r}: a positive amount is required", details={"value": str(value)}
        )
    if amount == amount.to_integral_value():
        return int(amount)
    # Card values are whole dinars in every documented example; a fractional one is sent as is.
    return float(amount)


def _identifier(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"A {what} is required", details={what: value})
    return value.strip()


def _iso_utc(value: Any, name: str) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequest(f"{name} must be an aware datetime", details={name: str(value)})
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _page_params(page: Any, page_size: Any, from_: datetime | None, to: datetime | None) -> dict[str, Any]:
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise InvalidRequest(f"page must be an integer >= 1, not {page!r}", details={"page": page})
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidRequest(
            f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, not {page_size!r}",
            details={"pageSize": page_size},
        )
    params: dict[str, Any] = {"page": page, "pageSize": page_size}
    if (from_ is None) != (to is None):
        raise InvalidRequest("from_ and to go together: give both or neither")
    if from_ is not None and to is not None:
        params["from"] = _iso_utc(from_, "from_")
        params["to"] = _iso_utc(to, "to")
        if from_ > to:
            raise InvalidRequest("from_ is after to", details={"from": params["from"], "to": params["to"]})
    return params


# Transport failures ---------------------------------------------------------------------------


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly did not leave: connect failure, DNS, connect timeout, or a
    certificate the client refused (verification is part of the handshake, before any byte of
    the request is written).

    Any other TLS error proves nothing: urllib3 raises the same ``SSLError`` when the *answer*
    fails to decrypt, after the request went out and the API may have acted on it.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return _certificate_refused(exc)
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        cause = exc.args[0]
        if isinstance(cause, MaxRetryError):
            cause = cause.reason
        # urllib3's NewConnectionError (refused, unreachable, DNS) is a ConnectTimeoutError.
        return isinstance(cause, ConnectTimeoutError)
    return False


def _certificate_refused(exc: BaseException) -> bool:
    """True when the cause chain of a TLS error holds a failed certificate verification."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        pending.extend([current.__cause__, current.__context__, *current.args,
                        getattr(current, "reason", None)])
    return False


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if _never_sent(exc):
        return "could not connect"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "response cut short"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection dropped"
    return type(exc).__name__


# The client -----------------------------------------------------------------------------------


class OneClickClient:
    """OneClickDZ Flexy API v3: account, internet (ADSL / 4G) and mobile top-ups, gift cards. One
    method per endpoint.

    ``base_url`` is the v3 root, e.g. ``https://api.oneclickdz.com/v3``. ``api_key`` may be empty
    (then only ``ping`` works; other calls raise ``ConfigurationError``). ``get_retries`` and
    ``backoff_factor`` apply to GETs; a POST is sent at most once.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        get_retries: int = 3,
        backoff_factor: float = 0.5,
        key_guard: KeyGuard | None = None,
        session: requests.Session | None = None,
        reachability: Reachability | None = None,
    ) -> None:
        self.base_url = (base_url or "").strip().rstrip("/")
        self._api_key = (api_key or "").strip()
        self.fingerprint = key_fingerprint(self._api_key) if self._api_key else ""
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.key_guard: KeyGuard = key_guard if key_guard is not None else DEFAULT_KEY_GUARD
        self.reachability = reachability
        self.retry = build_retry(get_retries, backoff_factor)
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()
        if self.base_url.startswith(("http://", "https://")):
            # Mounted on our base URL only: a caller's session keeps its adapters for other hosts.
            self.session.mount(self.base_url + "/", HTTPAdapter(max_retries=self.retry))
        self._plain_headers = {"Accept": "application/json"}
        # Sent per request, not set on the session, so a shared session never carries the key elsewhere.
        self._key_headers = {**self._plain_headers, "X-Access-Token": self._api_key}
        self._single_try: OneClickClient | None = None

    def __repr__(self) -> str:
        return f"OneClickClient(base_url={self.base_url!r}, key={self.fingerprint or None!r})"

    def single_try(self) -> OneClickClient:
        """A client for the same API, key and guard whose GETs are not retried: one call costs at
        most one connect plus one read timeout, for callers that must fit a time budget."""
        if self._single_try is None:
            self._single_try = OneClickClient(
                self.base_url, self._api_key, connect_timeout=self.timeout[0], read_timeout=self.timeout[1],
                get_retries=0, key_guard=self.key_guard, reachability=self.reachability,
            )
        return self._single_try

    def worst_case_seconds(self, *, retried: bool = True) -> float:
        """The longest one call can take: every try waits its connect and read timeouts, plus the
        backoff between tries."""
        tries = (self.retry.total + 1) if retried else 1
        backoff = sum(min(self.retry.backoff_factor * 2**n, self.retry.backoff_max) for n in range(tries - 1))
        return tries * sum(self.timeout) + backoff

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> OneClickClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Endpoints: core and account --------------------------------------------------------------

    def ping(self) -> Health:
        """``GET /ping``: API and operator health. Sent without the key (it needs none)."""
        return self._call("GET", "/ping", lambda env: parse_health(env.data), auth=False)

    def validate(self) -> AccountInfo:
        """``GET /validate``: the account and the key's type, scope and IP whitelist."""
        return self._call("GET", "/validate", lambda env: parse_account(env.data))

    def balance(self) -> Balance:
        """``GET /account/balance``."""
        return self._call("GET", "/account/balance", lambda env: parse_balance(env.data, env.meta))

    def transactions(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> Page[Transaction]:
        """``GET /account/transactions``: one page of the balance ledger."""
        return self._list_page("/account/transactions", parse_transaction, page, page_size, from_, to)

    def iter_transactions(
        self, *, page_size: int = MAX_PAGE_SIZE, from_: datetime | None = None, to: datetime | None = None
    ) -> Iterator[Transaction]:
        """Every ledger row, page after page."""
        return self._walk(self.transactions, page_size=page_size, from_=from_, to=to)

    # Endpoints: internet top-ups --------------------------------------------------------------

    def internet_products(self, line_type: LineType | str) -> ProductList:
        """``GET /internet/products?type=``: card values, costs and stock for ADSL or 4G."""
        kind = _line_type(line_type)
        return self._call(
            "GET",
            "/internet/products",
            lambda env: parse_products(env.data, env.meta, requested=kind),
            params={"type": kind.value},
        )

    def check_number(self, line_type: LineType | str, number: str) -> NumberCheck:
        """``GET /internet/check-number``: does this line exist and belong to this service?"""
        kind = _line_type(line_type)
        number = _number(kind, number)
        return self._call(
            "GET",
            "/internet/check-number",
            lambda env: parse_number_check(env.data, requested=kind),
            params={"type": kind.value, "number": number},
        )

    def send_topup(
        self, *, line_type: LineType | str, number: str, value: Any, ref: str | None = None
    ) -> SendResult:
        """``POST /internet/send``: order a card. Sent at most once.

        Raises ``OutcomeUnknown`` when the order may or may not exist (timeout, dropped
        connection, 5xx, unreadable answer): look it up with ``check_ref(ref)``, never resend.
        Always pass your own ``ref`` so that lookup is possible.
        """
        kind = _line_type(line_type)
        body: dict[str, Any] = {"type": kind.value, "number": _number(kind, number), "value": _value(value)}
        if ref is not None:
            body["ref"] = _identifier(ref, "ref")
        return self._call("POST", "/internet/send", lambda env: parse_send_result(env.data), body=body)

    def check_id(self, topup_id: str) -> Topup:
        """``GET /internet/check-id/{id}``: a top-up by the id ``send_topup`` returned."""
        return self._topup_by("/internet/check-id", _identifier(topup_id, "id"))

    def check_ref(self, ref: str) -> Topup:
        """``GET /internet/check-ref/{ref}``: a top-up by our reference (URL-quoted in the path)."""
        return self._topup_by("/internet/check-ref", _identifier(ref, "ref"))

    def list_topups(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> Page[Topup]:
        """``GET /internet/list``: one page of internet orders (either documented shape)."""
        return self._topup_page("/internet/list", page, page_size, from_, to)

    def iter_topups(
        self, *, page_size: int = MAX_PAGE_SIZE, from_: datetime | None = None, to: datetime | None = None
    ) -> Iterator[Topup]:
        """Every internet order, page after page."""
        return self._walk(self.list_topups, page_size=page_size, from_=from_, to=to)

    # Endpoints: mobile top-ups ("flexy") ------------------------------------------------------

    def mobile_plans(self) -> tuple[MobilePlanInfo, ...]:
        """``GET /mobile/plans``: the dynamic and fixed plans, enabled or not."""
        return self._call("GET", "/mobile/plans", lambda env: parse_plans(env.data))

    def send_mobile(self, *, plan_code: str, number: str, amount: Any = None, ref: str | None = None) -> SendResult:
        """``POST /mobile/send``: top up ``number`` (``MSSIDN``, a string) on ``plan_code``;
        ``amount`` for a dynamic plan only (None: left out). Sent at most once, like
        ``send_topup``: ``OutcomeUnknown`` means look it up with ``mobile_check_ref``."""
        if not isinstance(number, str) or not MSSIDN_PATTERN.match(number.strip()):
            raise InvalidRequest(f"{number!r} is not a mobile number (expected {MSSIDN_PATTERN.pattern})",
                                 details={"MSSIDN": number, "pattern": MSSIDN_PATTERN.pattern})
        body: dict[str, Any] = {"plan_code": _identifier(plan_code, "plan_code"), "MSSIDN": number.strip()}
        if amount is not None:
            value = _value(amount)
            if not isinstance(value, int):
                raise InvalidRequest(f"Invalid amount {amount!r}: a whole number of dinars is required",
                                     details={"amount": str(amount)})
            body["amount"] = value
        if ref is not None:
            body["ref"] = _identifier(ref, "ref")
        return self._call("POST", "/mobile/send", lambda env: parse_send_result(env.data), body=body)

    def mobile_check_id(self, topup_id: str) -> Topup:
        """``GET /mobile/check-id/{id}``."""
        return self._topup_by("/mobile/check-id", _identifier(topup_id, "id"))

    def mobile_check_ref(self, ref: str) -> Topup:
        """``GET /mobile/check-ref/{ref}``."""
        return self._topup_by("/mobile/check-ref", _identifier(ref, "ref"))

    def list_mobile(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> Page[Topup]:
        """``GET /mobile/list``: one page of mobile top-ups."""
        return self._topup_page("/mobile/list", page, page_size, from_, to)

    # Endpoints: gift cards ----------------------------------------------------------------------

    def gift_catalog(self) -> GiftCatalog:
        """``GET /gift-cards/catalog``: categories and their products (cache it for a day or more)."""
        return self._call("GET", "/gift-cards/catalog", lambda env: parse_gift_catalog(env.data, env.meta))

    def gift_check_product(self, product_id: str) -> GiftProductDetails:
        """``GET /gift-cards/checkProduct/{productId}``: the product's types, price and stock."""
        key = quote(_identifier(product_id, "productId"), safe="")
        return self._call("GET", f"/gift-cards/checkProduct/{key}", lambda env: parse_gift_product(env.data))

    def place_gift_order(self, product_id: str, type_id: str, quantity: int, ref: str | None = None
                         ) -> GiftOrderPlaced:
        """``POST /gift-cards/placeOrder``: order ``quantity`` cards of a product's type. Sent at most
        once, like ``send_topup``; ``price × quantity`` is debited when the API accepts it.

        ``ref`` is sent only when given: the English and French reference have no ref at all (the
        Arabic guide sends one and gets ``orderRef`` back), and there is no check-by-ref. So
        ``OutcomeUnknown`` here cannot be settled by a lookup: the order, if it exists, must be
        found in ``list_gift_orders`` (see ``topups.lines.giftcards.matching``). Never resend."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidRequest(f"Invalid quantity {quantity!r}: a whole number of cards >= 1 is required",
                                 details={"quantity": quantity})
        body: dict[str, Any] = {"productId": _identifier(product_id, "productId"),
                                "typeId": _identifier(type_id, "typeId"), "quantity": quantity}
        if ref is not None:
            body["ref"] = _identifier(ref, "ref")
        return self._call("POST", "/gift-cards/placeOrder", lambda env: parse_gift_order_placed(env.data),
                          body=body)

    def gift_check_order(self, order_id: str) -> GiftOrder:
        """``GET /gift-cards/checkOrder/{orderId}``: status, and the cards once delivered."""
        key = quote(_identifier(order_id, "orderId"), safe="")
        return self._call("GET", f"/gift-cards/checkOrder/{key}", lambda env: parse_gift_order(env.data))

    def list_gift_orders(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> Page[GiftOrder]:
        """``GET /gift-cards/list``: one page of gift-card orders."""
        return self._list_page("/gift-cards/list", parse_gift_order, page, page_size, from_, to)

    def iter_gift_orders(
        self, *, page_size: int = MAX_PAGE_SIZE, from_: datetime | None = None, to: datetime | None = None
    ) -> Iterator[GiftOrder]:
        """Every gift-card order of the window, page after page."""
        return self._walk(self.list_gift_orders, page_size=page_size, from_=from_, to=to)

    # Machinery --------------------------------------------------------------------------------

    def _topup_by(self, path: str, key: str) -> Topup:
        """One top-up (internet or mobile) by an id or a ref, URL-quoted in the path."""
        return self._call("GET", f"{path}/{quote(key, safe='')}", _parse_topup_envelope)

    def _topup_page(self, path: str, page: int, page_size: int, from_: datetime | None,
                    to: datetime | None) -> Page[Topup]:
        """One page of a top-up list (either documented shape)."""
        return self._list_page(path, parse_topup, page, page_size, from_, to)

    def _list_page(self, path: str, parse_item: Callable[[Any], T], page: int, page_size: int,
                   from_: datetime | None, to: datetime | None) -> Page[T]:
        """One page of any list endpoint (every documented shape, see ``parse_page``)."""
        params = _page_params(page, page_size, from_, to)
        return self._call(
            "GET",
            path,
            lambda env: parse_page(env.data, env.meta, parse_item, page=page, page_size=page_size),
            params=params,
        )

    def _walk(self, fetch: Callable[..., Page[T]], **filters: Any) -> Iterator[T]:
        # Checked here, eagerly: bad filters fail at the call, not at the first next().
        _page_params(1, filters["page_size"], filters["from_"], filters["to"])
        return self._pages(fetch, filters)

    @staticmethod
    def _pages(fetch: Callable[..., Page[T]], filters: dict[str, Any]) -> Iterator[T]:
        page = 1
        while True:
            result = fetch(page=page, **filters)
            yield from result.items
            if not result.items or not result.has_next:
                return
            page += 1

    def _headers(self, auth: bool) -> dict[str, str]:
        if not auth:
            return self._plain_headers
        if not self._api_key:
            raise ConfigurationError("No OneClickDZ API key is configured")
        check_key(self.key_guard, self.fingerprint)
        return self._key_headers

    def _url(self, path: str) -> str:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"Invalid OneClickDZ base URL {self.base_url!r}")
        return self.base_url + path

    def _call(
        self,
        method: str,
        path: str,
        parse: Callable[[Envelope], T],
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> T:
        url = self._url(path)
        headers = self._headers(auth)
        probing = auth and await_probe(self.key_guard, self.fingerprint, wait=sum(self.timeout))
        try:
            result = self._send(method, path, url, parse, params=params, body=body, headers=headers, auth=auth)
        except ApiError as exc:
            # Any answer of the API but an authentication failure means it accepted the key.
            if probing and not isinstance(exc, AuthError):
                record_works(self.key_guard, self.fingerprint)
            raise
        else:
            if probing:
                record_works(self.key_guard, self.fingerprint)
            return result
        finally:
            if probing:
                end_probe(self.key_guard, self.fingerprint)

    def _tell_reachability(self, reached: bool, cause: str = "") -> None:
        if self.reachability is None:
            return
        try:
            if reached:
                self.reachability.reached(self.base_url)
            else:
                self.reachability.unreachable(self.base_url, cause)
        except Exception:  # the API's answer (or its absence) matters more than the record of it
            logger.exception("Could not record whether %s answered", self.base_url)

    def _send(self, method: str, path: str, url: str, parse: Callable[[Envelope], T], *,
              params: dict[str, Any] | None, body: dict[str, Any] | None, headers: dict[str, str], auth: bool) -> T:
        started = time.perf_counter()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,  # a redirect would carry the key to another host
            )
        except requests.RequestException as exc:
            error = self._transport_error(method, path, exc)
            self._log(method, path, type(error).__name__, started)
            if not isinstance(error, ConfigurationError):
                self._tell_reachability(False, error.details.get("cause", type(error).__name__))
            raise error from exc
        self._log(method, path, response.status_code, started)
        self._tell_reachability(True)
        try:
            return self._result(method, path, response, parse)
        except AuthError as exc:
            if auth:
                record_refusal(self.key_guard, self.fingerprint, f"{exc.code} (HTTP {exc.http_status}): {exc.message}")
            raise

    def _transport_error(self, method: str, path: str, exc: requests.RequestException) -> OneClickError:
        if isinstance(
            exc,
            requests.exceptions.InvalidURL
            | requests.exceptions.MissingSchema
            | requests.exceptions.InvalidSchema,
        ):
            return ConfigurationError(f"Invalid OneClickDZ URL for {path}: {type(exc).__name__}")
        what = _describe(exc)
        if method != "GET" and not _never_sent(exc):
            return OutcomeUnknown(
                f"{method} {path}: {what}; the request may have been processed",
                details={"cause": what},
            )
        return TransportError(f"{method} {path}: {what}", details={"cause": what})

    def _result(
        self, method: str, path: str, response: requests.Response, parse: Callable[[Envelope], T]
    ) -> T:
        status = response.status_code
        envelope = read_envelope(response.content)
        if method != "GET" and status != 429 and (status >= 500 or envelope is None):
            # The API may have acted on the POST before failing: we cannot tell.
            cause = api_error(envelope, status) if status >= 400 else None
            what = f"HTTP {status}" + ("" if envelope else ", answer is not an API envelope")
            raise OutcomeUnknown(
                f"{method} {path}: {what}; the request may have been processed",
                details={"cause": what, "api_code": cause.code if cause else None},
                http_status=status,
                request_id=envelope.request_id if envelope else None,
            ) from cause
        if envelope is None:
            if 200 <= status < 300:
                raise BadResponse(f"{method} {path}: answer is not an API envelope", http_status=status,
                                  details={"raw": response.text[:2000]})
            raise api_error(None, status)
        if not envelope.success or status >= 300:
            raise api_error(envelope, status)
        try:
            return parse(envelope)
        except BadResponse as exc:
            # What the API sent stays with the error: a person may have to read it.
            exc.http_status, exc.request_id = status, envelope.request_id
            exc.details = {**exc.details, "raw": envelope.data}
            if method != "GET":
                raise OutcomeUnknown(
                    f"{method} {path}: unreadable success answer ({exc.message}); the request may have been processed",
                    details={"cause": exc.message},
                    http_status=status,
                    request_id=envelope.request_id,
                ) from exc
            raise

    @staticmethod
    def _log(method: str, path: str, outcome: int | str, started: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %s in %.1f ms", method, path, outcome, (time.perf_counter() - started) * 1000
            )


def _parse_topup_envelope(envelope: Envelope) -> Topup:
    return parse_topup(envelope.data)


__all__ = [
    "OneClickClient",
    "Reachability",
    "build_retry",
]
