"""URLs of the staff dashboard. Login and logout keep Django's names ("login", "logout") that
settings.LOGIN_URL and LOGOUT_REDIRECT_URL use; the pages are under the "topups" namespace."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from topups import views

dashboard = [
    path("", views.home, name="home"),
    path("orders/", views.order_list, name="orders"),
    path("orders/new/", views.new_order, name="new_order"),
    path("orders/check-number.json", views.check_number, name="check_number"),
    path("orders/status.json", views.order_statuses, name="order_statuses"),
    path("orders/export.csv", views.order_export, name="order_export"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/status.json", views.order_status, name="order_status"),
    path("orders/<int:pk>/refresh/", views.order_refresh, name="order_refresh"),
    path("orders/<int:pk>/receipt/", views.order_receipt, name="order_receipt"),
]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include((dashboard, "topups"))),
]
