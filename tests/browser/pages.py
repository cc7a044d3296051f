"""Steps the browser tests share."""

from __future__ import annotations


def log_in(page, live_server, username="olga", password="pw-olga"):
    """Log in through the login page, as staff do (Enter in the password field)."""
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")
