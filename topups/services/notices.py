"""Notices: when a late order settles, its customer is told through the shop's chosen channels
(NOTICE_CHANNELS: "sms" through the shop's SMS gateway, "email" through Django's mail backend).

The status door (``lifecycle``) calls ``on_settled`` once its transaction commits, for the orders
it moved into a final status: each one whose claim link has a contact gets one ``Notice`` row per
channel (unique per order and channel, so a settled order is told once, whatever calls the door
twice) and a django-q2 task that sends it. A failed send is tried again by a one-off schedule,
waiting NOTICE_RETRY_SECONDS and doubling, up to NOTICE_MAX_ATTEMPTS tries. Every notice sent,
and every one given up, is a line in the order's history. An order final at the counter has no
contact (the counter asks for one only while an order is not final) and is never told."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from topups.models import FINAL_STATUSES, ClaimLink, Notice, NoticeChannel, NoticeStatus, Order
from topups.notes import Note
from topups.services import claims
from topups.services.actors import Actor
from topups.sms import HttpSmsGateway, SmsError, SmsGateway

log = logging.getLogger("topups.notices")
NOTICES = Actor.task("notice")
SEND_TASK = "topups.tasks.send_notice"


def sms_gateway() -> SmsGateway:
    """The shop's SMS gateway, from the settings (NOTICE_SMS_URL, NOTICE_SMS_METHOD)."""
    return HttpSmsGateway(settings.NOTICE_SMS_URL, method=settings.NOTICE_SMS_METHOD,
                          timeout=settings.NOTICE_SMS_TIMEOUT)


def channels() -> list[str]:
    """The channels the shop uses, those it has set up only (SMS needs a gateway URL)."""
    chosen = [c for c in settings.NOTICE_CHANNELS if c in NoticeChannel.values]
    return [c for c in chosen if c != NoticeChannel.SMS or settings.NOTICE_SMS_URL]


def on_settled(order_ids: list[int]) -> list[int]:
    """Queue the notices of orders that have just become final: one per channel with a recipient,
    never a second for the same order and channel. Returns the notices queued."""
    wanted = channels()
    if not wanted or not order_ids:
        return []
    queued = []
    links = ClaimLink.objects.filter(order_id__in=order_ids, revoked_at__isnull=True).exclude(phone="", email="")
    for link in links:
        for channel in wanted:
            recipient = link.phone if channel == NoticeChannel.SMS else link.email
            if not recipient:
                continue
            notice, created = Notice.objects.get_or_create(order_id=link.order_id, channel=channel,
                                                           defaults={"recipient": recipient})
            if created:
                queued.append(notice.pk)
    for notice_id in queued:
        _enqueue(notice_id)
    return queued


def resend(order: Order, *, actor: Actor) -> int:
    """Staff send the order's notices again (the waiting list's button): each channel's row is sent
    once more, and a channel without one (a contact added since) gets one. Only for a final order."""
    if order.status not in FINAL_STATUSES:
        return 0
    on_settled([order.pk])
    ids = list(Notice.objects.filter(order=order).values_list("pk", flat=True))
    Notice.objects.filter(pk__in=ids).update(status=NoticeStatus.PENDING, attempts=0)
    for notice_id in ids:
        _enqueue(notice_id)
    log.info("order %s: notices sent again by %s", order.ref, actor.label)
    return len(ids)


def send_notice(notice_id: int) -> str:
    """Send one notice now (the django-q2 task). Claimed first (a conditional update), so two
    tasks for the same notice send it once. On failure, a retry is scheduled, or the notice is
    given up after NOTICE_MAX_ATTEMPTS tries. Returns what happened."""
    if not Notice.objects.filter(pk=notice_id, status__in=[NoticeStatus.PENDING, NoticeStatus.FAILED]).update(
            status=NoticeStatus.SENDING, attempts=F("attempts") + 1):
        return "skipped"
    notice = Notice.objects.select_related("order").get(pk=notice_id)
    order = notice.order
    link = ClaimLink.objects.filter(order=order, revoked_at__isnull=True).first()
    try:
        with translation.override(link.language if link else settings.LANGUAGE_CODE):
            text = message(order, link)
            if notice.channel == NoticeChannel.SMS:
                sms_gateway().send(to=notice.recipient, text=text)
            else:
                send_mail(_("Your order %(ref)s") % {"ref": order.ref}, text, settings.DEFAULT_FROM_EMAIL,
                          [notice.recipient])
    except (SmsError, OSError) as exc:
        return _failed(notice, str(exc))
    Notice.objects.filter(pk=notice_id).update(status=NoticeStatus.SENT, sends=F("sends") + 1,
                                               sent_at=timezone.now(), last_error="")
    claims.record_in_history(order, NOTICES, Note(gettext_noop("Customer told by %(channel)s"), channel=notice.channel))
    log.info("order %s: customer told by %s", order.ref, notice.channel)
    return "sent"


def message(order: Order, link: ClaimLink | None) -> str:
    """The notice's text in the active language, or the shop's own template (NOTICE_SMS_TEMPLATE)."""
    url = claims.claim_url(link) if link else ""
    if settings.NOTICE_SMS_TEMPLATE:
        return settings.NOTICE_SMS_TEMPLATE.format(shop=settings.SHOP_NAME, ref=order.ref, url=url)
    if order.is_handed_back:
        text = _("%(shop)s: your order %(ref)s could not be delivered. The shop hands you back what you paid.")
    else:
        text = _("%(shop)s: your order %(ref)s is ready.")
    text %= {"shop": settings.SHOP_NAME, "ref": order.ref}
    return f"{text} {url}".strip()


def _failed(notice: Notice, error: str) -> str:
    retry = notice.attempts < settings.NOTICE_MAX_ATTEMPTS
    Notice.objects.filter(pk=notice.pk).update(status=NoticeStatus.FAILED, last_error=error[:255])
    log.warning("order %s: %s notice failed (try %d): %s", notice.order.ref, notice.channel, notice.attempts, error)
    if retry:
        delay = settings.NOTICE_RETRY_SECONDS * 2 ** (notice.attempts - 1)
        _schedule_retry(notice.pk, timezone.now() + timedelta(seconds=delay))
        return "retry"
    claims.record_in_history(notice.order, NOTICES, Note(gettext_noop("Customer could not be told by %(channel)s"),
                                               channel=notice.channel))
    return "failed"


def _enqueue(notice_id: int) -> None:
    from django_q.tasks import async_task

    async_task(SEND_TASK, notice_id, task_name=f"notice {notice_id}")


def _schedule_retry(notice_id: int, when) -> None:
    from django_q.models import Schedule

    Schedule.objects.create(func=SEND_TASK, args=repr((notice_id,)), name=f"notice {notice_id} retry {when:%H%M%S%f}",
                            schedule_type=Schedule.ONCE, next_run=when)
