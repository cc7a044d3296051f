"""Date lookups in the query of every admin list (a date hierarchy's ``?created_at__year=``, a date
filter's ``?created_at__gte=``), read by the one bounded parser before the list is built.

Django builds the list's query from these without bounds: ``created_at__year=0`` or a day after
9999-12-31 fails only when the SQL is compiled, while the page renders, as a 500. Checking them in
one place in front of every changelist (our ModelAdmins and other apps' alike, django-axes and
django-q2 included) keeps each ModelAdmin free of it: a bad value is dropped with a clear message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.http import HttpResponseRedirect

from topups.inputs import check_date_lookup


def date_lookup_of(model, key: str) -> str | None:
    """The date lookup ``key`` makes on ``model`` ("" for an exact match, ``year``, ``gte``, …),
    following relations; None when ``key`` is not a lookup on a date or date-time field."""
    parts = key.split("__")
    for i, name in enumerate(parts):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if isinstance(field, models.DateField):  # DateTimeField is a DateField
            rest = [p for p in parts[i + 1:] if p != "date"]
            return rest[0] if rest and rest[0] in ("year", "month", "day", "week", "week_day", "iso_week_day",
                                                   "quarter", "iso_year") else (rest[-1] if rest else "")
        if not field.is_relation or field.related_model is None:
            return None
        model = field.related_model
    return None


def bad_date_lookups(model, query) -> dict[str, str]:
    """{parameter: message} for each date lookup of ``query`` (a QueryDict) out of bounds."""
    bad = {}
    for key in query:
        lookup = date_lookup_of(model, key)
        if lookup is None:
            continue
        for value in query.getlist(key):
            try:
                check_date_lookup(lookup, value)
            except ValidationError as exc:
                bad[key] = exc.messages[0]
                break
    return bad


class AdminDateLookupsMiddleware:
    """In front of every admin changelist: a date lookup out of bounds is removed from the query,
    with its message, instead of reaching the database. Other requests pass untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        model_admin = getattr(view_func, "model_admin", None)
        if model_admin is None or view_func.__name__ != "changelist_view" or not request.GET:
            return None
        if not getattr(request.user, "is_staff", False):
            return None  # the admin sends them to its login first
        bad = bad_date_lookups(model_admin.model, request.GET)
        if not bad:
            return None
        for message in dict.fromkeys(bad.values()):
            messages.error(request, message)
        kept = request.GET.copy()
        for key in bad:
            kept.pop(key)
        return HttpResponseRedirect(request.path + (f"?{kept.urlencode()}" if kept else ""))
