"""Reporter text made safe for the team's terminal.

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


def safe_for_terminal(text: str) -> str:
    shown = []
    for char in text:
        if char == "\\":
            shown.append("\\\\")
        elif unicodedata.category(char) in UNSAFE_CATEGORIES:
            code = ord(char)
            shown.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            shown.append(char)
    return "".join(shown)
