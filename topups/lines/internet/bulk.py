"""A bulk file's internet card row: its type, number and a value of the cached catalog."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from topups.keys import value_text
from topups.lines.internet import BULK_TYPES
from topups.numbers import normalise_number
from topups.services.batches import parse_value


def check_row(row: dict, formula: set, products: dict) -> None:
    """An internet card row: its type, number and a value of the catalog."""
    cells, errors = row["input"], row["errors"]
    line_type = None
    if cells["type"] and "type" not in formula:
        line_type = BULK_TYPES.get(cells["type"].upper().replace(" ", "").replace("-", ""))
        if line_type is None:
            errors.append(["bad_type", {"value": cells["type"][:40]}])
        else:
            row["line_type"] = line_type.value
    if line_type and cells["number"] and "number" not in formula:
        try:
            row["number"] = normalise_number(line_type, cells["number"])
        except ValidationError:
            errors.append(["bad_number", {"value": cells["number"][:40], "type": line_type.value}])
    if cells["value"] and "value" not in formula:
        value = parse_value(cells["value"])
        if value is None:
            errors.append(["bad_value", {"value": cells["value"][:40]}])
        else:
            row["value"] = value_text(value)
            if line_type:
                product = products.get((line_type.value, value))
                params = {"value": row["value"], "type": line_type.value}
                if product is None:
                    errors.append(["unknown_value", params])
                elif not product.available:
                    errors.append(["out_of_stock", params])
                else:
                    row["cost"] = str(product.cost)
