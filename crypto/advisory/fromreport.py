"""The report's fields, read back from the report.md that `meldpunt-team open` wrote.

Only the tool's own lines are trusted for structure (crypto/reportmd.py): a field is a `## Heading`
the tool wrote, and its value the indented code block under it, every line of which starts with
four spaces. A reporter cannot forge a heading, since every line they wrote is indented; the values
keep the escapes report.md shows for control and format characters, and the tool's note above a
value that has any ("Note from meldpunt-team: 2 control or format characters are shown as …",
crypto/markdown.py) is kept as a count, for advisory.toml to point the team at them.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import reportmd
from ..markdown import EMPTY, INDENT
from .errors import NotOpened

HEADINGS = {f"## {heading}": key for key, heading in reportmd.FIELDS}
NO_CREDIT = reportmd.shown_value("credit", None)
_REFERENCE = re.compile(r"# Report `([A-Za-z0-9-]+)`")
_NOTE = re.compile(r"Note from meldpunt-team: ([0-9]+) control or format characters? (?:is|are) shown as ")
_END = ("## Thread", "Attachments:")


@dataclass(frozen=True)
class Report:
    reference: str
    fields: dict[str, str]  # the filled-in fields (`credit` only when credit was asked)
    escaped: dict[str, int] = field(default_factory=dict)  # field → characters report.md escaped


def read(path: Path) -> Report:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise NotOpened(f"{path} does not exist; give a folder that `meldpunt-team open` made.") from None
    except IsADirectoryError:
        raise NotOpened(f"{path} is a folder; give a folder that `meldpunt-team open` made.") from None
    except UnicodeDecodeError:
        raise NotOpened(f"{path} is not UTF-8 text; give a folder that `meldpunt-team open` made.") from None
    parsed = parse(text)
    if parsed is None:
        raise NotOpened(f"{path} was not written by `meldpunt-team open`.")
    return parsed


def parse(text: str) -> Report | None:
    """`read` of report.md's text; None if the text does not begin as report.md does."""
    lines = text.split("\n")
    match = _REFERENCE.fullmatch(lines[0])
    return _fields(match.group(1), lines) if match else None


def _fields(reference: str, lines: list[str]) -> Report:
    fields: dict[str, str] = {}
    escaped: dict[str, int] = {}
    key, value, noted = None, [], 0
    for line in [*lines, ""]:
        if line.startswith(INDENT) and key is not None:
            value.append(line.removeprefix(INDENT))
            continue
        if key is not None and value:
            if key not in fields:
                fields[key] = "\n".join(value).rstrip()
                if noted:
                    escaped[key] = noted
            key, value = None, []
        note = _NOTE.match(line)
        if note and key is not None:
            noted = int(note.group(1))  # the tool's note between a field's heading and its value
        elif line in HEADINGS:
            key, noted = HEADINGS[line], 0
        elif line.startswith("## ") or line.startswith(_END) or line == EMPTY:
            key = None  # another section, the thread, or a field the tool shows as empty
    if fields.get("credit") == NO_CREDIT:
        del fields["credit"]
        escaped.pop("credit", None)
    return Report(reference, fields, escaped)
