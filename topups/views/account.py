"""The pages around the account: the language choice, the login page when django-axes locks a login out,
and the liveness probe."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views import i18n as i18n_views
from django.views.decorators.http import require_GET, require_POST

from topups.services.preferences import save_language

# Language -----------------------------------------------------------------------------------------


@require_POST
def set_language(request):
    """Django's set_language, and for a logged-in user the choice is saved on the account, so it
    follows them to another browser (and the admin uses it too)."""
    response = i18n_views.set_language(request)
    if request.user.is_authenticated:
        save_language(user=request.user, language=request.POST.get("language", ""), session=request.session)
    return response


# Login throttling ---------------------------------------------------------------------------------


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response (settings.AXES_LOCKOUT_CALLABLE): the login page again, with
    the reason, for the dashboard's login and the admin's alike. 429 tells scripts to back off."""
    from django.contrib.auth.forms import AuthenticationForm

    from topups.throttling import account_locked

    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/login.html", {
        "form": form, "locked_out": True, "lockout_minutes": minutes, "account_locked": account_locked(username),
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }, status=settings.AXES_HTTP_RESPONSE_CODE)


@require_GET
def healthz(request):
    """Liveness for a load balancer or a service manager: the process answers, nothing read."""
    return HttpResponse("ok", content_type="text/plain")
