"""CVSS vectors parsed and scored by the `cvss` library (RedHat's, on PyPI), never by our own
arithmetic: 3.1 for the CVE record and CSAF, 4.0 for the CVE record and advisory.md (CSAF 2.0's
`scores` know CVSS 2 and 3 only; docs/format.md, "advisory.toml")."""

from dataclasses import dataclass

from cvss import CVSS3, CVSS4, CVSSError


@dataclass(frozen=True)
class Score:
    version: str  # "3.1" or "4.0"
    vector: str  # as the library normalises it
    base: float
    severity: str  # NONE, LOW, MEDIUM, HIGH or CRITICAL

    def as_json(self) -> dict:
        """The four members both the CVE record's cvssV3_1/cvssV4_0 and CSAF's cvss_v3 require."""
        return {
            "version": self.version,
            "vectorString": self.vector,
            "baseScore": self.base,
            "baseSeverity": self.severity,
        }


class VectorError(ValueError):
    """Not a vector of the expected version; the message says why."""


def score(vector: str, version: str) -> Score:
    """The base score of `vector`, which must be a CVSS `version` ("3.1" or "4.0") vector."""
    prefix = f"CVSS:{version}/"
    if not vector.startswith(prefix):
        raise VectorError(f"{vector!r} is not a CVSS {version} vector: it must begin with {prefix}")
    try:
        if version == "4.0":
            parsed = CVSS4(vector)
            return Score(version, parsed.clean_vector(), float(parsed.base_score), parsed.severity.upper())
        parsed = CVSS3(vector)
        return Score(version, parsed.clean_vector(), float(parsed.base_score), parsed.severities()[0].upper())
    except CVSSError as exc:
        raise VectorError(f"{vector!r} is not a valid CVSS {version} vector ({exc})") from None
