"""Issue 13: the catalogue is complete and current, checked on every run (`make test`, .ci/run).
The template (app/translations/messages.pot) must hold exactly the messages the sources have now,
extracted with the Makefile's own options; the Dutch catalogue must translate every one of them,
with no fuzzy entry and no obsolete one, and keep each placeholder. After a change of text:
`make messages`, translate what is new in app/translations/nl/LC_MESSAGES/messages.po, `make
translations`."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from .test_pseudo_locale import extract_pot

ROOT = Path(__file__).parent.parent
POT = ROOT / "app/translations/messages.pot"
DUTCH = ROOT / "app/translations/nl/LC_MESSAGES/messages.po"
PLACEHOLDERS = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def _read(path: Path):
    with path.open("rb") as source:
        return read_po(source)


def _messages(catalogue) -> dict:
    """Each message by id and context, with what the extraction says about it (not where it is:
    a line moving is not a change of text)."""
    return {
        (message.id, message.context): (tuple(sorted(message.flags)), message.auto_comments)
        for message in catalogue
        if message.id
    }


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    return _read(extract_pot(tmp_path_factory.mktemp("extract") / "messages.pot"))


def test_the_template_is_current(extracted):
    now, committed = _messages(extracted), _messages(_read(POT))
    assert sorted(set(now) - set(committed), key=str) == [], "new messages: run `make messages`"
    assert sorted(set(committed) - set(now), key=str) == [], "messages no longer used: run `make messages`"
    assert now == committed, "run `make messages`"


def test_every_message_is_translated_into_dutch(extracted):
    dutch = _read(DUTCH)
    wanted = {(message.id, message.context) for message in extracted if message.id}
    present = {(message.id, message.context): message for message in dutch if message.id}
    assert sorted(wanted - set(present), key=str) == [], "run `make messages` and translate"
    assert sorted(set(present) - wanted, key=str) == [], "obsolete entries: run `make messages`"
    assert [key for key, message in present.items() if message.fuzzy] == []
    assert dutch.obsolete == {}
    for key, message in present.items():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {key[0]!r}"
        for string in strings:
            assert set(PLACEHOLDERS.findall(ids[-1])) == set(PLACEHOLDERS.findall(string)), key[0]
