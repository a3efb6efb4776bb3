"""The browser names a decrypted attachment as the server would: static/js/mailbox.mjs `safeName`
gives what crypto/names.py `safe_name` gives, for hostile names and for generated ones.

The built bundle runs in Debian's Chromium on a page of its own (tests/test_identity_browser.py);
`globalThis.Meldpunt.safeName` is the function the mailbox uses for its download links.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.names import MAX_NAME_BYTES, safe_name

from .browser import chromium
from .test_identity_browser import _bundle_page

pytestmark = pytest.mark.browser

LONG = MAX_NAME_BYTES + 40
HOSTILE = [
    # Empty, or nothing left once cleaned: the fallback.
    "",
    " ",
    ".",
    "..",
    "...",
    " . . ",
    "\x00",
    "\u202e",
    "/",
    "\\",
    # Paths: only the last part counts, whichever separator.
    "../../etc/passwd",
    "..\\..\\Windows\\System32\\drivers\\etc\\hosts",
    "C:\\Users\\team\\evil.exe",
    "a/b\\c.txt",
    "dir/",
    "/absolute/name.pdf",
    "\\\\server\\share\\x.doc",
    # Control characters, terminal escapes, line and paragraph separators.
    "a\x00b.txt",
    "line\nbreak.txt",
    "tab\there.txt",
    "carriage\rreturn.txt",
    "\x1b]52;c;ZXZpbA==\x07clip.txt",
    "\x1b[2J\x1b[Hcleared.txt",
    "del\x7f.txt",
    "c1\x85\x9b.txt",
    "para\u2028graph\u2029.txt",
    # Format characters: bidi overrides and isolates, zero-width ones, a byte-order mark.
    "invoice\u202egpj.exe",
    "\u2066isolated\u2069.txt",
    "zero\u200bwidth\u200d.txt",
    "\ufeffbom.txt",
    "e\u200b\u0301.txt",  # the zero-width space goes, then the accent composes: é
    # Private use and unassigned code points.
    "private\ue000\U000f0000.txt",
    "unassigned\u0378\U000e0080.txt",
    # What Windows refuses, and what a shell could take for an option.
    'a<b>c:d"e|f?g*h.txt',
    "-rf",
    "--help.txt",
    "CON",
    "con.txt",
    "Con .tar.gz",
    " aux.txt",
    "NUL.",
    "LPT1",
    "lpt¹.log",
    "COM²",
    "CONIN$",
    "clock$.x",
    "console.txt",
    "İcon.txt",
    # Dots and spaces at the ends.
    ".hidden",
    "name.",
    "  name  ",
    "...name...",
    ". .name. .",
    # Composition and case.
    "e\u0301.txt",
    "\u1100\u1161\u11a8.txt",  # Hangul jamo: one syllable in NFC
    "Ωmega ſ K.txt",
    # Long names, in bytes: multibyte, with and without an extension, cut inside a character.
    "a" * LONG,
    "a" * (MAX_NAME_BYTES - 1) + "é",
    "a" * MAX_NAME_BYTES + ".txt",
    "é" * LONG,
    "日本語" * 100 + ".pdf",
    "😀" * 100,
    "😀" * 60 + ".😀😀😀😀",  # an extension of 16 bytes: kept
    "😀" * 60 + ".😀😀😀😀😀",  # of 20 bytes: part of the stem
    "e\u0301" * 120 + ".txt",  # NFC shortens what the byte cut left
    "e" + "\u0301" * 300,
    "a" * 195 + "\u1100\u1161\u11a8" * 10,
    "x" * 150 + " . . . " * 10 + ".txt",
    "a " * 150 + ".txt",
    "." * 300 + "name",
    "name." + "x" * 300,
    "\u202e" * 300 + "short.txt",
]


@pytest.fixture(scope="module")
def page():
    with chromium() as context:
        page = _bundle_page(context, "meldpunt.js")
        yield page
        page.close()


def _browser_names(page, names: list[str]) -> list[str]:
    return page.evaluate("(names) => names.map((name) => globalThis.Meldpunt.safeName(name))", names)


def test_hostile_names_are_made_safe_as_the_server_makes_them(page):
    expected = [safe_name(name) for name in HOSTILE]
    assert _browser_names(page, HOSTILE) == expected
    # The list reaches every rule: the fallback, the device prefix and the byte limit among them.
    assert "attachment" in expected
    assert "_CON" in expected
    assert any(len(name.encode()) == MAX_NAME_BYTES for name in expected)


def test_a_missing_name_falls_back_as_on_the_server(page):
    missing = page.evaluate("() => [null, undefined].map((name) => globalThis.Meldpunt.safeName(name))")
    assert missing == [safe_name(None)] * 2


# Code points Python's Unicode database (Python 3.11: Unicode 14) leaves unassigned are left out:
# the browser's may assign them since. Lone surrogates cannot travel to the page as text.
NAME_CHARACTERS = st.characters(exclude_categories=("Cn", "Cs"))
ALPHABET = st.one_of(NAME_CHARACTERS, st.sampled_from(list(' ./\\-<>:"|?*\u0301\u200b\u202e\x1bé日😀')))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(st.text(ALPHABET, max_size=260), min_size=50, max_size=50))
def test_generated_names_agree(page, batch):
    answers = _browser_names(page, batch)
    assert [(name, js) for name, js in zip(batch, answers, strict=True) if js != safe_name(name)] == []
