"""A database blip (a failover, a restart: PostgreSQL drops every connection) is a pause, not an
outcome. A unit of work that is one transaction of its own (a claim, a status move) and fails on a
dropped connection is run again on a new connection, after a short pause, for up to
``DB_RETRY_SECONDS``: the transaction rolled back (or, if the connection dropped at the COMMIT,
committed once), and every status write is conditional on the status and attempt it was decided
under (``lifecycle``), so running it again never writes it twice.

Django opens a new connection at the next query once the broken one is closed; requests and tasks
also check a kept connection before using it (``CONN_HEALTH_CHECKS``). Retrying is a loop of a few
lines around Django's own connection handling, not a job for a retry library: what matters is
closing the broken connection between tries and never retrying inside an enclosing transaction.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

log = logging.getLogger("topups.orders")
T = TypeVar("T")
# What a dropped or refused connection raises (a constraint or a bad query is not one of these).
DATABASE_ERRORS = (OperationalError, InterfaceError)
FIRST_PAUSE, LONGEST_PAUSE = 0.2, 2.0


def caused_by_database(exc: BaseException | None) -> bool:
    """Whether ``exc`` is, or was raised because of, a dropped database connection (the API
    client's key guard turns one into "ConfigurationError: no call made")."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DATABASE_ERRORS):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def drop_connection() -> None:
    """Close this thread's connection (broken or not) so that the next query opens a new one; not
    inside an enclosing transaction, which belongs to its owner."""
    if connection.in_atomic_block:
        return
    with contextlib.suppress(DatabaseError):
        connection.close()


def retrying(work: Callable[[], T], *, what: str, seconds: float | None = None) -> T:
    """``work()``, run again on a new connection while it fails on a dropped one, for up to
    ``seconds`` (default ``DB_RETRY_SECONDS``); then the last error is raised. ``work`` must be one
    transaction of its own that is safe to run twice. Inside an enclosing transaction nothing is
    retried (the transaction is lost with its connection: its owner decides)."""
    budget = settings.DB_RETRY_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + budget
    pause = FIRST_PAUSE
    while True:
        try:
            return work()
        except DATABASE_ERRORS as exc:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            log.warning("database connection lost during %s (%s); trying again in %.1f s", what,
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, pause)
            drop_connection()
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
