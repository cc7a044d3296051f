"""The supervisors' admin, one module per area. Importing the package (as admin.autodiscover does)
imports every module, and so registers every page: orders with their history and actions, the
catalog, the account, bulk files, the audit trail, the ledger, the books and django-q2's pages
made read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("OneClickDZ top-ups")
admin.site.site_title = _("OneClickDZ top-ups")
admin.site.index_title = _("Supervision")

from topups.admin import (  # noqa: E402, F401 (registers the pages)
    accounts,
    audit,
    batches,
    books,
    catalog,
    django_q,
    ledger,
    orders,
)


def _register_lines_pages() -> None:
    """A product line's own pages live in its package (``<line package>.admin``, when it has one)."""
    import importlib
    import importlib.util

    from django.conf import settings

    # The settings' list, not the registry: the admin may be discovered before the lines register.
    for package in settings.TOPUPS_PRODUCT_LINES:
        if importlib.util.find_spec(f"{package}.admin") is not None:
            importlib.import_module(f"{package}.admin")


_register_lines_pages()
