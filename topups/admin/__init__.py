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
