"""The staff roles: which permissions the Operators and Supervisors groups hold."""

OPERATOR_PERMS = ["view_order", "add_order", "send_order", "view_product"]
SUPERVISOR_PERMS = OPERATOR_PERMS + [
    "change_order", "refresh_order", "view_card_code", "export_order", "sync_catalog",
    "view_orderevent", "view_apiaccount", "bulk_order", "view_batch", "view_auditevent",
]
ROLES = {"Operators": OPERATOR_PERMS, "Supervisors": SUPERVISOR_PERMS}


def ensure_groups(group_model, permission_model) -> None:
    """Create the groups and grant their permissions; safe to run any number of times.

    Takes the models as arguments so the data migration can pass its historical ones.
    """
    for name, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.add(
            *permission_model.objects.filter(content_type__app_label="topups", codename__in=codenames)
        )
