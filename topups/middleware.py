"""The staff member's saved language wins over the browser's cookie and Accept-Language."""

from __future__ import annotations

import time

from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control

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


# How stale the session's expiry may get before a request pushes it back: saving on every request
# would write the session on each live-status poll.
SESSION_TOUCH_SECONDS = 300
SESSION_SEEN = "_seen"


class StaffSessionMiddleware:
    """Placed after AuthenticationMiddleware. For a logged-in user:

    - the idle timeout: the session (SESSION_COOKIE_AGE, a shift) is pushed back when it is used,
      at most once every 5 minutes, so it ends after a shift without use;
    - ``Cache-Control: no-store`` on every response: staff pages, JSON and CSV carry card codes,
      numbers and balances that no browser or proxy cache should keep.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        staff = user is not None and user.is_authenticated
        if staff:
            now = int(time.time())
            if now - request.session.get(SESSION_SEEN, 0) >= SESSION_TOUCH_SECONDS:
                request.session[SESSION_SEEN] = now  # modified: saved with a fresh expiry
        response = self.get_response(request)
        if staff:
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response
