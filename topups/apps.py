from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TopupsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "topups"
    verbose_name = _("Top-ups")

    def ready(self) -> None:
        from topups.schedules import ensure_schedules_and_groups

        post_migrate.connect(ensure_schedules_and_groups, sender=self)
