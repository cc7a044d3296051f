"""Notices: a late order's customer is told once when it settles, through a fake SMS gateway over
real HTTP (a local server in the test) and Django's mail backend; a failed send is tried again;
an order final at the counter is never told."""

from __future__ import annotations

import ast
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django_q.models import Schedule

from tests.claims.conftest import S, fulfil, to_status
from tests.factories import place
from topups import tasks
from topups.models import ClaimLink, Notice, NoticeStatus, OrderEvent
from topups.services import claims, notices

pytestmark = pytest.mark.django_db


class Gateway:
    """A local SMS gateway's HTTP API: records every request; answers 500 to the first ``fail``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                query = parse_qs(urlsplit(self.path).query)
                gateway.requests.append({"path": urlsplit(self.path).path, "query": query, "form": parse_qs(body)})
                failing = gateway.fail > 0
                gateway.fail -= 1
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"error" if failing else b"OK")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send?phone={{to}}&message={{text}}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def gateway(settings):
    gw = Gateway()
    settings.NOTICE_CHANNELS = ["sms"]
    settings.NOTICE_SMS_URL = gw.url
    settings.NOTICE_RETRY_SECONDS = 60
    yield gw
    gw.server.shutdown()
    gw.server.server_close()


def told(order) -> list[str]:
    return [n for n in OrderEvent.objects.filter(order=order).values_list("note", flat=True) if "told" in n]


def test_a_late_order_is_told_once_when_it_settles(gateway, queued, staff, django_capture_on_commit_callbacks):
    claims.live_link(queued, language="fr", base_url="http://shop.lan/")
    claims.set_contact(queued, phone="0661 23 45 67", email="", actor=staff)
    token = ClaimLink.objects.get(order=queued).token
    with django_capture_on_commit_callbacks(execute=True):
        fulfil(queued)
    assert len(gateway.requests) == 1
    sent = gateway.requests[0]
    assert sent["query"]["phone"] == ["0661234567"] and sent["form"]["to"] == ["0661234567"]
    assert f"http://shop.lan/c/{token}/" in sent["query"]["message"][0] and queued.ref in sent["query"]["message"][0]
    assert "prêt" in sent["query"]["message"][0], "in the customer's language"
    notice = Notice.objects.get(order=queued)
    assert (notice.status, notice.sends, notice.attempts) == (NoticeStatus.SENT, 1, 1)
    assert told(queued) == ["Customer told by sms"]
    # Whatever asks again (the door called twice, the task run twice), the customer is told once.
    with django_capture_on_commit_callbacks(execute=True):
        notices.on_settled([queued.pk])
        tasks.send_notice(notice.pk)
        to_status(queued, S.TAKEN_BACK)  # a move after the outcome is not a second settling
    assert len(gateway.requests) == 1 and Notice.objects.count() == 1


def test_a_failed_send_is_tried_again_by_a_schedule(gateway, queued, staff, django_capture_on_commit_callbacks):
    gateway.fail = 2
    claims.set_contact(queued, phone="0661234567", email="", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        fulfil(queued)
    notice = Notice.objects.get(order=queued)
    assert notice.status == NoticeStatus.FAILED and "HTTP 500" in notice.last_error
    for expected in (NoticeStatus.FAILED, NoticeStatus.SENT):
        retry = Schedule.objects.filter(func=notices.SEND_TASK).latest("id")
        assert retry.schedule_type == Schedule.ONCE
        tasks.send_notice(*ast.literal_eval(retry.args))  # what django-q2's scheduler runs
        assert Notice.objects.get(pk=notice.pk).status == expected
    assert len(gateway.requests) == 3 and Notice.objects.get(pk=notice.pk).sends == 1
    assert told(queued) == ["Customer told by sms"]
    # The retries wait longer each time.
    runs = list(Schedule.objects.filter(func=notices.SEND_TASK).order_by("id").values_list("next_run", flat=True))
    assert runs[1] > runs[0]


def test_a_gateway_that_never_answers_is_given_up_and_recorded(gateway, queued, staff, settings,
                                                              django_capture_on_commit_callbacks):
    settings.NOTICE_MAX_ATTEMPTS = 2
    gateway.fail = 10
    claims.set_contact(queued, phone="0661234567", email="", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        fulfil(queued)
    retry = Schedule.objects.get(func=notices.SEND_TASK)
    assert tasks.send_notice(*ast.literal_eval(retry.args)) == "failed"
    assert Schedule.objects.filter(func=notices.SEND_TASK).count() == 1, "no third try"
    assert told(queued) == ["Customer could not be told by sms"]


def test_an_order_final_at_the_counter_is_never_told(gateway, sim, operator, staff,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        card = to_status(place(operator, "036362600"), S.SENDING, S.HANDLING)
        claims.live_link(card, language="en")  # its receipt printed while processing: no contact asked
        fulfil(card)
        flexy = to_status(place(operator, service="mobile"), S.SENDING, S.FULFILLED)
        assert claims.live_link(flexy, language="en") is None
    assert gateway.requests == [] and not Notice.objects.exists()


def test_a_refunded_late_order_is_told_too_and_by_email(settings, queued, staff, django_capture_on_commit_callbacks):
    settings.NOTICE_CHANNELS = ["email"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    claims.set_contact(queued, phone="", email="client@example.com", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        to_status(queued, S.REFUNDED)
    assert [m.to for m in mail.outbox] == [["client@example.com"]]
    assert "could not be delivered" in mail.outbox[0].body and queued.ref in mail.outbox[0].subject


def test_no_channel_no_notice(settings, queued, staff, django_capture_on_commit_callbacks):
    settings.NOTICE_CHANNELS = []
    claims.set_contact(queued, phone="0661234567", email="", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        fulfil(queued)
    assert not Notice.objects.exists()


def test_a_rolled_back_move_tells_nobody(gateway, queued, staff, django_capture_on_commit_callbacks):
    from django.db import transaction

    claims.set_contact(queued, phone="0661234567", email="", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                fulfil(queued)
                raise RuntimeError("the sync's transaction fails after the move")
        except RuntimeError:
            pass
    assert gateway.requests == []


def test_staff_send_the_notice_again(gateway, queued, staff, client, operator, django_capture_on_commit_callbacks):
    from django.urls import reverse

    claims.set_contact(queued, phone="0661234567", email="", actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        fulfil(queued)
    client.force_login(operator)
    response = client.post(reverse("topups:waiting_notify", kwargs={"pk": queued.pk}))
    assert response.status_code == 302
    assert len(gateway.requests) == 2 and Notice.objects.get(order=queued).sends == 2
