"""What a request says about its sender, read the same way by the audit trail and django-axes'
lockouts (settings.AXES_CLIENT_IP_CALLABLE). Plain functions of a request, apart from views and
middleware, so a service may ask them."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address. Behind our own proxy (BEHIND_PROXY), the last X-Forwarded-For entry:
    the one the proxy added, which a client cannot forge."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR")
