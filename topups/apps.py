from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TopupsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "topups"
    verbose_name = _("Top-ups")
