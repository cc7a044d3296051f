"""Secrets that cannot default, and card codes encrypted at rest with rotating keys."""

from __future__ import annotations

import secrets
import subprocess
import sys
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from tests.project.test_settings import ROOT, run_check
from topups.crypto import card_code_digest
from topups.lines.internet import catalog
from topups.models import Order, OrderStatus
from topups.services import orders, sending, sync
from topups.services.actors import Actor

S = OrderStatus
CODE = "123456789012"
PLACEHOLDER = "change-me-to-a-long-random-string-before-going-to-production"


# SECRET_KEY ---------------------------------------------------------------------------------------


def env_example_value(name: str) -> str:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} not in .env.example")


@pytest.mark.parametrize(("label", "key"), [
    ("missing", None), ("empty", ""), ("short", "x7Kp2mQ9vR4tW8yZ"), ("old built-in default", "django-insecure-"
                                                                     "development-key-change-me"),
    (".env.example placeholder", env_example_value("SECRET_KEY")), ("few characters", "ab" * 40),
])
def test_with_debug_off_the_app_refuses_to_start_on_a_weak_secret_key(label, key, monkeypatch):
    overrides = {"DEBUG": "false", "ALLOWED_HOSTS": "topups.example.dz"}
    if key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)  # not in the environment at all
    else:
        overrides["SECRET_KEY"] = key
    result = run_check(**overrides)
    assert result.returncode != 0, label
    assert "SECRET_KEY" in result.stderr and "ImproperlyConfigured" in result.stderr, label


def test_the_env_example_placeholder_is_the_one_refused():
    assert env_example_value("SECRET_KEY") == PLACEHOLDER


def test_with_debug_off_card_code_keys_are_required():
    result = run_check(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), CARD_CODE_KEYS="",
                       ALLOWED_HOSTS="topups.example.dz")
    assert result.returncode != 0 and "CARD_CODE_KEYS" in result.stderr


def test_in_development_the_app_starts_without_secrets():
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true",
           "DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# Encryption at rest -------------------------------------------------------------------------------


def stored(order_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT card_code FROM topups_order WHERE id = %s", [order_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_codes_are_encrypted_in_the_database_and_clear_in_python(sim, operator):
    """Through the real sync: the simulator delivers a code, the row holds a token."""
    assert catalog.sync_catalog().ok
    order = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                actor=Actor.user(operator))[0]
    sending.send_order(order_id=order.pk, actor=Actor.user(operator))
    sim.advance(10)
    sync.refresh_orders([Order.objects.get(pk=order.pk)], actor=Actor("sync"))
    order = Order.objects.get(pk=order.pk)
    assert order.status == S.FULFILLED and order.card_code.isdigit()
    raw = stored(order.pk)
    assert order.card_code not in raw and raw.startswith("gAAAAA")
    assert Order.objects.values_list("card_code", flat=True).get(pk=order.pk) == order.card_code
    # The digest finds it without decrypting; an empty code has none.
    assert Order.objects.get(card_code_digest=card_code_digest(order.card_code)).pk == order.pk
    assert card_code_digest("") == "" and card_code_digest(order.card_code) != card_code_digest(CODE)
    assert Order.objects.exclude(card_code="").count() == 1


@pytest.mark.django_db
def test_every_write_path_keeps_the_digest(operator):
    order = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                actor=Actor.user(operator))[0]
    Order.objects.filter(pk=order.pk).update(card_code=CODE)  # update()
    assert Order.objects.get(card_code_digest=card_code_digest(CODE)).pk == order.pk
    order.refresh_from_db()
    order.card_code = "222233334444"
    Order.objects.bulk_update([order], ["card_code"])  # bulk_update(), as the sync writes
    assert Order.objects.filter(card_code_digest=card_code_digest("222233334444")).exists()
    order.card_code = "555566667777"
    order.save(update_fields=["card_code"])  # save()
    assert Order.objects.filter(card_code_digest=card_code_digest("555566667777")).exists()
    assert stored(order.pk) != "555566667777"


@pytest.mark.django_db
def test_keys_rotate_and_old_tokens_stay_readable(operator, settings):
    order = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                actor=Actor.user(operator))[0]
    Order.objects.filter(pk=order.pk).update(card_code=CODE)
    old_token = stored(order.pk)
    new_key = Fernet.generate_key().decode()
    settings.CARD_CODE_KEYS = [new_key, *settings.CARD_CODE_KEYS]
    assert Order.objects.get(pk=order.pk).card_code == CODE  # the old key still decrypts
    call_command("rotate_card_code_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert stored(order.pk) != old_token
    settings.CARD_CODE_KEYS = [new_key]  # the old key removed
    assert Order.objects.get(pk=order.pk).card_code == CODE
    Fernet(new_key).decrypt(stored(order.pk).encode())


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_clear_rows(operator):
    from django.db.migrations.executor import MigrationExecutor

    order = orders.create_order(line_type="ADSL", number="036362600", value=Decimal(1000),
                                actor=Actor.user(operator))[0]
    executor = MigrationExecutor(connection)
    executor.migrate([("topups", "0004_batch")])  # before encryption: the column holds clear codes
    with connection.cursor() as cursor:
        cursor.execute("UPDATE topups_order SET card_code = %s WHERE id = %s", [CODE, order.pk])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    raw = stored(order.pk)
    assert raw != CODE and raw.startswith("gAAAAA")
    order = Order.objects.get(pk=order.pk)
    assert order.card_code == CODE and order.card_code_digest == card_code_digest(CODE)
