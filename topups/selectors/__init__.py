"""Reads, one module per area: no writes, no service imports.

The names below are handed on so callers may say
``selectors.search_q(...)``; the books' reads are ``selectors.books``."""

from .account import (  # noqa: F401
    IN_FLIGHT,
    UNREACHABLE,
    AccountState,
    account_state,
    available_products,
    current_account,
    current_fingerprint,
    out_of_stock_products,
    spendable_balance,
    unreachable_since,
)
from .batches import (  # noqa: F401
    FAILED_STATUSES,
    RESULT_FIELDS,
    BatchProgress,
    batch_detail,
    batch_progress,
    batch_result_rows,
    recent_batches,
)
from .home import (  # noqa: F401
    CashierDay,
    DaySummary,
    ShopOverview,
    recent_orders,
    shop_overview,
    shop_recent_orders,
    today_summary,
)
from .orders import (  # noqa: F401
    CODE_MIN,
    EXPORT_FIELDS,
    HARMLESS_STATUSES,
    LIST_FIELDS,
    PARTIAL_MIN,
    STATUS_FIELDS,
    OrderFilters,
    filtered_orders,
    is_card_code,
    order_detail,
    order_events,
    order_export_rows,
    order_page,
    order_status_row,
    order_status_rows,
    orders_by_code,
    recent_by_line,
    search_q,
    staff_choices,
    status_counts,
)
from .visibility import (  # noqa: F401
    can_refresh,
    code_as_shown,
)
