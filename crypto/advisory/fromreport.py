"""The report's fields, read back from the report.md that `meldpunt-team open` wrote.

Only the tool's own lines are trusted for structure (crypto/reportmd.py): a field is a `## Heading`
the tool wrote, and its value the indented code block under it, every line of which starts with
four spaces. A reporter cannot forge a heading, since every line they wrote is indented; the values
keep the escapes report.md shows for control and format characters.
"""

import re
from pathlib import Path

from .. import reportmd
from ..markdown import EMPTY, INDENT
from .errors import NotOpened

HEADINGS = {f"## {heading}": key for key, heading in reportmd.FIELDS}
NO_CREDIT = reportmd.shown_value("credit", None)
_REFERENCE = re.compile(r"# Report `([A-Za-z0-9-]+)`")
_END = ("## Thread", "Attachments:")


def read(path: Path) -> tuple[str, dict[str, str]]:
    """The report's reference and its filled-in fields (`credit` only when credit was asked)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise NotOpened(f"{path} does not exist; give a folder that `meldpunt-team open` made.") from None
    except UnicodeDecodeError:
        raise NotOpened(f"{path} is not UTF-8 text; give a folder that `meldpunt-team open` made.") from None
    parsed = parse(text)
    if parsed is None:
        raise NotOpened(f"{path} was not written by `meldpunt-team open`.")
    return parsed


def parse(text: str) -> tuple[str, dict[str, str]] | None:
    """`read` of report.md's text; None if the text does not begin as report.md does."""
    lines = text.split("\n")
    match = _REFERENCE.fullmatch(lines[0])
    return (match.group(1), _fields(lines)) if match else None


def _fields(lines: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    key, value = None, []
    for line in [*lines, ""]:
        if line.startswith(INDENT) and key is not None:
            value.append(line.removeprefix(INDENT))
            continue
        if key is not None and value:
            fields.setdefault(key, "\n".join(value).rstrip())
            key, value = None, []
        if line in HEADINGS:
            key = HEADINGS[line]
        elif line.startswith("## ") or line.startswith(_END) or line == EMPTY:
            key = None  # another section, the thread, or a field the tool shows as empty
    if fields.get("credit") == NO_CREDIT:
        del fields["credit"]
    return fields
