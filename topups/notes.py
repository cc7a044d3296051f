"""History notes stored as a message and its parameters, shown in the reader's language.

A note written by a background task (English) or during a French clerk's request would otherwise
stay in that language for everyone. Services write ``Note(gettext_noop("…%(n)s…"), n=3)``; the
history row keeps the message id and the parameters (``OrderEvent.note_code`` / ``note_params``)
with the English text in ``note`` for the admin and exports, and pages render ``event.note_shown``
through gettext in the reader's language.
"""

from __future__ import annotations

from django.utils.translation import gettext


class Note(str):
    """The English note (a ``str``, so any caller reading it as text still works), carrying its
    message id and parameters (strings and numbers: stored as JSON)."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params) -> Note:
        text = msgid % params if params else msgid
        note = super().__new__(cls, text)
        note.msgid, note.params = msgid, params
        return note


def stored(note) -> dict:
    """The OrderEvent fields of ``note``: the English text, and for a ``Note`` its code and parameters."""
    text = str(note or "")[:255]
    if isinstance(note, Note):
        return {"note": text, "note_code": note.msgid[:255], "note_params": note.params or None}
    return {"note": text}


def render(text: str, code: str, params: dict | None) -> str:
    """The note in the active language; the stored text when the message has no translation or its
    parameters do not fit it (a message changed since the row was written)."""
    if not code:
        return text
    try:
        translated = gettext(code)
        return translated % params if params else translated
    except (KeyError, TypeError, ValueError):
        return text
