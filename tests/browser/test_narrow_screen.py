"""Every page on a 360 px phone, in English, French and Arabic, as a cashier, a supervisor and the
owner: nothing sticks out sideways (the page is never wider than the screen) and the menu shows
every entry whole. Screenshots go to test-artifacts/screenshots/narrow-*.png."""

from __future__ import annotations

from decimal import Decimal

import pytest

from topups.lines.mobile import plans as mobile
from topups.models import Till
from topups.services import batches, orders, preferences, tills
from topups.services.actors import Actor

from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PHONE = {"width": 360, "height": 740}

# The pages each role opens from the menu (and one of each detail page).
OPERATOR_PAGES = ["/", "/orders/new/", "/orders/new/?service=mobile", "/orders/", "/orders/{order}/", "/till/",
                  "/tills/{till}/"]
SUPERVISOR_PAGES = [*OPERATOR_PAGES, "/batches/", "/batches/new/", "/batches/{batch}/", "/ledger/", "/tills/",
                    "/prices/", "/reports/", "/admin/", "/admin/topups/order/",
                    "/admin/topups/order/{order}/change/", "/admin/topups/order/add/",
                    "/admin/topups/order/{order}/settle/"]

# What makes a page wider than the screen, with the element that sticks out (for the failure message).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    // Inside a scrolling box (a wide table's wrapper) an element may be wider: the page is not.
    let clipped = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (['auto', 'scroll', 'hidden'].includes(style.overflowX)) { clipped = true; break; }
    }
    if (!clipped && (box.right > width + 1 || box.left < -1)) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
}"""


@pytest.fixture
def shop_day(priced_shop, operator, supervisor, make_user):
    """A shop with something on every page: an order, a bulk file, a closed cash session."""
    assert mobile.sync_plans().ok
    owner = make_user("owner", is_staff=True, is_superuser=True)
    tills.open_till(actor=Actor.user(operator), opening_cash="0")
    order, _ = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                   actor=Actor.user(operator), send=False)
    till = Till.objects.get()
    tills.close_till(till_id=till.pk, counted_cash="950", actor=Actor.user(operator),
                     note="50 DA given back to a customer by hand before the refund came through")
    # Reopened, closed again with its explanation and approved with a note: the till page lists
    # the earlier close with both notes beside its figures.
    tills.approve_till(till_id=till.pk, actor=Actor.user(supervisor), note="Checked with the drawer's log")
    tills.reopen_till(till_id=till.pk, actor=Actor.user(owner))
    tills.close_till(till_id=till.pk, counted_cash="1000", actor=Actor.user(operator),
                     note="Recounted with the supervisor: the 50 DA were in the second drawer")
    tills.approve_till(till_id=till.pk, actor=Actor.user(supervisor), note="Recount checked")
    tills.open_till(actor=Actor.user(operator), opening_cash="0")  # the cashier's page shows the close form
    batch = batches.preview_batch(file_name="friday-orders.csv", actor=Actor.user(supervisor),
                                  data=b"type,number,value,ref,note\n"
                                  b"ADSL,036362601,1000,R1,a long note for the shop's accountant\n")
    return {"order": order.pk, "till": till.pk, "batch": batch.pk, "owner": owner}


def overflow_report(page, live_server, paths, ids) -> list[str]:
    wrong = []
    for path in paths:
        page.goto(live_server.url + path.format(**ids))
        found = page.evaluate(OVERFLOW)
        if found["scroll"] > found["width"] or found["out"]:
            wrong.append(f"{path}: page {found['scroll']} px on {found['width']} px; {found['out']}")
    return wrong


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
@pytest.mark.parametrize("role", ["operator", "supervisor", "owner"])
def test_no_page_is_wider_than_a_phone(chromium, live_server, shop_day, operator, supervisor, role, language, shot):
    user = {"operator": operator, "supervisor": supervisor, "owner": shop_day["owner"]}[role]
    preferences.save_language(user=user, language=language)
    context = chromium.new_context(viewport=PHONE, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, live_server, user.username, "pw-" + user.username)
        assert page.evaluate("document.documentElement.lang") == language
        # The menu: every entry whole and on the screen (none cut like "Rapp…").
        entries = page.evaluate("""() => [...document.querySelectorAll('.topbar nav a')].map(a => {
            const box = a.getBoundingClientRect();
            return {text: a.textContent.trim(), left: box.left, right: box.right, full: a.scrollWidth <= a.clientWidth + 1};
        })""")
        assert entries
        width = PHONE["width"]
        assert [e["text"] for e in entries if e["left"] < 0 or e["right"] > width or not e["full"]] == []
        shot(page, f"narrow-home-{role}-{language}")
        paths = OPERATOR_PAGES if role == "operator" else SUPERVISOR_PAGES
        ids = {"order": shop_day["order"], "batch": shop_day["batch"], "till": shop_day["till"]}
        assert overflow_report(page, live_server, paths, ids) == []
        if role == "supervisor":
            page.goto(live_server.url + f"/batches/{shop_day['batch']}/")
            shot(page, f"narrow-batch-{language}")
        if role == "operator":  # a cashier's day on a phone: the counter, an order, the closed session
            for name, path in (("counter", "/orders/new/"), ("counter-flexy", "/orders/new/?service=mobile"),
                               ("order", "/orders/{order}/"), ("till", "/tills/{till}/")):
                page.goto(live_server.url + path.format(**ids))
                shot(page, f"narrow-{name}-operator-{language}")
    finally:
        context.close()

