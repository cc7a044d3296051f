"""Staff preferences kept on the account (not only in one browser's cookie)."""

from __future__ import annotations

from django.conf import settings

from topups.models import StaffProfile

SESSION_LANGUAGE = "topups_language"


def save_language(*, user, language: str, session=None) -> None:
    """Remember ``language`` for ``user`` (and in the current session)."""
    if language not in dict(settings.LANGUAGES):
        return
    StaffProfile.objects.update_or_create(user=user, defaults={"language": language})
    if session is not None:
        session[SESSION_LANGUAGE] = language


def load_language(*, user, session) -> None:
    """At login: put the user's saved language in the session, where the middleware finds it."""
    language = StaffProfile.objects.filter(user=user).values_list("language", flat=True).first()
    if language:
        session[SESSION_LANGUAGE] = language
