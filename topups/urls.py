"""URLs of the staff dashboard. Login and logout keep Django's names ("login", "logout") that
settings.LOGIN_URL and LOGOUT_REDIRECT_URL use; the pages are under the "topups" namespace."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from topups import lines
from topups.views import account, batches, books, claims, home, ledger, orders, waiting

dashboard = [
    path("", home.home, name="home"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/new/", orders.new_order, name="new_order"),
    path("orders/new/<slug:line>/", orders.new_order, name="new_order_line"),
    *(pattern for line in lines.all_lines() for pattern in line.urls()),  # each line's own checks
    path("orders/status.json", orders.order_statuses, name="order_statuses"),
    path("orders/export.csv", orders.order_export, name="order_export"),
    path("orders/<int:pk>/", orders.order_detail, name="order"),
    path("orders/<int:pk>/status.json", orders.order_status, name="order_status"),
    path("orders/<int:pk>/refresh/", orders.order_refresh, name="order_refresh"),
    path("orders/<int:pk>/receipt/", orders.order_receipt, name="order_receipt"),
    path("orders/<int:pk>/claim/contact/", claims.claim_contact, name="claim_contact"),
    path("orders/<int:pk>/claim/revoke/", claims.claim_revoke, name="claim_revoke"),
    path("waiting/", waiting.waiting_list, name="waiting"),
    path("waiting/<int:pk>/notify/", waiting.waiting_notify, name="waiting_notify"),
    path("batches/", batches.batch_list, name="batches"),
    path("batches/new/", batches.batch_new, name="batch_new"),
    path("batches/template.csv", batches.batch_template, name="batch_template"),
    path("batches/<int:pk>/", batches.batch_detail, name="batch"),
    path("batches/<int:pk>/confirm/", batches.batch_confirm, name="batch_confirm"),
    path("batches/<int:pk>/status.json", batches.batch_status, name="batch_status"),
    path("batches/<int:pk>/results.csv", batches.batch_results, name="batch_results"),
    path("ledger/", ledger.ledger_day, name="ledger"),
    path("ledger/export.csv", ledger.ledger_export, name="ledger_export"),
    path("ledger/flags/<int:pk>/resolve/", ledger.ledger_resolve, name="ledger_resolve"),
    path("till/", books.my_till, name="my_till"),
    path("tills/", books.till_list, name="tills"),
    path("tills/<int:pk>/", books.till_detail, name="till"),
    path("tills/<int:pk>/approve/", books.till_decide, {"decision": "approve"}, name="till_approve"),
    path("tills/<int:pk>/reopen/", books.till_decide, {"decision": "reopen"}, name="till_reopen"),
    path("prices/", books.prices, name="prices"),
    path("reports/", books.reports, name="reports"),
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz/", account.healthz, name="healthz"),
    # The customer's page behind a receipt's claim link: public, outside the dashboard.
    path("c/<str:token>/", claims.claim_page, name="claim"),
    path("", include((dashboard, "topups"))),
]
