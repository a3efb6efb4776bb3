"""The body of a `report` envelope (docs/format.md, "Report body") and how the offline tool shows it.

The portal writes the form's fields as one UTF-8 JSON object; attachments are envelopes of their own.
"""

import json

from .errors import MalformedEnvelope
from .jsondoc import parse_object

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
    """One `## Heading` section per filled-in field; fields this version does not know come last."""
    lines: list[str] = []
    headings = dict(FIELDS)
    keys = [key for key, _ in FIELDS if key in fields] + sorted(set(fields) - set(headings))
    for key in keys:
        value = fields[key]
        if key == "exploited":
            value = EXPLOITED.get(value, value)
        if key == "credit" and not value:
            value = "No credit wanted"
        if value is None or value == "":
            continue
        lines += [f"## {headings.get(key, key)}", "", value.rstrip(), ""]
    return lines
