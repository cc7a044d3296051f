"""Database queries for one order entered at the counter: the form's POST (create the order and
send it, tasks inline) and then the order page, against the in-process simulator over HTTP.

What matters is the count, not the time: a form order should read each row once or twice, not
seven times. Usage: ``python bench/order_queries.py [--orders 5] [--sql]``; prints the counts and writes
bench/out/order_queries.json.
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter

from common import migrate, point_app_at, setup, staff_user, write_json

setup("bench-order-queries", sync=True)

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from topups.lines.internet import catalog  # noqa: E402
from topups.services.account import refresh_account  # noqa: E402
from topups.simulator.testing import serve_in_thread  # noqa: E402

NUMBERS = ["036362600", "036362601", "036362602", "036362603", "036362604", "036362605"]


def tables(queries: list[dict]) -> dict[str, int]:
    """How many queries touched each table (by the first quoted name after FROM/INTO/UPDATE)."""
    counts: Counter[str] = Counter()
    for query in queries:
        sql = query["sql"]
        for keyword in ("FROM ", "INTO ", "UPDATE "):
            at = sql.find(keyword)
            if at >= 0:
                counts[sql[at + len(keyword):].split()[0].strip('"')] += 1
                break
        else:
            counts[sql.split()[0]] += 1
    return dict(counts.most_common())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=5)
    parser.add_argument("--sql", action="store_true", help="print the last POST's queries")
    args = parser.parse_args()
    setup_test_environment()
    migrate()
    user = staff_user("bench-operator", group="Operators")
    keys = {"bench-key": {"type": "SANDBOX", "scope": "READ-WRITE", "allowed_ips": []}}
    with serve_in_thread(keys=keys) as server:
        from django.conf import settings

        settings.ONECLICKDZ_API_KEY = "bench-key"
        point_app_at(server)
        catalog.sync_catalog()
        refresh_account()
        client = Client()
        client.force_login(user)
        posts, pages, last = [], [], []
        for index in range(args.orders):
            form = client.get("/orders/new/")
            ref = form.context["form"].initial["ref"]
            data = {"line_type": "ADSL", "number": NUMBERS[index % len(NUMBERS)], "value": "ADSL:1000",
                    "ref": ref}
            with CaptureQueriesContext(connection) as post:
                response = client.post("/orders/new/", data)
            assert response.status_code == 302, response.status_code
            with CaptureQueriesContext(connection) as page:
                assert client.get(response["Location"]).status_code == 200
            posts.append(len(post.captured_queries))
            pages.append(len(page.captured_queries))
            last = post.captured_queries
    result = {
        "orders": args.orders,
        "post_queries_median": statistics.median(posts),
        "page_queries_median": statistics.median(pages),
        "post_queries": posts,
        "post_tables": tables(last),
    }
    print(f"form POST (create + send): median {result['post_queries_median']} queries over {args.orders} orders")
    print(f"order page: median {result['page_queries_median']} queries")
    print("last POST, queries per table:", result["post_tables"])
    if args.sql:
        for query in last:
            print(" ", query["sql"][:240])
    write_json("order_queries", result)


if __name__ == "__main__":
    main()
