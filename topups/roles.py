"""The staff roles: which permissions the Operators and Supervisors groups hold."""

# A cashier opens and closes their own cash session (add_till).
OPERATOR_PERMS = ["view_order", "add_order", "send_order", "view_product", "view_mobileplan", "add_till"]
SUPERVISOR_PERMS = OPERATOR_PERMS + [
    "change_order", "refresh_order", "view_card_code", "export_order", "sync_catalog",
    "view_orderevent", "view_apiaccount", "bulk_order", "view_batch", "view_auditevent",
    "reconcile_ledger", "view_ledgerrow", "view_ledgerflag",
    # The books: selling prices, every cashier's sessions, the reports.
    "set_price", "view_books", "view_pricerule", "view_till", "approve_till",
    "view_cardinstructions", "add_cardinstructions", "change_cardinstructions",
    # Gift cards: the catalogue (from the API; a product's page holds its redemption instructions).
    "view_giftproduct", "change_giftproduct", "view_gifttype",
    "view_giftinstructions", "add_giftinstructions", "change_giftinstructions",
    # Unlock a colleague locked out by the login throttling: delete the lockout in the admin.
    "axes.view_accessattempt", "axes.delete_accessattempt",
]
ROLES = {"Operators": OPERATOR_PERMS, "Supervisors": SUPERVISOR_PERMS}
# The shop's purchase costs and the provider balance are for those who keep the books, not for
# cashiers (who see the prices they charge).
SEES_COSTS_PERM = "topups.view_books"


def sees_costs(user) -> bool:
    return bool(user and user.has_perm(SEES_COSTS_PERM))


def ensure_groups(group_model, permission_model) -> None:
    """Create the groups and grant their permissions; safe to run any number of times.

    Takes the models as arguments so the data migration can pass its historical ones.
    """
    from django.db.models import Q

    for name, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = Q(pk__in=[])
        for entry in codenames:  # "codename" (ours) or "app_label.codename"
            app_label, _dot, codename = entry.rpartition(".")
            wanted |= Q(content_type__app_label=app_label or "topups", codename=codename)
        group.permissions.add(*permission_model.objects.filter(wanted))
