"""URLs of the staff dashboard. Login and logout keep Django's names ("login", "logout") that
settings.LOGIN_URL and LOGOUT_REDIRECT_URL use; the pages are under the "topups" namespace."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from topups import views, views_batches, views_books, views_ledger, views_mobile

dashboard = [
    path("", views.home, name="home"),
    path("orders/", views.order_list, name="orders"),
    path("orders/new/", views.new_order, name="new_order"),
    path("orders/check-number.json", views.check_number, name="check_number"),
    path("orders/flexy-check.json", views_mobile.flexy_check, name="flexy_check"),
    path("orders/status.json", views.order_statuses, name="order_statuses"),
    path("orders/export.csv", views.order_export, name="order_export"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/status.json", views.order_status, name="order_status"),
    path("orders/<int:pk>/refresh/", views.order_refresh, name="order_refresh"),
    path("orders/<int:pk>/receipt/", views.order_receipt, name="order_receipt"),
    path("batches/", views_batches.batch_list, name="batches"),
    path("batches/new/", views_batches.batch_new, name="batch_new"),
    path("batches/template.csv", views_batches.batch_template, name="batch_template"),
    path("batches/<int:pk>/", views_batches.batch_detail, name="batch"),
    path("batches/<int:pk>/confirm/", views_batches.batch_confirm, name="batch_confirm"),
    path("batches/<int:pk>/status.json", views_batches.batch_status, name="batch_status"),
    path("batches/<int:pk>/results.csv", views_batches.batch_results, name="batch_results"),
    path("ledger/", views_ledger.ledger_day, name="ledger"),
    path("ledger/export.csv", views_ledger.ledger_export, name="ledger_export"),
    path("ledger/flags/<int:pk>/resolve/", views_ledger.ledger_resolve, name="ledger_resolve"),
    path("till/", views_books.my_till, name="my_till"),
    path("tills/", views_books.till_list, name="tills"),
    path("tills/<int:pk>/", views_books.till_detail, name="till"),
    path("tills/<int:pk>/approve/", views_books.till_decide, {"decision": "approve"}, name="till_approve"),
    path("tills/<int:pk>/reopen/", views_books.till_decide, {"decision": "reopen"}, name="till_reopen"),
    path("prices/", views_books.prices, name="prices"),
    path("reports/", views_books.reports, name="reports"),
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz/", views.healthz, name="healthz"),
    path("", include((dashboard, "topups"))),
]
