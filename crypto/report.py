"""The body of a `report` envelope (docs/format.md, "Report body"): the portal writes the form's
fields as one UTF-8 JSON object; attachments are envelopes of their own. How the offline tool shows
it is crypto/reportmd.py.
"""

import json

from .errors import MalformedEnvelope
from .jsondoc import parse_object

# The members this version writes, in the order a reader wants them.
KEYS = ("title", "system", "version", "description", "steps", "impact", "exploited", "credit")


def encode(fields: dict[str, str | None]) -> bytes:
    unknown = set(fields) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown report fields: {', '.join(sorted(unknown))}")
    return json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8")


def decode(body: bytes) -> dict[str, str | None]:
    fields = parse_object(body, MalformedEnvelope, "The report body")
    return {
        str(key): value if value is None or isinstance(value, str) else json.dumps(value)
        for key, value in fields.items()
    }
