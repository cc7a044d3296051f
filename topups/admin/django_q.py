"""Other apps' admin pages, tightened: django-q2's schedules, tasks and queue are read-only
(a schedule names any importable function, so editing one runs code as the service user;
schedules come from topups/schedules.py and migrations only), and supervisors may see and delete
django-axes' lockouts to unlock a colleague (the permissions come with the Supervisors group)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success

from topups.admin.mixins import ReadOnlyAdminMixin

READ_ONLY = {Schedule: q_admin.ScheduleAdmin, Success: q_admin.TaskAdmin, Failure: q_admin.FailAdmin}
if "orm" in settings.Q_CLUSTER:
    READ_ONLY[OrmQ] = q_admin.QueueAdmin

for model, base in READ_ONLY.items():
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, type(f"ReadOnly{base.__name__}", (ReadOnlyAdminMixin, base), {}))
