"""The waiting list: orders paid and not delivered yet, and late orders whose customer was not
told yet, with a button to send the notice again and a link to reprint the receipt."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from topups import selectors
from topups.selectors import waiting
from topups.services import notices
from topups.services.actors import Actor


@require_GET
@login_required
@permission_required("topups.view_order", raise_exception=True)
def waiting_list(request):
    return render(request, "topups/waiting.html", {"rows": waiting.waiting_orders(),
                                                   "channels": notices.channels()})


@require_POST
@login_required
@permission_required("topups.send_order", raise_exception=True)
def waiting_notify(request, pk: int):
    """Send a settled order's notice again."""
    order = selectors.order_detail(pk)
    if order is None:
        raise Http404(_("No such order."))
    if notices.resend(order, actor=Actor.user(request.user)):
        messages.success(request, _("The notice is on its way again."))
    else:
        messages.info(request, _("Nothing to send: the order is not settled, or the customer left no contact."))
    return redirect("topups:waiting")
