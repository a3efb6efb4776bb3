"""Version ranges in advisory.toml, and how the CVE record and CSAF write them.

The notation (docs/format.md, "advisory.toml"): one version (`4.2.1`), an upper bound (`<4.3`,
`<=4.2.1`), or a lower and an upper bound (`>=4.0, <4.3`). In the CVE record that is a `versions`
entry with `lessThan` or `lessThanOrEqual` and the `versionType`; in CSAF a
`product_version_range` in vers notation (`vers:semver/>=4.0|<4.3`), or a `product_version` for
one version.
"""

import re
from dataclasses import dataclass

VERSION_TYPES = {"semver": "semver", "custom": "generic"}  # version_type → vers scheme
MAX_VERSION = 1024  # characters: the CVE JSON 5 schema's limit for a version
_VERSION = r"[0-9A-Za-z][0-9A-Za-z.+~_-]*"
_RANGE = re.compile(rf"(?:>=\s*(?P<low>{_VERSION})\s*,\s*)?(?P<op><=?)\s*(?P<high>{_VERSION})")
_ONE = re.compile(_VERSION)
_NUMERIC = re.compile(r"[0-9]+(?:\.[0-9]+)*")
EXAMPLES = '">=4.0, <4.3", "<4.3", "<=4.2.1" or "4.2.1"'


class RangeError(ValueError):
    """Not a version or range in the notation; the message says what is expected."""


@dataclass(frozen=True)
class Range:
    low: str | None  # the first affected version; None: every version up to `high`
    high: str | None  # None: only `low` itself
    inclusive: bool = False  # `high` itself affected (<=) or not (<)

    @classmethod
    def parse(cls, text: str) -> "Range":
        text = text.strip()
        if _ONE.fullmatch(text):
            return cls(_short(text), None)
        match = _RANGE.fullmatch(text)
        if match is None:
            raise RangeError(f"{quoted(text)} is not a version or a version range; write e.g. {EXAMPLES}.")
        low, high, inclusive = match["low"], _short(match["high"]), match["op"] == "<="
        if low is not None and _after(_short(low), high, strictly=inclusive):
            raise RangeError(f"{quoted(text)} is empty: its lower bound is not below its upper bound.")
        return cls(low, high, inclusive)

    @property
    def upper(self) -> str:
        """The upper bound as written, `<4.3` or `<=4.2.1`; only for a range (`high` set)."""
        return f"{'<=' if self.inclusive else '<'}{self.high}"

    def __str__(self) -> str:
        if self.high is None:
            return str(self.low)
        return f">={self.low}, {self.upper}" if self.low else self.upper

    def covers(self, version: str) -> bool:
        """Whether `version` lies in the range, as far as dotted numbers can tell (else False)."""
        if self.high is None:
            return version == self.low
        below = not _after(version, self.high, strictly=self.inclusive) and _comparable(version, self.high)
        return below and (self.low is None or not _after(self.low, version, strictly=True))

    def cve(self, version_type: str) -> dict:
        """A CVE record `versions` entry saying this range is affected."""
        if self.high is None:
            return {"version": self.low, "status": "affected"}
        bound = "lessThanOrEqual" if self.inclusive else "lessThan"
        return {"version": self.low or "0", bound: self.high, "status": "affected", "versionType": version_type}

    def vers(self, version_type: str) -> str | None:
        """The range in vers notation (CSAF `product_version_range`), or None for one version."""
        if self.high is None:
            return None
        lower = f">={self.low}|" if self.low else ""
        return f"vers:{VERSION_TYPES[version_type]}/{lower}{self.upper}"


def parse_version(text: str) -> str:
    text = text.strip()
    if not _ONE.fullmatch(text):
        raise RangeError(f'{quoted(text)} is not one version; write e.g. "4.3".')
    return _short(text)


def _short(version: str) -> str:
    if len(version) > MAX_VERSION:
        raise RangeError(f"a version has {len(version)} characters; a CVE record takes at most {MAX_VERSION}.")
    return version


def quoted(text: str) -> str:
    """`text` quoted for a message, cut short: the message is one sentence, whatever was typed."""
    return repr(text) if len(text) <= 80 else f"{text[:80]!r}…"


def _comparable(a: str, b: str) -> bool:
    return bool(_NUMERIC.fullmatch(a) and _NUMERIC.fullmatch(b))


def _after(a: str, b: str, strictly: bool) -> bool:
    """a > b (or a >= b when not `strictly`), for dotted numbers only; anything else: False.

    Each part is compared as a digit string (shorter without leading zeros is smaller), not through
    int(), which refuses numbers of more than 4,300 digits."""
    if not _comparable(a, b):
        return False
    left, right = [_number(part) for part in a.split(".")], [_number(part) for part in b.split(".")]
    width = max(len(left), len(right))
    left, right = left + [(0, "")] * (width - len(left)), right + [(0, "")] * (width - len(right))
    return left > right if strictly else left >= right


def _number(digits: str) -> tuple[int, str]:
    significant = digits.lstrip("0")
    return len(significant), significant
