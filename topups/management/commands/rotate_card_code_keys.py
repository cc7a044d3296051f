"""Re-encrypt every stored card code with the first key of CARD_CODE_KEYS (after a rotation)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from topups.crypto import TOKEN_PREFIX, encrypt_code, fernet, is_current
from topups.models import Order


class Command(BaseCommand):
    help = "Re-encrypt card codes with the current (first) key of CARD_CODE_KEYS; safe to run again."

    def handle(self, *args, **options):
        table = connection.ops.quote_name(Order._meta.db_table)
        done = 0
        with transaction.atomic(), connection.cursor() as cursor:
            # The raw tokens, not the field's clear values: rotate() re-encrypts a token directly.
            cursor.execute(f"SELECT id, card_code FROM {table} WHERE card_code <> ''")
            stale = [(pk, token) for pk, token in cursor.fetchall() if not is_current(token)]
            for pk, token in stale:
                new = (fernet().rotate(token.encode()).decode() if token.startswith(TOKEN_PREFIX)
                       else encrypt_code(token))
                cursor.execute(f"UPDATE {table} SET card_code = %s WHERE id = %s", [new, pk])
                done += 1
        self.stdout.write(f"{done} card codes re-encrypted with the current key.")
