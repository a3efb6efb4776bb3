"""How building an advisory can fail, one class each, under the core's root `CryptoError`, so that
`meldpunt-team` says each in one sentence (crypto/cli.py)."""

from ..errors import CryptoError


class AdvisoryError(CryptoError):
    """Root of the advisory failures."""


class NotAFolder(AdvisoryError):
    """DIR is not a folder (missing, or a file)."""


class NotOpened(AdvisoryError):
    """The folder holds no report.md that `meldpunt-team open` wrote."""


class NoAdvisory(AdvisoryError):
    """The folder holds no advisory.toml yet: `build` before `init`."""


class UnreadableAdvisory(AdvisoryError):
    """advisory.toml is not a file, not valid TOML or not UTF-8."""


class InvalidField(AdvisoryError):
    """A field of advisory.toml is missing or wrong; `field` names it (`vulnerability.cwe`)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"advisory.toml, {field}: {problem}")
        self.field = field
