"""Form widgets the dashboard's forms share."""

from __future__ import annotations

from django import forms


class DayInput(forms.DateInput):
    """A day picked in the browser's own calendar (``<input type=date>``). Its value is always
    ISO (YYYY-MM-DD), as the input requires: a localised value ("06/12/2026" on a French page)
    would show an empty field. The browser shows the day in its own way; pages print days with
    Django's localisation (SHORT_DATE_FORMAT)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")
