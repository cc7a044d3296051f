from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TopupsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "topups"
    verbose_name = _("Top-ups")

    def ready(self) -> None:
        from importlib import import_module

        from django.conf import settings

        for package in settings.TOPUPS_PRODUCT_LINES:  # each registers its line (topups.lines)
            import_module(package)
        from topups import (
            checks,  # noqa: F401 (registers the system checks)
            lookups,  # noqa: F401 (registers the bounded integer "in")
        )
        from topups.schedules import ensure_schedules_and_groups

        post_migrate.connect(ensure_schedules_and_groups, sender=self)
        user_logged_in.connect(_load_language, dispatch_uid="topups_load_language")


def _load_language(sender, request, user, **kwargs) -> None:
    from topups.services.preferences import load_language

    load_language(user=user, session=request.session)
