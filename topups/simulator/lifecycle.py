"""Internet top-up lifecycle: which outcome a line gets, and its status at a given time.

Outcomes are chosen by the last two digits of the line number so a demo or a test picks one just by
typing a number, and the same number always behaves the same. Timelines are fixed when the order is
created and read lazily: no background thread moves orders, the status is computed from the
simulator clock whenever someone looks.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

HANDLING = "HANDLING"
QUEUED = "QUEUED"
FULFILLED = "FULFILLED"
REFUNDED = "REFUNDED"


class Outcome(enum.StrEnum):
    FULFILLED = "FULFILLED"
    REFUNDED = "REFUNDED"
    QUEUED_THEN_FULFILLED = "QUEUED_THEN_FULFILLED"
    QUEUED_THEN_REFUNDED = "QUEUED_THEN_REFUNDED"
    SLOW = "SLOW"
    UNKNOWN_LINE = "UNKNOWN_LINE"


# Last two digits -> outcome; every other ending (00-89 and the unused 94-98) is FULFILLED.
OUTCOME_BY_SUFFIX = {
    "90": Outcome.REFUNDED,
    "91": Outcome.QUEUED_THEN_FULFILLED,
    "92": Outcome.QUEUED_THEN_REFUNDED,
    "93": Outcome.SLOW,
    "99": Outcome.UNKNOWN_LINE,
}


def outcome_for_number(number: str) -> Outcome:
    return OUTCOME_BY_SUFFIX.get(number[-2:], Outcome.FULFILLED)


@dataclass(frozen=True)
class Timings:
    fulfil_after: float
    queue_for: float
    slow_after: float


def timeline(outcome: Outcome, timings: Timings) -> tuple[tuple[float, str], ...]:
    """(seconds after creation, status) steps, starting with HANDLING at 0."""
    first = timings.fulfil_after
    later = first + timings.queue_for
    steps = {
        Outcome.FULFILLED: ((first, FULFILLED),),
        Outcome.REFUNDED: ((first, REFUNDED),),
        Outcome.QUEUED_THEN_FULFILLED: ((first, QUEUED), (later, FULFILLED)),
        Outcome.QUEUED_THEN_REFUNDED: ((first, QUEUED), (later, REFUNDED)),
        Outcome.SLOW: ((timings.slow_after, FULFILLED),),
    }[outcome]
    return ((0.0, HANDLING), *steps)


def status_at(steps: tuple[tuple[float, str], ...], elapsed: float) -> tuple[str, float]:
    """The status after ``elapsed`` seconds and the offset at which it was reached."""
    status, reached = steps[0][1], steps[0][0]
    for offset, step_status in steps:
        if elapsed >= offset:
            status, reached = step_status, offset
    return status, reached


def stable_digits(seed: str, count: int) -> str:
    """``count`` decimal digits derived from ``seed``: the same seed always gives the same digits."""
    digest = int(hashlib.sha256(seed.encode("utf-8")).hexdigest(), 16)
    return str(digest).rjust(count, "0")[-count:]


def masked_ncli(line_type: str, number: str) -> str:
    """The Algérie Télécom customer number: 10 digits, the last 5 starred, stable per line."""
    return stable_digits(f"ncli:{line_type}:{number}", 10)[:5] + "*****"


ADSL_OFFERS = ("FTTc-b_10M'", "ADSL_4M", "ADSL_8M", "FTTH_20M")


def adsl_offer(number: str) -> str:
    return ADSL_OFFERS[int(stable_digits(f"offre:{number}", 4)) % len(ADSL_OFFERS)]


def card_fields(topup_id: str, processed_at: datetime) -> dict[str, str]:
    """The fields a FULFILLED top-up carries; derived from the id so every read agrees."""
    return {
        "card_code": stable_digits(f"card:{topup_id}", 12),
        "num_trans": f"AT-{processed_at.astimezone(UTC).year}-{stable_digits(f'trans:{topup_id}', 5)}",
    }
