"""Markdown that reporter text cannot break out of (docs/team-guide.md, "Hostile reports").

report.md is read in editors, Markdown viewers and with `cat`. Whatever a reporter wrote goes into
a fenced code block or a code span whose backtick run is longer than any run inside it, so no
heading, list, link, HTML or closing fence in the text takes effect in CommonMark or GFM; control
and format characters are shown as escapes (crypto/terminal.py), so nothing reaches a terminal
either. Backslashes stay as typed (PoC code is full of them): a note outside the block says how
many characters the tool escaped, and without that note every `\\x1b` in the block is the
reporter's own.
"""

import re
from urllib.parse import quote

from .terminal import escaped_count, safe_for_terminal

_BACKTICKS = re.compile(r"`+")


def shown_block(text: str) -> str:
    """What a fenced block shows of `text`: the text, control and format characters escaped."""
    return safe_for_terminal(text, multiline=True, double_backslashes=False)


def shown_inline(text: str) -> str:
    """What a code span shows of `text`: one line, control and format characters escaped."""
    return safe_for_terminal(text, double_backslashes=False)


def fence(text: str) -> list[str]:
    """Reporter text as a fenced code block (with the escape note before it), then a blank line."""
    shown = shown_block(text)
    ticks = "`" * max(3, _longest_run(shown) + 1)
    return [*_note(escaped_count(text, multiline=True)), f"{ticks}text", shown, ticks, ""]


def code_span(text: str) -> str:
    """Reporter (or manifest) text inline: a code span, or `(empty)` said by the tool."""
    shown = shown_inline(text)
    if not shown:
        return "(empty)"  # an empty code span is no code span at all, but two literal backticks
    ticks = "`" * (_longest_run(shown) + 1)
    # CommonMark strips one space from each end when both ends have one, and a backtick at an end
    # would join the fence: one space on each side keeps the content exactly as shown.
    padded = shown[0] == "`" or shown[-1] == "`" or (shown[0] == shown[-1] == " " and shown.strip(" "))
    pad = " " if padded else ""
    return f"{ticks}{pad}{shown}{pad}{ticks}"


def noted_span(text: str) -> str:
    """`code_span`, followed by the tool's count of escaped characters if there are any."""
    return code_span(text) + _suffix(text)


def file_link(relative: str) -> str:
    """A link to a file the tool wrote: its path as a code span, the destination percent-encoded."""
    return f"[{code_span(relative)}]({quote(relative)}){_suffix(relative)}"


def _note(count: int) -> list[str]:
    if not count:
        return []
    return [
        f"Note from meldpunt-team: {_counted(count)} shown as `\\x..`, `\\u....` or `\\U........` escapes"
        " in the text below; every other backslash in it was typed by the reporter.",
        "",
    ]


def _suffix(text: str) -> str:
    escaped = escaped_count(text)
    return f" ({_counted(escaped)} shown as escapes)" if escaped else ""


def _counted(count: int) -> str:
    return f"{count} control or format character is" if count == 1 else f"{count} control or format characters are"


def _longest_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)
