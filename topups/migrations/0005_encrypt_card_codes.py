"""Card codes encrypted at rest, with a keyed digest for exact searches (see topups/crypto.py).

Existing rows are encrypted in place: the field reads a clear value as it is and writes a token.
"""

from django.db import migrations, models

import topups.models
from topups.crypto import card_code_digest

CHUNK = 2000


def encrypt_existing(apps, schema_editor):
    Order = apps.get_model("topups", "Order")
    rows = Order.objects.exclude(card_code="").only("pk", "card_code").order_by("pk")
    batch = []
    for order in rows.iterator(chunk_size=CHUNK):
        order.card_code_digest = card_code_digest(order.card_code)
        batch.append(order)  # card_code was read clear; saving it writes the token
        if len(batch) == CHUNK:
            Order.objects.bulk_update(batch, ["card_code", "card_code_digest"])
            batch = []
    Order.objects.bulk_update(batch, ["card_code", "card_code_digest"])


def decrypt_existing(apps, schema_editor):
    Order = apps.get_model("topups", "Order")
    table = schema_editor.quote_name(Order._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        for pk, code in Order.objects.exclude(card_code="").values_list("pk", "card_code").iterator():
            cursor.execute(f"UPDATE {table} SET card_code = %s WHERE id = %s", [code, pk])


class Migration(migrations.Migration):

    dependencies = [
        ('topups', '0004_batch'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='card_code_digest',
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name='order',
            name='card_code',
            field=topups.models.EncryptedCodeField(blank=True, verbose_name='card code'),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing, elidable=False),
    ]
