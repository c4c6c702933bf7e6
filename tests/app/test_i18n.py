"""Every user-facing string is translated into zh-CN, with the same placeholders."""

import re
from collections import Counter
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def msgid(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def test_zh_catalog_covers_every_string_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    extract = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l"]
    sources = [str(ROOT / "app"), str(ROOT / "billing")]
    CommandLineInterface().run([*extract, "-k", "lazy_gettext", "-o", str(pot), *sources])
    with pot.open("rb") as f:
        wanted = {msgid(m) for m in read_po(f) if m.id}
    with (ROOT / "app/translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = {msgid(m): m for m in read_po(f) if m.id}
    missing = wanted - catalog.keys()
    assert not missing, f"run `make translations-update` and translate: {sorted(missing)[:5]}"
    for key in wanted:
        message = catalog[key]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, f"untranslated: {key!r}"
        for text in strings:
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(key)), key


def test_each_string_is_translated_once_and_each_entry_is_well_formed():
    """babel keeps the first of two translations of a string and drops a stray second msgstr
    silently; gettext's msgfmt refuses both."""
    text = (ROOT / "app/translations/zh/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    ids = Counter(re.findall(r'^msgid (".+")$', text, re.MULTILINE))
    assert [msgid for msgid, count in ids.items() if count > 1] == []
    assert not re.search(r'^msgstr .*\n(?:".*"\n)*msgstr ', text, re.MULTILINE)
