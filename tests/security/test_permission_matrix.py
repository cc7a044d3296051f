"""Who may open what: every URL of the project and every admin action, for each role.

The tables below are the security contract. ``test_every_url_has_an_entry`` walks the whole URL
tree (the admin's included) and fails when a URL has no entry, so a new page cannot ship without
someone deciding who may open it; ``test_every_admin_action_has_an_entry`` does the same for the
actions of every registered ModelAdmin.

Roles: anonymous; operator (group Operators, not staff); supervisor (group Supervisors, staff);
superuser. An expected value is an HTTP status, or ``LOGIN`` / ``ADMIN_LOGIN`` for a redirect to
the dashboard's or the admin's login page (any other 302 must not go to a login page), or
``REDIRECT`` for any redirect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse
from django.utils import timezone

from tests.factories import ProductFactory
from topups.models import (
    ApiAccount,
    AuditEvent,
    CardInstructions,
    GiftProduct,
    LedgerFlag,
    LedgerRow,
    MobilePlan,
    Order,
    PriceRule,
    Till,
)
from topups.services import claims, orders
from topups.services.actors import Actor

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "operator", "supervisor", "superuser")
LOGIN = "login"
ADMIN_LOGIN = "admin_login"
REDIRECT = "redirect"  # any redirect, a login page included (logging out)


@dataclass(frozen=True)
class Case:
    """One URL: how to call it, and what each role gets."""

    method: str
    expect: dict[str, int | str]
    kwargs: dict = field(default_factory=dict)  # "order", "batch", … are replaced by a real object's pk
    query: str = ""
    data: dict = field(default_factory=dict)
    note: str = ""


def roles(anonymous, operator, supervisor, superuser) -> dict:
    return {"anonymous": anonymous, "operator": operator, "supervisor": supervisor, "superuser": superuser}


STAFF_ONLY = roles(LOGIN, 403, 200, 200)
ALL_STAFF = roles(LOGIN, 200, 200, 200)
BULK = roles(LOGIN, 403, 200, 200)  # topups.bulk_order: Supervisors

# The dashboard, login and language: one entry per URL name.
DASHBOARD: dict[str, Case] = {
    "set_language": Case("post", roles(302, 302, 302, 302), data={"language": "en", "next": "/"},
                         note="open to all: saves the choice (on the account when logged in)"),
    "login": Case("get", roles(200, 302, 302, 302), note="logged-in users are sent on"),
    "logout": Case("post", roles(REDIRECT, REDIRECT, REDIRECT, REDIRECT)),
    "healthz": Case("get", roles(200, 200, 200, 200), note="liveness: answers 'ok', reads nothing"),
    "claim": Case("get", roles(200, 200, 200, 200), kwargs={"token": "claim_token"},
                  note="the customer's page behind a receipt's claim link: public, the token is the key"),
    "topups:claim_contact": Case("post", roles(LOGIN, 302, 302, 302), kwargs={"pk": "order"},
                                 data={"phone": "0661234567"}, note="topups.send_order: the counter"),
    "topups:claim_revoke": Case("post", roles(LOGIN, 302, 302, 302), kwargs={"pk": "order"},
                                note="topups.send_order: the counter prints the new link"),
    "topups:waiting": Case("get", ALL_STAFF, note="topups.view_order"),
    "topups:waiting_notify": Case("post", roles(LOGIN, 302, 302, 302), kwargs={"pk": "order"},
                                  note="topups.send_order; an order not settled sends nothing"),
    "topups:home": Case("get", ALL_STAFF),
    "topups:orders": Case("get", ALL_STAFF),
    "topups:new_order": Case("get", ALL_STAFF),
    "topups:new_order_line": Case("get", ALL_STAFF, kwargs={"line": "mobile"}),
    "topups:check_number": Case("get", roles(LOGIN, 400, 400, 400), note="allowed; 400: no number given"),
    "topups:flexy_check": Case("get", ALL_STAFF, note="topups.send_order; nothing typed: an empty answer"),
    "topups:order_statuses": Case("get", ALL_STAFF, query="?id={order}"),
    "topups:order_export": Case("get", STAFF_ONLY, note="topups.export_order"),
    "topups:order": Case("get", ALL_STAFF, kwargs={"pk": "order"}),
    "topups:order_status": Case("get", ALL_STAFF, kwargs={"pk": "order"}),
    "topups:order_refresh": Case("post", roles(LOGIN, 403, 302, 302), kwargs={"pk": "order"},
                                 note="someone else's order: only topups.refresh_order"),
    "topups:order_receipt": Case("get", ALL_STAFF, kwargs={"pk": "order"}),
    # Bulk orders (topups/views/batches.py): Supervisors only.
    "topups:batches": Case("get", BULK),
    "topups:batch_new": Case("get", BULK),
    "topups:batch_template": Case("get", BULK),
    "topups:batch": Case("get", BULK, kwargs={"pk": "batch"}),
    "topups:batch_confirm": Case("post", roles(LOGIN, 403, 302, 302), kwargs={"pk": "batch"}),
    "topups:batch_status": Case("get", BULK, kwargs={"pk": "batch"}),
    "topups:batch_results": Case("get", BULK, kwargs={"pk": "batch"}),
    # Reconciliation with the provider's ledger (topups/views/ledger.py): topups.reconcile_ledger.
    "topups:ledger": Case("get", STAFF_ONLY),
    "topups:ledger_export": Case("get", STAFF_ONLY),
    "topups:ledger_resolve": Case("post", roles(LOGIN, 403, 302, 302), kwargs={"pk": "ledger_flag"},
                                  data={"note": "checked"}),
    # The books: every cashier opens and closes their own session; supervisors see everyone's,
    # approve or reopen them, set prices and read the reports.
    "topups:my_till": Case("get", ALL_STAFF, note="topups.add_till"),
    "topups:tills": Case("get", STAFF_ONLY, note="topups.view_till"),
    "topups:till": Case("get", roles(LOGIN, 403, 200, 200), kwargs={"pk": "till"},
                        note="its cashier, or topups.view_till"),
    "topups:till_approve": Case("post", roles(LOGIN, 403, 302, 302), kwargs={"pk": "till"}),
    "topups:till_reopen": Case("post", roles(LOGIN, 403, 302, 302), kwargs={"pk": "till"}),
    "topups:prices": Case("get", STAFF_ONLY, note="topups.set_price"),
    "topups:reports": Case("get", STAFF_ONLY, note="topups.view_books"),
}

# URLs above that also take a POST (their form), checked by ``test_posted_forms``: the orders search
# and its export (a term never in a URL), and a receipt's print (counted by a POST only).
POSTED: dict[str, Case] = {
    "topups:orders": Case("post", ALL_STAFF, data={"q": "036362600", "status": "new"}),
    "topups:order_export": Case("post", STAFF_ONLY, data={"q": "036362600"}, note="topups.export_order"),
    "topups:order_receipt": Case("post", ALL_STAFF, kwargs={"pk": "order"}, data={"width": "80"},
                                 note="not a card: printable by every member of staff"),
    "claim": Case("post", roles(200, 200, 200, 200), kwargs={"token": "claim_token"}, data={"digits": "2600"},
                  note="the digits' form; an order not delivered shows its state only"),
}

# The admin site's own pages. Non-staff users (operators) are treated like anonymous visitors.
ADMIN_SITE: dict[str, Case] = {
    "admin:index": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 200, 200)),
    "admin:login": Case("get", roles(200, 200, 302, 302), note="an operator sees 'not authorised' (200)"),
    "admin:logout": Case("post", roles(REDIRECT, REDIRECT, REDIRECT, REDIRECT)),
    "admin:password_change": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 200, 200)),
    "admin:password_change_done": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 200, 200)),
    "admin:autocomplete": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 403, 200),
                               query="?app_label=topups&model_name=order&field_name=created_by",
                               note="searches the users: needs auth.view_user, which supervisors lack"),
    "admin:jsi18n": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 200, 200)),
    "admin:view_on_site": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 404, 404),
                               kwargs={"content_type_id": "order_ct", "object_id": "order"},
                               note="orders have no public URL"),
    "admin:app_list": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 200, 200), kwargs={"app_label": "topups"}),
    "admin:auth_user_password_change": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 403, 200),
                                            kwargs={"id": "user"}),
    "admin:topups_product_refresh": Case("post", roles(ADMIN_LOGIN, ADMIN_LOGIN, 302, 302),
                                         note="topups.sync_catalog"),
    "admin:topups_mobileplan_refresh": Case("post", roles(ADMIN_LOGIN, ADMIN_LOGIN, 302, 302),
                                            note="topups.sync_catalog"),
    "admin:topups_giftproduct_refresh": Case("post", roles(ADMIN_LOGIN, ADMIN_LOGIN, 302, 302),
                                             note="topups.sync_catalog"),
    "admin:topups_order_settle": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 200, 200), kwargs={"pk": "order"},
                                      note="topups.refresh_order; settling itself is a POST"),
    # Unnamed: the admin's catch-all (unknown admin paths).
    "admin/(?P<url>.*)$": Case("get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 404, 404), kwargs={"url": "no-such-page/"}),
}

# Every registered model's admin pages, by rule: what each staff role may do with the model once
# the ModelAdmin's has_*_permission hooks have spoken ("v"iew, "a"dd, "c"hange, "d"elete).
# Anonymous visitors and operators (not staff) are sent to the admin's login for all of them.
ADMIN_MODELS: dict[str, dict[str, str]] = {
    "auth.group": {"supervisor": "", "superuser": "vacd"},
    "auth.user": {"supervisor": "", "superuser": "vacd"},
    "axes.accessattempt": {"supervisor": "vd", "superuser": "vcd"},  # supervisors unlock colleagues
    "axes.accesslog": {"supervisor": "", "superuser": "vcd"},
    "axes.accessfailurelog": {"supervisor": "", "superuser": "vcd"},
    # django-q2 read-only for everyone: schedules come from code and migrations (a schedule names a
    # function to run, so editing one would run code as the service user).
    "django_q.schedule": {"supervisor": "", "superuser": "v"},
    "django_q.success": {"supervisor": "", "superuser": "v"},
    "django_q.failure": {"supervisor": "", "superuser": "v"},
    "topups.order": {"supervisor": "vac", "superuser": "vac"},  # orders are never deleted
    "topups.product": {"supervisor": "v", "superuser": "vcd"},  # the catalog comes from the API
    "topups.apiaccount": {"supervisor": "v", "superuser": "vcd"},
    "topups.mobileplan": {"supervisor": "v", "superuser": "v"},  # the plans come from the API
    "topups.batch": {"supervisor": "va", "superuser": "va"},  # add = the dashboard's upload (redirect)
    "topups.auditevent": {"supervisor": "v", "superuser": "v"},  # read-only for everyone
    "topups.ledgerrow": {"supervisor": "v", "superuser": "v"},  # copied from the API
    "topups.ledgerflag": {"supervisor": "v", "superuser": "v"},  # resolved on the reconciliation page
    # Set on the dashboard through audited services; read-only in the admin.
    "topups.pricerule": {"supervisor": "v", "superuser": "v"},
    "topups.till": {"supervisor": "v", "superuser": "v"},
    "topups.cardinstructions": {"supervisor": "vac", "superuser": "vacd"},
    # From the API; "change" edits only its redemption instructions (inline).
    "topups.giftproduct": {"supervisor": "vc", "superuser": "vc"},
}
# django-q2 shows its queue in the admin only with the ORM broker (not with Redis).
if "orm" in settings.Q_CLUSTER:
    ADMIN_MODELS["django_q.ormq"] = {"supervisor": "", "superuser": "v"}
# A model whose "add" page is a redirect elsewhere rather than a form.
ADD_REDIRECTS = {"topups.batch"}

# Every action of every ModelAdmin (delete_selected included): the staff roles that get it.
ADMIN_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("auth.group", "delete_selected"): {"superuser"},
    ("auth.user", "delete_selected"): {"superuser"},
    ("axes.accessattempt", "delete_selected"): {"supervisor", "superuser"},
    ("axes.accessattempt", "cleanup_expired_attempts"): {"supervisor", "superuser"},
    ("axes.accesslog", "delete_selected"): {"superuser"},
    ("axes.accessfailurelog", "delete_selected"): {"superuser"},
    ("django_q.schedule", "delete_selected"): set(),  # read-only: no action at all
    ("django_q.success", "delete_selected"): set(),
    ("django_q.failure", "delete_selected"): set(),
    ("topups.order", "delete_selected"): set(),  # orders are never deleted
    ("topups.order", "send_selected"): {"supervisor", "superuser"},
    ("topups.order", "refresh_selected"): {"supervisor", "superuser"},
    ("topups.order", "cancel_selected"): {"supervisor", "superuser"},
    ("topups.order", "close_never_sent_selected"): {"supervisor", "superuser"},
    ("topups.order", "export_selected_csv"): {"supervisor", "superuser"},
    ("topups.order", "export_selected_xlsx"): {"supervisor", "superuser"},
    ("topups.product", "delete_selected"): {"superuser"},
    ("topups.apiaccount", "delete_selected"): {"superuser"},
    ("topups.mobileplan", "delete_selected"): set(),
    ("topups.batch", "delete_selected"): set(),
    ("topups.auditevent", "delete_selected"): set(),  # the audit trail cannot be edited
    ("topups.ledgerrow", "delete_selected"): set(),
    ("topups.ledgerflag", "delete_selected"): set(),
    ("topups.pricerule", "delete_selected"): set(),
    ("topups.till", "delete_selected"): set(),
    ("topups.cardinstructions", "delete_selected"): {"superuser"},
    ("topups.giftproduct", "delete_selected"): set(),
}
if "orm" in settings.Q_CLUSTER:
    ADMIN_ACTIONS[("django_q.ormq", "delete_selected")] = set()

MODEL_VIEWS = ("changelist", "add", "change", "delete", "history")


def model_view_expectations(label: str) -> dict[str, Case]:
    """The admin URLs of one registered model, with their expected statuses (from ADMIN_MODELS)."""
    rights = ADMIN_MODELS[label]
    app, model = label.split(".")

    def status(view: str, can: str) -> int:
        if view in ("changelist", "change", "history"):
            return 200 if set(can) & {"v", "c"} else 403
        if view == "add":
            return (302 if label in ADD_REDIRECTS else 200) if "a" in can else 403
        return 200 if "d" in can else 403

    cases = {}
    for view in MODEL_VIEWS:
        kwargs = {} if view in ("changelist", "add") else {"object_id": label}
        cases[f"admin:{app}_{model}_{view}"] = Case("get", roles(
            ADMIN_LOGIN, ADMIN_LOGIN, status(view, rights["supervisor"]), status(view, rights["superuser"])
        ), kwargs=kwargs)
    # The unnamed "<object_id>/" redirect to the change page (any staff: the change page decides).
    cases[f"admin/{app}/{model}/<path:object_id>/"] = Case(
        "get", roles(ADMIN_LOGIN, ADMIN_LOGIN, 302, 302), kwargs={"object_id": label})
    return cases


def all_cases() -> dict[str, Case]:
    cases = {**DASHBOARD, **ADMIN_SITE}
    for label in ADMIN_MODELS:
        cases.update(model_view_expectations(label))
    return cases


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    """Every URL pattern under ``resolver``: (key, full route, pattern). The key is the namespaced
    name, or the full route for an unnamed pattern."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern, prefix + str(pattern.pattern), ns)
        else:
            assert isinstance(pattern, URLPattern)
            route = prefix + str(pattern.pattern)
            if pattern.name:
                yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), route, pattern
            else:
                yield route, route, pattern


def project_urls() -> dict[str, str]:
    return {key: route for key, route, _pattern in walk(get_resolver())}


# Coverage: nothing without an entry -------------------------------------------------------------


def missing_entries() -> list[str]:
    cases = all_cases()
    return sorted(f"{key}  ({route})" for key, route in project_urls().items() if key not in cases)


def test_every_url_has_an_entry():
    missing = missing_entries()
    assert not missing, "URLs without an entry in tests/security/test_permission_matrix.py:\n" + "\n".join(missing)


# The project's URLs plus one nobody has classified, to show the check above catches it.
urlpatterns = [*__import__("config.urls", fromlist=["urlpatterns"]).urlpatterns,
               path("brand-new/", lambda request: None, name="brand_new")]


def test_a_new_url_without_an_entry_is_caught():
    with override_settings(ROOT_URLCONF=__name__):
        assert missing_entries() == ["brand_new  (brand-new/)"]


def test_no_entry_for_a_url_that_is_gone():
    stale = sorted(set(all_cases()) - set(project_urls()))
    assert not stale, f"entries for URLs that no longer exist: {stale}"


def test_every_registered_model_has_rules():
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert registered == set(ADMIN_MODELS), (
        f"missing: {sorted(registered - set(ADMIN_MODELS))}, stale: {sorted(set(ADMIN_MODELS) - registered)}")


def test_every_admin_action_has_an_entry():
    actions = {(m._meta.label_lower, name) for m, ma in admin.site._registry.items()
               for _func, name, _desc in ma._get_base_actions()}
    assert actions == set(ADMIN_ACTIONS), (
        f"without an entry: {sorted(actions - set(ADMIN_ACTIONS))}; stale: {sorted(set(ADMIN_ACTIONS) - actions)}")


# The matrix itself ------------------------------------------------------------------------------


@pytest.fixture
def users(operator, supervisor, make_user):
    root = make_user("root", is_staff=True, is_superuser=True)
    return {"anonymous": None, "operator": operator, "supervisor": supervisor, "superuser": root}


@pytest.fixture
def objects(sim, users, make_user):
    """One object of each kind the URLs need, owned by nobody under test."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.contenttypes.models import ContentType
    from django_q.models import OrmQ, Schedule, Task

    from topups.models import Batch

    owner = make_user("owner", "Operators")
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                   actor=Actor.user(owner))
    now = timezone.now()
    access = {"user_agent": "ua", "ip_address": "10.0.0.1", "username": "x", "http_accept": "*/*",
              "path_info": "/login/"}
    task = {"name": "t", "func": "math.floor", "started": now, "stopped": now}
    ledger_row = LedgerRow.objects.create(api_id="a" * 24, type="ADSL", amount=Decimal(980), time=now)
    ledger_flag = LedgerFlag.objects.create(key="matrix", kind="debit_without_order", day=now.date(), row=ledger_row)
    pks = {
        "order": order.pk,
        "claim_token": claims.live_link(order, language="en").token,
        "batch": Batch.objects.create(file_name="orders.csv", created_by=owner).pk,
        "user": owner.pk,
        "order_ct": ContentType.objects.get_for_model(Order).pk,
        "auth.group": Group.objects.get(name="Operators").pk,
        "auth.user": owner.pk,
        "axes.accessattempt": AccessAttempt.objects.create(**access, get_data="", post_data="",
                                                           failures_since_start=1).pk,
        "axes.accesslog": AccessLog.objects.create(**access).pk,
        "axes.accessfailurelog": AccessFailureLog.objects.create(**access).pk,
        "django_q.schedule": Schedule.objects.create(name="matrix", func="math.floor").pk,
        "django_q.success": Task.objects.create(id="a" * 32, success=True, **task).pk,
        "django_q.failure": Task.objects.create(id="b" * 32, success=False, **task).pk,
        "django_q.ormq": OrmQ.objects.create(key="matrix", payload="x").pk if "orm" in settings.Q_CLUSTER else None,
        "topups.order": order.pk,
        "topups.product": ProductFactory().pk,
        "topups.apiaccount": ApiAccount.objects.get_or_create(key_fingerprint="f" * 16)[0].pk,
        "topups.mobileplan": MobilePlan.objects.create(code="PREPAID_DJEZZY", kind="dynamic").pk,
        "topups.batch": Batch.objects.create(file_name="admin.csv", created_by=owner).pk,
        "topups.auditevent": AuditEvent.objects.create(action="export", actor_label="owner").pk,
        "topups.ledgerrow": ledger_row.pk,
        "topups.ledgerflag": ledger_flag.pk,
        "ledger_flag": ledger_flag.pk,
        "till": Till.objects.create(cashier=owner, opening_cash=Decimal(0)).pk,
        "topups.pricerule": PriceRule.objects.create(line_type="", value=Decimal(0)).pk,
        "topups.till": Till.objects.create(cashier=users["supervisor"], opening_cash=Decimal(0),
                                           status="closed").pk,
        "topups.cardinstructions": CardInstructions.objects.create(line_type="ADSL", language="en", text="x").pk,
        "topups.giftproduct": GiftProduct.objects.create(product_id="507f1f77bcf86cd799439011", title="PSN").pk,
    }
    return pks


def reverse_case(key: str, case: Case, pks: dict) -> str:
    kwargs = {name: pks.get(value, value) for name, value in case.kwargs.items()}
    if "/" in key or "(" in key:  # an unnamed pattern: fill its route by hand
        if "<path:object_id>" in key:
            url = "/" + key.replace("<path:object_id>", str(kwargs["object_id"]))
        else:
            url = "/admin/" + kwargs["url"]
    else:
        url = reverse(key, kwargs=kwargs)
    return url + case.query.format(**pks)


def check(response, expected, role: str, key: str) -> None:
    where = f"{key} as {role}"
    location = response.get("Location", "")
    if expected == LOGIN:
        assert response.status_code == 302 and location.startswith(reverse("login") + "?"), (where, location)
    elif expected == REDIRECT:
        assert response.status_code == 302, (where, response.status_code)
    elif expected == ADMIN_LOGIN:
        assert response.status_code == 302 and location.startswith(reverse("admin:login") + "?"), (
            where, response.status_code, location)
    else:
        assert response.status_code == expected, (where, response.status_code, location)
        if expected == 302:
            assert "login" not in location, (where, location)


def failed_cases(cases: dict[str, Case], role: str, client, users, objects) -> list[str]:
    failures = []
    for key, case in sorted(cases.items()):
        client.logout()
        if users[role] is not None:
            client.force_login(users[role])
        url = reverse_case(key, case, objects)
        response = getattr(client, case.method)(url, case.data)
        try:
            check(response, case.expect[role], role, key)
        except AssertionError as exc:
            failures.append(str(exc))
    return failures


@pytest.mark.parametrize("role", ROLES)
def test_matrix(role, client, users, objects):
    failures = failed_cases(all_cases(), role, client, users, objects)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ["operator", "supervisor", "superuser"])
def test_admin_actions_per_role(role, users):
    request = RequestFactory().get("/admin/")
    request.user = users[role]
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        # Actions are offered on the changelist: a role that cannot open it gets none.
        reachable = request.user.is_staff and model_admin.has_view_or_change_permission(request)
        offered = set(model_admin.get_actions(request)) if reachable else set()
        expected = {name for (lbl, name), allowed in ADMIN_ACTIONS.items() if lbl == label and role in allowed}
        assert offered == expected, (label, role, offered, expected)


@pytest.mark.parametrize("role", ROLES)
def test_posted_forms(role, client, users, objects):
    failures = failed_cases(POSTED, role, client, users, objects)
    assert not failures, "\n".join(failures)
