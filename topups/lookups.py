"""``in`` on integer columns, bounded like Django's own ``exact``: a value that is not an integer
within the column's range matches nothing instead of failing the query.

Django (since 5.0) turns ``id=99999999999999999999`` into "no match", but ``id__in=[…]`` with
the same value still reaches the driver (SQLite: OverflowError), and a value such as ``"²"`` (a
digit to ``str.isdigit``, not to ``int``) raises ValueError while the query is built. Both come
from hand-made input: an admin list's selected rows (``_selected_action``), a many-to-many field
of an admin form. One rule for every such lookup keeps them from becoming a 500: the admin's
action then acts on nothing, the form says "Select a valid choice".
"""

from __future__ import annotations

from django.db.models import IntegerField
from django.db.models.lookups import In


@IntegerField.register_lookup  # AutoField and BigAutoField included: they are IntegerFields
class BoundedIntegerIn(In):
    def get_prep_lookup(self):
        if self.rhs_is_direct_value() and self.prepare_rhs:
            self.rhs = [value for value in self.rhs if _prepares(self.lhs.output_field, value)]
        return super().get_prep_lookup()

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
            self.rhs = [value for value in self.rhs if not isinstance(value, int)
                        or ((low is None or value >= low) and (high is None or value <= high))]
        return super().process_rhs(compiler, connection)


def _prepares(field, value) -> bool:
    if value is None or hasattr(value, "resolve_expression"):
        return True
    try:
        field.get_prep_value(value)
    except (TypeError, ValueError):
        return False
    return True
