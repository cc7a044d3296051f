"""An internet line checked at the API before an order is sent: the counter's *Check number*."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from topups.numbers import normalise_number
from topups.oneclick import errors as api_errors
from topups.services.account import get_client

log = logging.getLogger("topups.orders")


@dataclass(frozen=True)
class LineCheck:
    """What the API says of a line before an order is sent (the form's *Check number*)."""

    number: str
    ok: bool
    message: str
    ncli: str = ""
    offre: str = ""
    code: str = ""
    unavailable: bool = False  # the API could not answer: the order can still be sent


def check_line(*, line_type: str, number: str) -> LineCheck:
    """Normalise ``number`` (raises ValidationError with the expected form) and ask the API
    whether the line exists. A refusal of the number or an API problem is an answer, not an
    exception. The API's answer on the line (found, or refused) is given again for
    NUMBER_CHECK_CACHE_SECONDS without a second call; an outage is not remembered."""
    number = normalise_number(line_type, number)
    key = f"topups.line-check:{line_type}:{number}"
    known = cache.get(key) if settings.NUMBER_CHECK_CACHE_SECONDS else None
    if known is None:
        known = _ask_line(line_type, number)
        if isinstance(known, tuple) and settings.NUMBER_CHECK_CACHE_SECONDS:
            cache.set(key, known, timeout=settings.NUMBER_CHECK_CACHE_SECONDS)
    if isinstance(known, LineCheck):
        return known
    # The API's answer is kept as data and worded here, in the reader's language.
    found, first, second = known
    if not found:
        return LineCheck(number, False, second, code=first)
    return LineCheck(number, True, _("Line found: customer %(ncli)s, offer %(offre)s.")
                     % {"ncli": first, "offre": second or "—"}, ncli=first, offre=second)


def _ask_line(line_type: str, number: str) -> tuple[bool, str, str] | LineCheck:
    """The API's answer on a line: (True, ncli, offre), (False, code, the API's explanation), or
    the LineCheck of a problem that is not an answer on the line (key refused, API unavailable)."""
    try:
        result = get_client().check_number(line_type, number)
    except api_errors.PhoneError as exc:
        return False, exc.code, exc.explanation
    except api_errors.AuthError as exc:
        return LineCheck(number, False, _("The API key is refused: ask a supervisor."), code=exc.code,
                         unavailable=True)
    except api_errors.OneClickError as exc:
        log.warning("number check failed: %s", exc.code)
        return LineCheck(number, False, _("The number could not be checked now (%(code)s). You can still send.")
                         % {"code": exc.code}, code=exc.code, unavailable=True)
    return True, result.ncli, result.offre or ""
