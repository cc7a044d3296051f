"""A bulk file's flexy row: the number, plan and amount as the counter checks them."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from topups.keys import value_text
from topups.lines.mobile import plans as mobile


def check_row(row: dict, formula: set, plans: dict) -> None:
    """A mobile top-up row: the number, plan and amount as the counter checks them (check_mobile)."""
    cells, errors = row["input"], row["errors"]
    if not cells["number"] or not cells["plan_code"] or formula & {"number", "value", "plan_code"}:
        return
    try:
        checked = mobile.check_mobile(cells["plan_code"], cells["number"], cells["value"] or None,
                                      plan=plans.get(cells["plan_code"].strip()))
    except ValidationError:
        errors.append(["bad_mobile", {"value": cells["number"][:40]}])
        return
    except mobile.MobileInputError as exc:
        errors.append(["mobile_refused", {"message": str(exc.note)[:255], "code": exc.note.msgid,
                                          "params": exc.note.params}])
        return
    row["number"], row["plan_code"], row["value"] = checked.number, checked.plan.code, value_text(checked.amount)
    row["cost"] = None if checked.cost is None else str(checked.cost)
    if checked.cost is None:
        row["warnings"].append(["cost_unknown", {"plan": checked.plan.code}])
