"""Untrusted JSON objects (metadata, report bodies, manifests): parsed, or refused with our error."""

import json


def parse_object(data: bytes, error: type[Exception], what: str) -> dict:
    """The JSON object in `data`, or `error` naming `what` (e.g. "The report body")."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise error(f"{what} is not valid JSON.") from None
    if not isinstance(document, dict):
        raise error(f"{what} is not a JSON object.")
    return document
