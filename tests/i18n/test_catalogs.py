"""French and Arabic catalogs are complete and compiled: no empty or fuzzy entry, .mo up to date."""

import ast
import gettext
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"


def entries(po: Path):
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                fields[current] += ast.literal_eval(line)
                continue
            current, _, value = line.partition(" ")
            fields[current] = ast.literal_eval(value)
        if fields.get("msgid"):
            yield block, fields


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_catalog_is_complete(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    missing = [f["msgid"] for block, f in entries(po)
               if "#, fuzzy" in block or any(not v for k, v in f.items() if k.startswith("msgstr"))]
    assert missing == []
    with po.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = [f["msgid"] for _block, f in entries(po)
             if "msgstr" in f and "msgctxt" not in f and compiled.gettext(f["msgid"]) != f["msgstr"]]
    assert stale == [], "run: manage.py compilemessages --ignore=.venv"


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_model_has_translated_singular_and_plural_names(language):
    """The admin's titles and messages: without verbose_name_plural Django adds an "s" to the
    translated singular («طلبs», "Compte APIs")."""
    from django.apps import apps
    from django.utils import translation

    models = [m for config in apps.get_app_configs() if config.name == "topups" for m in config.get_models()]
    assert len(models) >= 7
    wrong = []
    for model in models:
        meta = model._meta
        if "verbose_name_plural" not in meta.original_attrs:
            wrong.append((model.__name__, "no verbose_name_plural"))
            continue
        with translation.override("en"):
            english = (str(meta.verbose_name), str(meta.verbose_name_plural))
        with translation.override(language):
            translated = (str(meta.verbose_name), str(meta.verbose_name_plural))
        if translated[0] == english[0] or translated[1] == english[1]:
            wrong.append((model.__name__, translated))
    assert wrong == []
