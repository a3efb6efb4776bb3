"""Reporter text on the team's terminal (crypto/terminal.py): shown, never acted on."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from crypto import Meta, seal_bytes
from crypto.terminal import UNSAFE_CATEGORIES, escape, is_unsafe, safe_for_terminal

from .conftest import TEAM_PASSPHRASE, run_cli


def test_known_answers():
    assert safe_for_terminal("poc.py") == "poc.py"
    assert safe_for_terminal("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07"  # a window title change
    assert safe_for_terminal("\x1b]52;c;ZXZpbA==\x07") == "\\x1b]52;c;ZXZpbA==\\x07"  # OSC 52 clipboard
    assert safe_for_terminal("exe.\u202egnp") == "exe.\\u202egnp"  # a right-to-left override
    assert safe_for_terminal("a\rVerified OK\n") == "a\\x0dVerified OK\\x0a"
    assert safe_for_terminal("\\x1b") == "\\\\x1b"  # a typed escape stays distinguishable from a real one
    assert safe_for_terminal("Straße, 報告") == "Straße, 報告"


@given(st.text())
def test_nothing_a_terminal_acts_on_survives(text):
    shown = safe_for_terminal(text)
    assert all(unicodedata.category(char) not in UNSAFE_CATEGORIES for char in shown)


def test_multiline_text_for_report_md():
    # Line feeds and tabs stay, CR LF is a line end, a lone CR (which overwrites a line) is escaped.
    assert safe_for_terminal("a\r\n\tb\rVerified OK\n", multiline=True) == "a\n\tb\\x0dVerified OK\n"
    assert escape("a\r\n\tb\rc\n", multiline=True)[1] == 1
    assert escape("a\r\n\tb\rc\n")[1] == 5
    # report.md keeps the reporter's backslashes single and counts the escapes instead.
    assert safe_for_terminal("C:\\x1b \x1b", double_backslashes=False) == "C:\\x1b \\x1b"
    assert escape("C:\\x1b \x1b")[1] == 1


@given(st.text(), st.booleans())
def test_without_escapes_the_text_is_unchanged(text, multiline):
    shown = safe_for_terminal(text, multiline=multiline, double_backslashes=False)
    kept = text.replace("\r\n", "\n") if multiline else text
    assert (shown == kept) == (escape(text, multiline=multiline)[1] == 0)
    allowed = "\n\t" if multiline else ""
    assert all(unicodedata.category(char) not in UNSAFE_CATEGORIES or char in allowed for char in shown)


def _one_by_one(text: str, multiline: bool) -> tuple[str, int]:
    """The rule, character by character: what `escape` does with one regular expression."""
    if multiline:
        text = text.replace("\r\n", "\n")
    shown = [
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}")
        if is_unsafe(c, multiline=multiline)
        else c
        for c in text
    ]
    return "".join(shown), sum(is_unsafe(c, multiline=multiline) for c in text)


_any_plane = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
        st.characters(min_codepoint=0x10000),  # emoji, unassigned planes, private use, tags
        st.sampled_from(list("\r\n\t\\\x00\x1b\x7f\x85\u202e\u2028")),
    )
)


@given(_any_plane, st.booleans())
def test_escaping_follows_the_rule_for_every_character(text, multiline):
    assert escape(text, multiline=multiline) == _one_by_one(text, multiline)


def test_decrypt_shows_a_hostile_file_name_escaped(key_dir, team_file_key, tmp_path):
    hostile = "report\x1b]0;pwned\x07\x1b[2K\rVerified OK\u202e.pdf"
    meta = Meta("attachment", name=hostile, type="text/plain\x1b[31m")
    (tmp_path / "item.mpe").write_bytes(seal_bytes(b"content", [team_file_key.public], meta))
    result = run_cli(
        "decrypt",
        "--key",
        key_dir / "team.key",
        "--passphrase-file",
        key_dir / "passphrase",
        "-o",
        tmp_path / "out",
        tmp_path / "item.mpe",
        check=True,
    )
    shown = result.stderr.decode()
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert "\r" not in shown
    assert "\\x1b]0;pwned\\x07" in shown
    assert (tmp_path / "out").read_bytes() == b"content"
    assert TEAM_PASSPHRASE not in shown
