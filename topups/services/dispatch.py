"""Handing sends to django-q2: the only place that enqueues send tasks.

Nothing here decides whether an order may be sent; the task claims each order (see
``sending.send_order``), so an order enqueued twice is still sent once.
"""

from __future__ import annotations

import math

from django.conf import settings

from topups.services.actors import Actor

SEND_TASK = "topups.tasks.send_orders"


def enqueue_sends(order_ids: list[int], actor: Actor) -> None:
    """Hand these orders (NEW, send requested) to send tasks, in chunks: 1,000 orders are a few
    dozen tasks spread over the workers."""
    from django_q.tasks import async_task

    workers = max(int(settings.Q_CLUSTER.get("workers", 4)), 1)
    chunk = max(1, min(50, math.ceil(len(order_ids) / (workers * 2))))
    for start in range(0, len(order_ids), chunk):
        ids = order_ids[start : start + chunk]
        async_task(SEND_TASK, ids, *actor.to_task_args(), task_name=f"send {len(ids)} orders")


def enqueue_resends(order_ids: list[int], actor: Actor) -> None:
    """One task per order the API said it does not know, to be sent again with its reference."""
    from django_q.tasks import async_task

    for order_id in order_ids:
        async_task(SEND_TASK, [order_id], *Actor.task("resend", on_behalf_of=actor).to_task_args(),
                   task_name="resend an order not found by reference")
