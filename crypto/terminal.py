"""Reporter text made safe for the team's terminal, and for report.md.

A reporter may be an attacker aiming at the security team's offline machine. Anything they wrote
(an attachment's name or type, a field of the report) can hold terminal escape sequences that
retitle the window, fake a "verified OK" line or write the clipboard (OSC 52), and bidi overrides
that make a line read differently from what it is. Before the CLI prints such text, every control
and format character is shown as an escape (`\\x1b`, `\\u202e`), and a backslash as two, so what the
team reads is what the reporter sent, visibly, and nothing the terminal would act on.

Linear and lean, whatever the text: one regular expression finds runs of such characters, and a
run is escaped with one `str.translate`, so a megabyte of NUL bytes costs a few string copies, not
a Python object per character.
"""

import re
import unicodedata
from functools import cache

# Unicode categories a terminal may act on or that change how a line reads: controls (C0, DEL, C1),
# formats (bidi overrides and isolates, zero-width characters), surrogates, private use,
# unassigned code points, and the line and paragraph separators.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# What multi-line text keeps: a line feed and a tab only move the cursor forward. A carriage return
# alone can overwrite a line already shown, so it is escaped unless a line feed follows it (browsers
# send form text with CR LF line ends).
LINE_CHARACTERS = frozenset("\n\t")
_BMP = 0x10000


def safe_for_terminal(text: str, *, multiline: bool = False, double_backslashes: bool = True) -> str:
    """`text` with every character a terminal could act on shown as `\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`.

    `multiline` keeps line feeds and tabs (CR LF becomes LF). `double_backslashes=False` is for
    report.md, where PoC code full of backslashes must stay as typed: there the tool says next to
    the text how many characters it escaped (`escape` counts them), and without that note every
    `\\x1b` in the text was typed by the reporter.
    """
    if double_backslashes:
        text = text.replace("\\", "\\\\")  # before escaping: the escapes' own backslashes stay single
    return escape(text, multiline=multiline)[0]


def escape(text: str, *, multiline: bool = False) -> tuple[str, int]:
    """`text` with unsafe characters escaped (backslashes left as they are), and how many there were."""
    if multiline:
        text = text.replace("\r\n", "\n")
    count = 0

    def shown(match: re.Match) -> str:
        nonlocal count
        run = match.group()
        if ord(run[0]) < _BMP:  # a run of unsafe characters of the Basic Multilingual Plane
            count += len(run)
            return run.translate(_bmp_escapes())
        if unicodedata.category(run) not in UNSAFE_CATEGORIES:
            return run  # an emoji, a rare CJK character: the pattern takes every astral one
        count += 1
        return _escaped(run)

    return _pattern(multiline).sub(shown, text), count


def is_unsafe(char: str, *, multiline: bool = False) -> bool:
    """True for a character `safe_for_terminal` escapes."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES and not (multiline and char in LINE_CHARACTERS)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < _BMP else f"\\U{code:08x}"


@cache
def _bmp_unsafe() -> tuple[int, ...]:
    return tuple(code for code in range(_BMP) if unicodedata.category(chr(code)) in UNSAFE_CATEGORIES)


@cache
def _bmp_escapes() -> dict[int, str]:
    return {code: _escaped(chr(code)) for code in _bmp_unsafe()}


@cache
def _pattern(multiline: bool) -> re.Pattern:
    # A character class of the unsafe Basic Multilingual Plane is a bitmap lookup per character;
    # the many small unassigned ranges of the other planes would make it a list to walk, so every
    # astral character is matched and judged on its own (`shown` above).
    kept = {ord(char) for char in LINE_CHARACTERS} if multiline else set()
    ranges: list[list[int]] = []
    for code in _bmp_unsafe():
        if code in kept:
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    members = "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges
    )
    return re.compile(f"[{members}]+|[\\U00010000-\\U0010ffff]")
