"""One exception per failure the domain can report, under one root. The web layer maps each to a
status code in one table (app/web/errors.py); views catch the ones they answer more helpfully."""


class DomainError(Exception):
    """Root of every failure raised by app.domain."""


class Busy(DomainError):
    """No capacity right now (all derivation slots taken); try again shortly."""


class TooLarge(DomainError):
    """More bytes than the budget for this request or upload."""


class DiskFull(DomainError):
    """Too little free disk for this upload: refused before the disk fills (507)."""


class NotFound(DomainError):
    """The report, mailbox, upload or account named does not exist (or is not yours)."""


class TransitionRefused(DomainError):
    """The workflow table does not allow this change from the current state."""


class DuplicateNeedsOriginal(TransitionRefused):
    """A report marked as a duplicate must name another, existing report."""


class CutOff(DomainError):
    """A request body ended in the middle of a file: nothing of it is kept."""


class AlreadyAdopted(DomainError):
    """The upload is part of a report already: the same submission arrived twice at once."""


class UploadRefused(DomainError):
    """A browser-sealed upload or one of its parts breaks a rule. `code` names which rule, for the
    browser's error display; `received` says how many parts the server has."""

    def __init__(self, code: str, status: int = 400, received: int | None = None):
        super().__init__(code)
        self.code = code
        self.status = status
        self.received = received


class SignInFailed(DomainError):
    """Name, password or code wrong, account disabled or throttled: deliberately one error."""


class NotInitialised(DomainError):
    """The database lacks what `meldpunt init` creates (the installation salt)."""


class SchemaBehind(DomainError):
    """The database's schema is older than the code: `meldpunt upgrade` has not run yet."""
