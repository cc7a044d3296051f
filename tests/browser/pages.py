"""Steps the browser tests share."""

from __future__ import annotations


def log_in(page, live_server, username="olga", password="pw-olga"):
    """Log in through the login page, as staff do (Enter in the password field)."""
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")


def submit_card_order(page, live_server, number: str, value: str = "ADSL:1000", line_type: str = "ADSL") -> None:
    """Fill the new-order form for an internet card and send it, waiting for the answer page."""
    page.goto(live_server.url + "/orders/new/")
    page.check(f"input[name=line_type][value='{line_type}']")
    page.fill("#id_number", number)
    page.select_option("#id_value", value)
    with page.expect_navigation():
        page.click("button[type=submit].primary")
