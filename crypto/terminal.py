"""Reporter text made safe for the team's terminal, and for report.md.

A reporter may be an attacker aiming at the security team's offline machine. Anything they wrote
(an attachment's name or type, a field of the report) can hold terminal escape sequences that
retitle the window, fake a "verified OK" line or write the clipboard (OSC 52), and bidi overrides
that make a line read differently from what it is. Before the CLI prints such text, every control
and format character is shown as an escape (`\\x1b`, `\\u202e`), and a backslash as two, so what the
team reads is what the reporter sent, visibly, and nothing the terminal would act on.
"""

import unicodedata

# Unicode categories a terminal may act on or that change how a line reads: controls (C0, DEL, C1),
# formats (bidi overrides and isolates, zero-width characters), surrogates, private use,
# unassigned code points, and the line and paragraph separators.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# What multi-line text keeps: a line feed and a tab only move the cursor forward. A carriage return
# alone can overwrite a line already shown, so it is escaped unless a line feed follows it (browsers
# send form text with CR LF line ends).
LINE_CHARACTERS = frozenset("\n\t")


def safe_for_terminal(text: str, *, multiline: bool = False, double_backslashes: bool = True) -> str:
    """`text` with every character a terminal could act on shown as `\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`.

    `multiline` keeps line feeds and tabs (CR LF becomes LF). `double_backslashes=False` is for
    report.md, where PoC code full of backslashes must stay as typed: there the tool says next to
    the text how many characters it escaped (`escaped_count`), and without that note every `\\x1b`
    in the text was typed by the reporter.
    """
    if multiline:
        text = text.replace("\r\n", "\n")
    shown = []
    for char in text:
        if char == "\\" and double_backslashes:
            shown.append("\\\\")
        elif _unsafe(char, multiline):
            code = ord(char)
            shown.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            shown.append(char)
    return "".join(shown)


def escaped_count(text: str, *, multiline: bool = False) -> int:
    """How many characters `safe_for_terminal` shows as escapes in `text`."""
    if multiline:
        text = text.replace("\r\n", "\n")
    return sum(1 for char in text if _unsafe(char, multiline))


def _unsafe(char: str, multiline: bool) -> bool:
    return unicodedata.category(char) in UNSAFE_CATEGORIES and not (multiline and char in LINE_CHARACTERS)
