"""The services an order can be sold through, as data: for each, how it is sent, looked up and
listed at the API. ``sending``, ``sync`` and ``orders`` take an order's channel and call these;
everything else (the claim, the ref stored before the call, no re-POST after an ambiguous failure,
DUPLICATED_REF adoption, the list walks, the key guard, the audit) is the one shared path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from topups.models import Order, Service
from topups.oneclick import OneClickClient, Page, SendResult, Topup


@dataclass(frozen=True)
class Channel:
    service: str
    # POST the order (its stored ref included); raises the client's typed errors.
    send: Callable[[OneClickClient, Order], SendResult]
    check_id: Callable[[OneClickClient, str], Topup]
    check_ref: Callable[[OneClickClient, str], Topup]
    list_page: Callable[..., Page[Topup]]  # (client, page=, page_size=, from_=, to=)
    # Whether the API's number check (and the cached stock) is asked before a first send.
    checks_line: bool


def _send_internet(client: OneClickClient, order: Order) -> SendResult:
    return client.send_topup(line_type=order.line_type, number=order.number, value=order.value, ref=order.ref)


def _send_mobile(client: OneClickClient, order: Order) -> SendResult:
    # The API ignores the amount of a fixed plan, so it travels whenever there is one (a GETMENU
    # request has none: the number only).
    amount = order.value if order.value else None
    return client.send_mobile(plan_code=order.plan_code, number=order.number, amount=amount, ref=order.ref)


def _list_internet(client: OneClickClient, *, page: int, page_size: int, from_: datetime, to: datetime):
    return client.list_topups(page=page, page_size=page_size, from_=from_, to=to)


def _list_mobile(client: OneClickClient, *, page: int, page_size: int, from_: datetime, to: datetime):
    return client.list_mobile(page=page, page_size=page_size, from_=from_, to=to)


CHANNELS: dict[str, Channel] = {
    Service.INTERNET: Channel(Service.INTERNET, _send_internet, OneClickClient.check_id, OneClickClient.check_ref,
                              _list_internet, checks_line=True),
    Service.MOBILE: Channel(Service.MOBILE, _send_mobile, OneClickClient.mobile_check_id,
                            OneClickClient.mobile_check_ref, _list_mobile, checks_line=False),
}


def channel_of(order: Order) -> Channel:
    return CHANNELS[order.service or Service.INTERNET]
