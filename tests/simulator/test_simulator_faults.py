"""Injected faults and concurrency: what a client observes, and whether the order was created.

Hangs use short ``hang_seconds`` and short client timeouts so the file stays fast; stopping the
server wakes any hang that is still running.
"""

from __future__ import annotations

import socket
import threading
import time
from decimal import Decimal

import pytest
import requests

from topups.simulator import serve_in_thread

KEY = "sim-test-key-0002"
SEND = {"type": "ADSL", "number": "036362608", "value": 500}


@pytest.fixture
def running():
    with serve_in_thread(keys={KEY: None}) as running:
        yield running


@pytest.fixture
def session():
    with requests.Session() as session:
        session.headers["X-Access-Token"] = KEY
        yield session


def send(running, session, ref: str, timeout: float = 5) -> requests.Response:
    return session.post(running.url + "/internet/send", json={**SEND, "ref": ref}, timeout=timeout)


def orders_for(running, ref: str) -> int:
    return running.simulator.stats()["refs"].get(ref, {}).get("orders", 0)


def test_latency_fault_delays_a_normal_answer(running, session):
    running.simulator.inject_fault("balance", "latency", latency_ms=150)
    started = time.monotonic()
    response = session.get(running.url + "/account/balance", timeout=5)
    assert time.monotonic() - started >= 0.15
    assert response.status_code == 200
    started = time.monotonic()
    session.get(running.url + "/account/balance", timeout=5)
    assert time.monotonic() - started < 0.15  # only the next call


def test_global_latency_setting(running, session):
    running.simulator.configure(latency_ms=100)
    started = time.monotonic()
    assert session.get(running.url + "/ping", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.1


def test_timeout_after_accept_creates_the_order_but_never_answers(running, session):
    running.simulator.inject_fault("send", "timeout_after_accept", hang_seconds=5)
    with pytest.raises(requests.ReadTimeout):
        send(running, session, "order-hang", timeout=0.3)
    assert orders_for(running, "order-hang") == 1
    assert running.simulator.balance == Decimal("100000.00") - 490
    # The retry the client must do: look the order up by its ref.
    found = session.get(running.url + "/internet/check-ref/order-hang", timeout=5)
    assert found.json()["data"]["ref"] == "order-hang"


def test_hang_ends_with_a_close_after_hang_seconds(running, session):
    running.simulator.inject_fault("ping", "timeout_after_accept", hang_seconds=0.2)
    with pytest.raises(requests.ConnectionError):
        session.get(running.url + "/ping", timeout=3)


def test_error_500_before_does_not_process(running, session):
    running.simulator.inject_fault("send", "error_500_before")
    response = send(running, session, "order-500b")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert orders_for(running, "order-500b") == 0
    assert running.simulator.stats()["refs"]["order-500b"]["attempts"] == 1


def test_error_500_after_processes_the_order(running, session):
    running.simulator.inject_fault("send", "error_500_after")
    response = send(running, session, "order-500a")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert orders_for(running, "order-500a") == 1
    assert send(running, session, "order-500a").json()["error"]["code"] == "DUPLICATED_REF"


def test_reset_drops_the_connection_without_processing(running, session):
    running.simulator.inject_fault("send", "reset")
    with pytest.raises(requests.ConnectionError):
        send(running, session, "order-reset")
    assert orders_for(running, "order-reset") == 0
    assert send(running, session, "order-reset2").status_code == 200  # the session recovers


def test_reset_after_processes_then_drops(running, session):
    running.simulator.inject_fault("send", "reset_after")
    with pytest.raises(requests.ConnectionError):
        send(running, session, "order-reset-after")
    assert orders_for(running, "order-reset-after") == 1


def test_reset_is_a_real_tcp_rst(running):
    running.simulator.inject_fault("ping", "reset")
    with socket.create_connection(("127.0.0.1", running.port), timeout=2) as raw:
        raw.sendall(b"GET /v3/ping HTTP/1.1\r\nHost: sim\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            raw.recv(1024)


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("rate_limit", 429, "RATE_LIMITED"),
    ("unavailable", 503, "SERVICE_UNAVAILABLE"),
])
def test_rate_limit_and_unavailable_do_not_process(running, session, kind, status, code):
    running.simulator.inject_fault("send", kind)
    response = send(running, session, f"order-{kind}")
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code and body["requestId"].startswith("req_")
    assert orders_for(running, f"order-{kind}") == 0


def test_malformed_answers_200_with_broken_json_after_processing(running, session):
    running.simulator.inject_fault("send", "malformed")
    response = send(running, session, "order-garbage")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert orders_for(running, "order-garbage") == 1


def test_count_and_wildcard_endpoint(running, session):
    running.simulator.inject_fault("*", "unavailable", count=2)
    assert session.get(running.url + "/ping", timeout=5).status_code == 503
    assert session.get(running.url + "/account/balance", timeout=5).status_code == 503
    assert session.get(running.url + "/account/balance", timeout=5).status_code == 200
    assert running.simulator.stats()["faults_fired"] == {"unavailable": 2}


def test_clear_faults(running, session):
    running.simulator.inject_fault("balance", "rate_limit", count=5)
    running.simulator.clear_faults()
    assert session.get(running.url + "/account/balance", timeout=5).status_code == 200


def test_unknown_endpoint_or_kind_is_refused(running):
    with pytest.raises(ValueError):
        running.simulator.inject_fault("gift-send", "reset")
    with pytest.raises(ValueError):
        running.simulator.inject_fault("send", "explode")


def test_fault_mix_is_random_but_replayable(running, session):
    def run() -> list[int]:
        running.simulator.reset()
        running.simulator.set_fault_mix("balance", {"error_500_before": 0.3, "rate_limit": 0.2}, seed=7)
        return [session.get(running.url + "/account/balance", timeout=5).status_code for _ in range(60)]

    first = run()
    assert first == run()
    assert {200, 429, 500} == set(first)
    fired = running.simulator.stats()["faults_fired"]
    assert fired["error_500_before"] + fired["rate_limit"] == sum(1 for status in first if status != 200)


def test_fault_mix_extra_latency(running, session):
    running.simulator.set_fault_mix("ping", {}, seed=1, extra_latency_ms=(60, 80))
    started = time.monotonic()
    session.get(running.url + "/ping", timeout=5)
    assert time.monotonic() - started >= 0.06


def test_stopping_the_server_wakes_hanging_connections():
    with serve_in_thread(keys={KEY: None}) as running:
        running.simulator.inject_fault("send", "timeout_after_accept", hang_seconds=30)
        errors = []

        def hang():
            try:
                requests.post(running.url + "/internet/send", json={**SEND, "ref": "x"},
                              headers={"X-Access-Token": KEY}, timeout=30)
            except requests.RequestException as exc:
                errors.append(exc)

        client = threading.Thread(target=hang)
        client.start()
        deadline = time.monotonic() + 2
        while running.simulator.stats()["orders"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
    assert time.monotonic() - started < 1.0
    client.join(2)
    assert not client.is_alive() and errors


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrent_sends_with_distinct_refs_debit_exactly():
    with serve_in_thread(keys={KEY: None}, balance="200000.00") as running:
        def worker(index: int) -> None:
            with requests.Session() as session:
                session.headers["X-Access-Token"] = KEY
                for n in range(50):
                    assert send(running, session, f"t{index}-{n}").status_code == 200

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = running.simulator.stats()
        assert stats["orders"] == 400 and stats["max_orders_per_ref"] == 1
        assert stats["balance"] == Decimal("200000.00") - 400 * 490
        assert stats["total_debited"] == 400 * 490
        assert stats["ledger_rows"] == 400
        assert stats["calls"]["send"] == 400


def test_concurrent_sends_with_the_same_ref_create_one_order(running):
    barrier = threading.Barrier(8)
    statuses = []

    def worker() -> None:
        with requests.Session() as session:
            session.headers["X-Access-Token"] = KEY
            barrier.wait()
            statuses.append(send(running, session, "the-same-ref").status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [403] * 7
    assert running.simulator.stats()["refs"]["the-same-ref"] == {"orders": 1, "attempts": 8}
    assert running.simulator.balance == Decimal("100000.00") - 490


# Knobs for the money path: lookup lag, refusal before DUPLICATED_REF, spoiled answers, debits ----


def test_not_found_fault_hides_an_existing_order_from_the_next_lookups(running, session):
    assert send(running, session, "lag-1").status_code == 200
    running.simulator.inject_fault("check-ref", "not_found", count=2)
    url = running.url + "/internet/check-ref/lag-1"
    answers = [session.get(url, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 200]
    assert answers[0].json()["error"]["code"] == "NOT_FOUND"
    assert running.simulator.stats()["faults_fired"] == {"not_found": 2}


@pytest.mark.parametrize(("last", "code"), [(False, "DUPLICATED_REF"), (True, "INSUFFICIENT_BALANCE")])
def test_duplicate_check_last_lets_a_refusal_answer_a_resend(running, session, last, code):
    running.simulator.configure(duplicate_check_last=last)
    assert send(running, session, "dup-1").status_code == 200
    running.simulator.set_balance(100)
    again = send(running, session, "dup-1")
    assert again.json()["error"]["code"] == code
    assert orders_for(running, "dup-1") == 1


def test_spoiled_topup_shows_the_spoiled_fields_everywhere_until_cleared(running, session):
    running.simulator.configure(fulfil_after=0)
    running.simulator.spoil_topup("spoil-1", {"card_code": None, "topup_amount": "N/A"})  # before it exists
    topup_id = send(running, session, "spoil-1").json()["data"]["topupId"]
    by_ref = session.get(running.url + "/internet/check-ref/spoil-1", timeout=5).json()["data"]
    by_id = session.get(running.url + f"/internet/check-id/{topup_id}", timeout=5).json()["data"]
    listed = session.get(running.url + "/internet/list", timeout=5).json()["data"]["topups"][0]
    for view in (by_ref, by_id, listed):
        assert view["status"] == "FULFILLED" and "card_code" not in view and view["topup_amount"] == "N/A"
    requests.post(running.control_url + "/spoil", json={"ref": "spoil-1"}, timeout=5)
    view = session.get(running.url + "/internet/check-ref/spoil-1", timeout=5).json()["data"]
    assert len(view["card_code"]) == 12 and view["topup_amount"] == 500


def test_net_debits_per_ref_drop_to_zero_once_refunded(running, session):
    running.simulator.configure(fulfil_after=1)
    running.simulator.set_outcome(ref="debit-2", outcome="REFUNDED")
    send(running, session, "debit-1")
    send(running, session, "debit-2")
    assert running.simulator.net_debits() == {"debit-1": Decimal("490"), "debit-2": Decimal("490")}
    running.simulator.advance(2)
    debits = requests.get(running.control_url + "/debits", timeout=5).json()["data"]
    assert debits == {"debit-1": 490, "debit-2": 0}
