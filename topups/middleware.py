"""The staff member's saved language wins over the browser's cookie and Accept-Language."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from topups.services.preferences import SESSION_LANGUAGE


class UserLanguageMiddleware:
    """Placed after AuthenticationMiddleware. Reads the language from the session (put there at
    login from the user's profile, or when the user picks one), so it costs no query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request.session.get(SESSION_LANGUAGE) if hasattr(request, "session") else None
        if language and language != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def client_ip(request) -> str | None:
    """The client's address. Behind our own proxy (BEHIND_PROXY), the last X-Forwarded-For entry:
    the one the proxy added, which a client cannot forge."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR")
