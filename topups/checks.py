"""System checks of the settings the money path relies on (run by every manage.py command,
qcluster included, so a worker never starts with them wrong)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_send_timings(app_configs=None, **kwargs) -> list[Error]:
    """The sending lease must outlast the task timeout, and one send's worst case must fit in it.

    A worker killed by the timeout leaves its order in SENDING; only after the lease is the order
    reconciled by reference. A lease shorter than the timeout lets the sync start a resend while
    the first sender may still be waiting on its POST.
    """
    from topups.services.sending import worst_case_send_seconds
    from topups.tasks import TASK_MARGIN_SECONDS

    errors = []
    timeout = settings.Q_CLUSTER.get("timeout")
    lease = settings.ONECLICKDZ_SENDING_LEASE_SECONDS
    if timeout is None:
        errors.append(Error("Q_CLUSTER has no timeout: a stuck send task would never end.", id="topups.E001"))
        return errors
    if lease <= timeout:
        errors.append(Error(
            f"ONECLICKDZ_SENDING_LEASE_SECONDS ({lease}) must be greater than the task timeout "
            f"Q_CLUSTER['timeout'] ({timeout}): a send task may still be sending when its lease ends.",
            hint="Raise ONECLICKDZ_SENDING_LEASE_SECONDS or lower Q_TIMEOUT.", id="topups.E002"))
    worst = worst_case_send_seconds() + TASK_MARGIN_SECONDS
    if worst >= timeout:
        errors.append(Error(
            f"One send can take up to {worst:.0f} s (number check and POST, connect + read timeouts), "
            f"which does not fit the task timeout Q_CLUSTER['timeout'] ({timeout} s).",
            hint="Lower ONECLICKDZ_CONNECT_TIMEOUT / ONECLICKDZ_READ_TIMEOUT or raise Q_TIMEOUT.", id="topups.E003"))
    retry = settings.Q_CLUSTER.get("retry")
    if retry is not None and retry <= timeout:
        errors.append(Error(f"Q_CLUSTER['retry'] ({retry}) must be greater than its timeout ({timeout}).",
                            id="topups.E004"))
    return errors
