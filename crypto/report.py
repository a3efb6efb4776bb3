"""The body of a `report` envelope (docs/format.md, "Report body") and how the offline tool shows it.

The portal writes the form's fields as one UTF-8 JSON object; attachments are envelopes of their own.
"""

import json

from .errors import MalformedEnvelope
from .jsondoc import parse_object
from .markdown import fence, noted_span

# (key, heading) in the order a reader wants them.
FIELDS = (
    ("title", "Title"),
    ("system", "Affected system or product"),
    ("version", "Version"),
    ("description", "Description"),
    ("steps", "Steps to reproduce"),
    ("impact", "Impact"),
    ("exploited", "Actively exploited"),
    ("credit", "Credit"),
)
EXPLOITED = {"yes": "Yes", "no": "No", "unknown": "Don't know"}


def encode(fields: dict[str, str | None]) -> bytes:
    known = {key for key, _ in FIELDS}
    unknown = set(fields) - known
    if unknown:
        raise ValueError(f"unknown report fields: {', '.join(sorted(unknown))}")
    return json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8")


def decode(body: bytes) -> dict[str, str | None]:
    fields = parse_object(body, MalformedEnvelope, "The report body")
    return {
        str(key): value if value is None or isinstance(value, str) else json.dumps(value)
        for key, value in fields.items()
    }


def markdown_sections(fields: dict[str, str | None]) -> list[str]:
    """One section per filled-in field; fields this version does not know come last.

    Headings are the tool's own words; every value, and the name of a field the tool does not know
    (a hostile browser can send any), is shown in a fence or code span (crypto/markdown.py).
    """
    lines: list[str] = []
    for key, heading in FIELDS:
        value = shown_value(key, fields.get(key)) if key in fields else None
        if value:
            lines += [f"## {heading}", "", *fence(value)]
    known = {key for key, _ in FIELDS}
    for key in sorted(set(fields) - known):
        value = fields[key]
        if value:
            lines += ["## Other field", "", f"The reporter's browser named this field {noted_span(key)}.", ""]
            lines += fence(value)
    return lines


def shown_value(key: str, value: str | None) -> str | None:
    """What report.md shows for a field: `exploited` in words, and an empty credit said as such."""
    if key == "exploited" and value is not None:
        return EXPLOITED.get(value, value)
    if key == "credit" and not value:
        return "No credit wanted"
    return value
