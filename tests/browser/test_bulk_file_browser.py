"""A bulk file as a shop writes one, in French at 1366 px: short labels R1…R16 and a note starting
with + are accepted, every amount of the preview is written the French way, the Check column is
whole on the screen and a long note stays in its cell; once sent, an order is found by its label."""

from __future__ import annotations

import re

import pytest

from topups.models import Order
from topups.services import preferences, tills
from topups.services.actors import Actor

from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
FRENCH_AMOUNT = re.compile(r"^\d{1,3}(?:[\u202f\u00a0 ]\d{3})*,\d\d DA$")


def shop_file() -> bytes:
    rows = [f"ADSL,0363626{index:02d},1000,R{index},client {index}" for index in range(1, 17)]
    rows[1] = "ADSL,036362602,1000,R2,+ 2 cartes pour le voisin"
    rows[2] = "ADSL,036362603,500,R3,−50 DA de remise"
    rows[3] = "ADSL,036362604,1000,R4," + "notesansespacepourlecomptable" * 4
    return ("type,number,value,ref,note\n" + "\n".join(rows) + "\n").encode()


def test_a_shops_bulk_file_in_french(page, live_server, priced_shop, supervisor, settings, shot):
    preferences.save_language(user=supervisor, language="fr")
    tills.open_till(actor=Actor.user(supervisor), opening_cash="0")
    log_in(page, live_server, "sam", "pw-sam")
    page.goto(live_server.url + "/batches/new/")
    page.set_input_files("#id_file", files=[{"name": "vendredi.csv", "mimeType": "text/csv", "buffer": shop_file()}])
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    shot(page, "bulk-preview-fr")
    assert page.locator("table.preview tr.row-bad").count() == 0, page.inner_text("table.preview")
    assert page.locator("table.preview tbody tr").count() == 16

    amounts = [text.strip() for text in page.locator("table.preview td.num").all_inner_texts()]
    assert amounts and [a for a in amounts if not FRENCH_AMOUNT.match(a)] == []

    layout = page.evaluate("""() => {
        const wrap = document.querySelector('table.preview').closest('.table-wrap');
        const rows = [...document.querySelectorAll('table.preview tbody tr')].map(tr => {
            const note = tr.querySelector('td.note').getBoundingClientRect();
            const check = tr.querySelector('td.problems').getBoundingClientRect();
            return {noteRight: Math.max(note.right, tr.querySelector('td.note').scrollWidth + note.left),
                    checkLeft: check.left, checkRight: check.right};
        });
        return {wrapRight: wrap.getBoundingClientRect().right, scroll: wrap.scrollWidth, client: wrap.clientWidth,
                viewport: document.documentElement.clientWidth, rows};
    }""")
    assert layout["scroll"] <= layout["client"], layout  # nothing hidden to the side: the Check column is whole
    for row in layout["rows"]:
        assert row["checkRight"] <= layout["wrapRight"] + 1 and row["noteRight"] <= row["checkLeft"] + 1, row

    with page.expect_navigation():
        page.click("form[action$='/confirm/'] button[type=submit]")
    assert Order.objects.count() == 16
    page.goto(live_server.url + "/orders/?q=R7")
    shot(page, "bulk-label-search-fr")
    found = page.locator("table.orders tbody tr")
    assert found.count() == 1 and "036362607" in found.inner_text()
