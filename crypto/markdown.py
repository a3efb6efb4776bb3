"""Markdown that reporter text cannot break out of (docs/team-guide.md, "Hostile reports").

report.md is read in editors, Markdown viewers and with `cat`. The rule that holds in all three:
every line of reporter text begins with four spaces, and no line the tool writes begins with a
space. In CommonMark and GFM those lines are an indented code block, which no later line can close
except one the tool writes without indentation, so no heading, list, link, HTML or fence in the
text takes effect; read as plain text, a reporter's "### … · Security team" or "Answer with:" is
visibly indented. Short values inside a tool line (a field's name) are code spans whose backtick
run is longer than any inside them. Control and format characters are shown as escapes
(crypto/terminal.py), so nothing reaches a terminal either. Backslashes stay as typed (PoC code is
full of them): a note outside the block says how many characters the tool escaped, and without
that note every `\\x1b` in the block is the reporter's own.
"""

import re
from urllib.parse import quote

from .terminal import escape

INDENT = "    "
EMPTY = "(empty)"
_BACKTICKS = re.compile(r"`+")
_BLANK = " \t"  # what CommonMark counts as white space on a blank line


def shown_block(text: str) -> str:
    """What a code block shows of `text`: control and format characters escaped, CR LF as LF, and
    no blank lines at the start or end (an indented code block cannot begin or end with one)."""
    return _trimmed(escape(text, multiline=True)[0])


def shown_inline(text: str) -> str:
    """What a code span shows of `text`: one line, control and format characters escaped."""
    return escape(text)[0]


def block(text: str) -> list[str]:
    """Reporter text as Markdown blocks: the escape note if needed, then the text, every line
    indented by four spaces; or `(empty)`, said by the tool, if nothing but blank lines is left.

    Each block is one string (its lines joined by LF); the caller puts a blank line between blocks,
    and must not put one of these right after a list, which would take it in as a paragraph.
    """
    shown, count = escape(text, multiline=True)
    shown = _trimmed(shown)
    if not shown:
        return [*_note(count), EMPTY]
    return [*_note(count), INDENT + shown.replace("\n", "\n" + INDENT)]


def code_span(text: str) -> str:
    """Reporter (or manifest) text inline: a code span, or `(empty)` said by the tool."""
    shown = shown_inline(text)
    if not shown:
        return EMPTY  # an empty code span is no code span at all, but two literal backticks
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


def _trimmed(shown: str) -> str:
    """`shown` without its leading and trailing blank lines, each kept line exactly as it was."""
    first = len(shown) - len(shown.lstrip(_BLANK + "\n"))  # the first character that is not blank
    if first == len(shown):
        return ""
    start = shown.rfind("\n", 0, first) + 1  # where its line begins
    end = shown.find("\n", len(shown.rstrip(_BLANK + "\n")))  # where the last such line ends
    return shown[start : end if end != -1 else len(shown)]


def _note(count: int) -> list[str]:
    if not count:
        return []
    return [
        f"Note from meldpunt-team: {_counted(count)} shown as `\\x..`, `\\u....` or `\\U........` escapes"
        " in the text below; every other backslash in it was typed by the reporter."
    ]


def _suffix(text: str) -> str:
    escaped = escape(text)[1]
    return f" ({_counted(escaped)} shown as escapes)" if escaped else ""


def _counted(count: int) -> str:
    return f"{count} control or format character is" if count == 1 else f"{count} control or format characters are"


def _longest_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)
