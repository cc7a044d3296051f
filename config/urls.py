from django.contrib import admin
from django.urls import include, path

from topups.views.account import set_language

urlpatterns = [
    # Saves the choice on the user's account as well as in the cookie.
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("topups.urls")),
]
