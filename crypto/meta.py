"""The encrypted metadata at the start of every payload (docs/format.md, "Metadata")."""

import datetime
import json
import re
from dataclasses import dataclass

from . import spec
from .errors import MalformedEnvelope
from .jsondoc import parse_object

_FIELDS = ("kind", "name", "type", "day")


@dataclass(frozen=True)
class Meta:
    """What the payload is: kind, original file name, content type, and the day (never a time)."""

    kind: str
    name: str | None = None
    type: str | None = None
    day: datetime.date | None = None

    def __post_init__(self) -> None:
        if self.kind not in spec.KINDS:
            raise ValueError(f"kind must be one of {', '.join(spec.KINDS)}")
        if isinstance(self.day, datetime.datetime):
            # Reporter-related times are kept to the day, so a datetime is refused, not truncated.
            raise TypeError("day is a date, not a datetime")

    def encode(self) -> bytes:
        fields = {"kind": self.kind, "name": self.name, "type": self.type}
        if self.day is not None:
            fields["day"] = self.day.isoformat()
        data = json.dumps(
            {k: v for k, v in fields.items() if v is not None},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        ).encode("utf-8")
        if len(data) > spec.MAX_META_BYTES:
            raise ValueError("metadata is too long (file name or type)")
        return len(data).to_bytes(spec.META_LENGTH_BYTES, "big") + data

    @classmethod
    def decode(cls, data: bytes) -> "Meta":
        fields = parse_object(data, MalformedEnvelope, "The envelope's metadata")
        values = {key: fields.get(key) for key in _FIELDS}  # unknown keys are for later versions
        if not isinstance(values["kind"], str):
            raise MalformedEnvelope("The envelope's metadata has no kind.")
        for key in ("name", "type", "day"):
            # Absent is "unknown"; present means text. `null` is neither, so it is refused.
            if key in fields and not isinstance(fields[key], str):
                raise MalformedEnvelope(f"The envelope's metadata field '{key}' is not text.")
        if values["day"] is not None:
            values["day"] = iso_day(values["day"])
            if values["day"] is None:
                raise MalformedEnvelope("The envelope's metadata has an invalid day.")
        try:
            return cls(**values)
        except ValueError:
            raise MalformedEnvelope("The envelope's metadata has an unknown kind.") from None


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_day(text: object) -> datetime.date | None:
    """A YYYY-MM-DD day of the calendar, or None.

    Python's fromisoformat alone also takes 20261128 and ISO week dates (2026-W01-1, also ten
    characters), and `\\d` would take other scripts' digits: the pattern is ASCII digits only.
    """
    if not isinstance(text, str) or not _DAY.fullmatch(text):
        return None
    try:
        return datetime.date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        return None
