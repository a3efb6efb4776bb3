"""Untrusted JSON objects (metadata, report bodies, manifests): parsed, or refused with our error.

Stricter than `json.loads`, so that two readers can never see different documents in the same
bytes: a member named twice (which one wins differs between parsers) and the non-JSON constants
`NaN` and `Infinity` are refused (docs/format.md, "JSON").
"""

import json


class _Refused(ValueError):
    pass


def _unique(pairs: list[tuple[str, object]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _Refused("a member is named twice")
    return document


def _no_constant(name: str) -> object:
    raise _Refused(f"{name} is not JSON")


def parse_object(data: bytes, error: type[Exception], what: str) -> dict:
    """The JSON object in `data`, or `error` naming `what` (e.g. "The report body")."""
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_unique, parse_constant=_no_constant)
    except _Refused as refused:
        raise error(f"{what} is not valid JSON ({refused}).") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise error(f"{what} is not valid JSON.") from None
    if not isinstance(document, dict):
        raise error(f"{what} is not a JSON object.")
    return document
