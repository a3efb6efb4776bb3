"""Four eyes for the dangerous actions: one admin proposes, a second person decides (an auditor or
another admin), and both steps are entries in the history.

The actions, and what "approved" does:

- **create-admin**, **create-auditor**: a new account that may decide proposals. Handlers are made
  at once (app/domain/accounts.py `create`); an admin or a privacy officer only on approval, in the
  approval's transaction.
- **reset-account**: a new password and second factor for an admin or a privacy officer (a
  handler's is reset at once): a new enrolment link, as for a new account.
- **enable-account**: a disabled admin or privacy officer enabled again (disabling is one admin's
  act: it only takes power away).
- **lift-hold**: the legal hold on a report is lifted (app/domain/workflow.py `lift_hold` takes the
  approved proposal). Placing a hold stays one admin's act: it only keeps data.
- **lower-retention**: a `MELDPUNT_RETAIN_*` period below its default counts only once a proposal
  for exactly that setting and value is approved; until then the default applies (`retention_days`,
  which app/domain/retention.py plans with).
- **audit-verify-off**: `MELDPUNT_AUDIT_VERIFY = off` (`meldpunt notify` no longer verifies the
  history at the fixed times) counts only once approved; until then the verification stays on.

An enrolment link that an approval gives out (create, reset) is in two halves, so that neither
person alone can enrol as the account: the proposer sees a code once, when proposing
(`propose_account`), and the approver sees the link without it once, when approving; the new
admin opens the link with the code added at its end (app/domain/accounts.py `by_enrol_token`).
Each account also records who issued its current link (`User.issued_by`, `issued_with`): an
account whose link one person issued alone (the command line, or before this rule) may not decide
that person's proposals, nor they its proposals (`Controlled`).

The first admin and the first privacy officer come from `meldpunt user add`, which makes an admin
or an auditor only while no enrolled, enabled account of that role exists; `meldpunt user reset`
resets one only when the workspace cannot (`accounts.workspace_can_reset`).

A proposal is open until someone other than its proposer, with the role auditor or admin, approves
or rejects it, or its proposer withdraws it. Approving carries the action out in the same
transaction: if that cannot be done any more (the name was taken meanwhile, the report is gone),
nothing changes and the proposal stays open, to be rejected. Each step is a history entry
(`proposal-opened`, `proposal-approved`, `proposal-rejected`, `proposal-withdrawn`) whose detail
names the proposal and what it does — an account name, a setting and its days, the team's own
reason for lifting a hold — never text a reporter wrote.

An open proposal may be approved for `MELDPUNT_PROPOSAL_DAYS` days (default 14, `Settings.
proposal_days`) after it was opened, to the second; after that it has **expired**, and approving is
refused (`Stale`, `EXPIRED_REFUSAL`) and changes nothing: nobody approves what nobody remembers. It
can still be rejected, or withdrawn by its proposer, and that is how it is cleared away: until then
it is open and blocks a new proposal of the same action and subject. Expiry is computed from
`proposed_at`, never stored (the state stays `open`; the pages show it as expired), and it concerns
open proposals only: an approval given in time is a past fact, and what `retention_periods` and
`audit_verification` read as approved stays approved.

A proposal is approved only while its proposer's account still is an enrolled, enabled admin. Once
the proposer is disabled, reset (until they enrol again), given another role or deleted, approving
is refused (`Stale`, `PROPOSER_DISABLED`, `PROPOSER_NOT_ADMIN`); rejecting stays allowed. Both are
checked at the moment of approving: a proposer enabled again (with four eyes) carries their open
proposals again, as long as they have not expired.

An approval of a setting holds for that value: set back to the default and lowered to the same
value again, it counts again; another value needs a proposal of its own.
"""

import datetime
from dataclasses import dataclass

from . import accounts, chain
from .accounts import account_name
from .clock import now
from .db import database
from .errors import TransitionRefused
from .models import Proposal, Report, User
from .settings import DEFAULTS, RETENTION_KEYS, Settings
from .workflow import LIFT_HOLD, hold_reason, lift_hold

CREATE_ADMIN = "create-admin"
CREATE_AUDITOR = "create-auditor"
RESET_ACCOUNT = "reset-account"
ENABLE_ACCOUNT = "enable-account"
LOWER_RETENTION = "lower-retention"
VERIFY_OFF = "audit-verify-off"
CREATING = {CREATE_ADMIN: "admin", CREATE_AUDITOR: "auditor"}  # the role each makes
ACCOUNT_ACTIONS = (CREATE_ADMIN, CREATE_AUDITOR, RESET_ACCOUNT, ENABLE_ACCOUNT)
LINKED = (CREATE_ADMIN, CREATE_AUDITOR, RESET_ACCOUNT)  # approving gives out an enrolment link
ACTIONS = (*ACCOUNT_ACTIONS, LIFT_HOLD, LOWER_RETENTION, VERIFY_OFF)
VERIFY_SETTING = "MELDPUNT_AUDIT_VERIFY"

OPEN, APPROVED, REJECTED, WITHDRAWN = "open", "approved", "rejected", "withdrawn"
STATES = (OPEN, APPROVED, REJECTED, WITHDRAWN)
EXPIRED = "expired"  # never stored: an open proposal past its days, as the pages show it (`shown_state`)
PROPOSERS = ("admin",)
DECIDERS = accounts.APPROVERS
SHOWN = 50  # decided proposals listed under the open ones


def N_(text: str) -> str:
    """Marks a message for translation (pybabel extracts it); translated where it is shown."""
    return text


# What a proposal does, for the pages: message ids the web layer translates with `values`.
SUMMARIES = {
    CREATE_ADMIN: N_("A new admin account: %(name)s"),
    CREATE_AUDITOR: N_("A new privacy officer account: %(name)s"),
    RESET_ACCOUNT: N_("A new password and second factor for %(name)s (%(role)s), through a new enrolment link"),
    ENABLE_ACCOUNT: N_("Enable the disabled account %(name)s (%(role)s) again"),
    LIFT_HOLD: N_("Lift the legal hold on %(reference)s. Reason: %(reason)s"),
    LOWER_RETENTION: N_("%(setting)s = %(days)s days, below the default of %(default)s"),
    VERIFY_OFF: N_("No verification of the history at the fixed times (%(setting)s = off)"),
}
STATE_LABELS = {
    OPEN: N_("open"),
    APPROVED: N_("approved"),
    REJECTED: N_("rejected"),
    WITHDRAWN: N_("withdrawn"),
    EXPIRED: N_("expired"),
}
# Why someone who may otherwise decide may not decide this one (`Controlled`).
ISSUED_BY_PROPOSER = N_(
    "The proposer alone gave out your account's current enrolment link, so you cannot decide their "
    "proposals. Another admin or privacy officer decides; or have your account reset with four eyes."
)
ISSUED_BY_YOU = N_(
    "You alone gave out the proposer's current enrolment link, so you cannot decide their proposals. "
    "Another admin or privacy officer decides."
)


# Why an open proposal can no longer be approved, only rejected or withdrawn (`Stale`).
EXPIRED_REFUSAL = N_(
    "This proposal has expired: it was open for more than %(days)s days, so it can no longer be "
    "approved. Reject or withdraw it, and propose it again if it is still needed."
)
PROPOSER_DISABLED = N_(
    "Its proposer's account is disabled, so this proposal can no longer be approved. Reject it; "
    "another admin can propose it again if it is still needed."
)
PROPOSER_NOT_ADMIN = N_(
    "Its proposer's account is no longer an enrolled admin (reset, deleted or given another role), so "
    "this proposal can no longer be approved. Reject it; another admin can propose it again if it is "
    "still needed."
)


class Refused(TransitionRefused):
    """The proposal cannot be made or decided as asked: its state, or its subject as it is now."""


class NotYours(Refused):
    """Not this person's to do: only an admin proposes, only an auditor or an admin other than the
    proposer decides, only the proposer withdraws."""


class Controlled(NotYours):
    """The decider's account and the proposer's are one person's: one issued the other's current
    enrolment link alone. `reason` is a message id saying which (ISSUED_BY_PROPOSER, ISSUED_BY_YOU)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Stale(Refused):
    """An open proposal that can no longer be approved, though it can be rejected or withdrawn: it
    expired, or its proposer's account no longer carries it. `reason` is a message id
    (EXPIRED_REFUSAL, PROPOSER_DISABLED, PROPOSER_NOT_ADMIN) and `values` its values."""

    def __init__(self, reason: str, values: dict[str, object]):
        super().__init__(reason % values if values else reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class Opened:
    proposal: Proposal
    code: str | None = None  # the proposer's half of the enrolment link an approval gives out, shown once


@dataclass(frozen=True)
class Decided:
    proposal: Proposal
    # An approved create or reset: the first half of the account's one-time link (ending in
    # accounts.SPLIT), for the approver, shown once; the proposer has the code that completes it.
    enrolment_token: str | None = None


def propose(user: User, action: str, subject: str, value: str = "") -> Proposal:
    """Open a proposal (an admin only), checked against how things are now: the report on hold, a
    period below its default. One open proposal per action and subject. An account's proposal is
    opened with `propose_account`, which gives the proposer their half of the link."""
    if action in ACCOUNT_ACTIONS:
        raise Refused("an account's proposal is opened with propose_account")
    return _open(user, action, subject, value).proposal


def propose_account(user: User, action: str, name: str) -> Opened:
    """Propose a new admin or privacy officer, or resetting or enabling one, by name. For a new
    link (create, reset) the result holds the proposer's code: shown once, never stored."""
    if action not in ACCOUNT_ACTIONS:
        raise Refused("not an account's proposal")
    return _open(user, action, name, "")


def _open(user: User, action: str, subject: str, value: str) -> Opened:
    _active(user, PROPOSERS, "only an admin proposes")
    subject, value, report = _checked(action, subject, value)
    code, code_digest = accounts.new_code() if action in LINKED else (None, None)
    with database.atomic():
        pending = Proposal.select().where(
            Proposal.action == action, Proposal.subject == subject, Proposal.state == OPEN
        )
        if pending.exists():
            raise Refused("an open proposal for this exists already")
        proposal = Proposal.create(
            action=action,
            subject=subject,
            value=value,
            enrol_code=code_digest,
            proposer=user,
            proposed_by=user.name,
            proposed_at=now(),
        )
        chain.append(report, user, "proposal-opened", describe(proposal))
    return Opened(proposal, code)


def approve(proposal: Proposal, user: User, days: int) -> Decided:
    """Approve and carry out, in one transaction with both history entries. Stale if it expired
    (`days`: MELDPUNT_PROPOSAL_DAYS, `Settings.proposal_days`) or its proposer's account no longer
    carries it: nothing changes then."""
    _deciding(proposal, user)
    before = _decision_of(proposal)
    try:
        with database.atomic():
            reasons = unapprovable(proposal, days)
            if reasons:
                raise Stale(*reasons[0])
            _close(proposal, user, APPROVED)
            report = _report(proposal)
            chain.append(report, user, chain.APPROVED, describe(proposal))
            token = _carry_out(proposal, user, report)
    except Exception:
        _restore(proposal, before)
        raise
    return Decided(proposal, token)


def reject(proposal: Proposal, user: User) -> Proposal:
    _deciding(proposal, user)
    with database.atomic():
        _close(proposal, user, REJECTED)
        chain.append(_report(proposal), user, "proposal-rejected", describe(proposal))
    return proposal


def withdraw(proposal: Proposal, user: User) -> Proposal:
    """The proposer takes it back."""
    if not may_withdraw(proposal, user):
        if proposal.state != OPEN:
            raise Refused("the proposal is decided already")
        raise NotYours("only the proposer withdraws a proposal")
    with database.atomic():
        _close(proposal, user, WITHDRAWN)
        chain.append(_report(proposal), user, "proposal-withdrawn", describe(proposal))
    return proposal


def may_decide(proposal: Proposal, user: User | None) -> bool:
    """Whether `user` may reject it, and approve it unless it is stale (`unapprovable`): open, an
    auditor or admin, not the proposer, and not an account the proposer controls (or that controls
    the proposer's)."""
    return (
        proposal.state == OPEN
        and _is_active(user, DECIDERS)
        and not _is_proposer(proposal, user)
        and controlled(proposal, user) is None
    )


def may_approve(proposal: Proposal, user: User | None, days: int) -> bool:
    """Whether `user` may approve it now: they may decide it, and nothing makes it stale."""
    return may_decide(proposal, user) and not unapprovable(proposal, days)


def expired(proposal: Proposal, days: int) -> bool:
    """Open, and opened more than `days` days ago (MELDPUNT_PROPOSAL_DAYS): it can no longer be
    approved. A decided proposal never expires: its decision is a past fact."""
    return proposal.state == OPEN and now() > proposal.proposed_at + datetime.timedelta(days=days)


def shown_state(proposal: Proposal, days: int) -> str:
    """Its state for the pages (a key of STATE_LABELS): EXPIRED for an open one past its days."""
    return EXPIRED if expired(proposal, days) else proposal.state


def proposer_refusal(proposal: Proposal) -> str | None:
    """Why its proposer's account no longer carries it (a message id), or None: disabled
    (PROPOSER_DISABLED), or no longer an enrolled admin (PROPOSER_NOT_ADMIN: reset and not enrolled
    again, given another role, or deleted; an account made again under the name is not them)."""
    proposer = User.get_or_none(User.id == proposal.proposer_id) if proposal.proposer_id else None
    if proposer is not None and proposer.disabled:
        return PROPOSER_DISABLED
    if proposer is None or proposer.role not in PROPOSERS or not proposer.enrolled:
        return PROPOSER_NOT_ADMIN
    return None


def unapprovable(proposal: Proposal, days: int) -> list[tuple[str, dict[str, object]]]:
    """Why an open proposal can no longer be approved, though it can still be rejected or
    withdrawn: message ids with their values, none if it can be."""
    if proposal.state != OPEN:
        return []
    reasons: list[tuple[str, dict[str, object]]] = []
    if expired(proposal, days):
        reasons.append((EXPIRED_REFUSAL, {"days": days}))
    proposer = proposer_refusal(proposal)
    if proposer is not None:
        reasons.append((proposer, {}))
    return reasons


def may_withdraw(proposal: Proposal, user: User | None) -> bool:
    return proposal.state == OPEN and user is not None and _is_proposer(proposal, user) and _is_active(user, PROPOSERS)


def controlled(proposal: Proposal, user: User | None) -> str | None:
    """Why `user` may not decide `proposal` although not its proposer (a message id), or None: one
    of the two gave out the other's current enrolment link alone, so both accounts may be one
    person's."""
    if user is None:
        return None
    proposer = User.get_or_none(User.id == proposal.proposer_id) if proposal.proposer_id else None
    proposer = proposer or User.get_or_none(User.name == proposal.proposed_by)
    if _issued_alone(user, proposal.proposed_by):
        return ISSUED_BY_PROPOSER
    if proposer is not None and _issued_alone(proposer, user.name):
        return ISSUED_BY_YOU
    return None


def describe(proposal: Proposal) -> str:
    """The history entry's detail: the proposal's number and what it does."""
    if proposal.action in CREATING:
        what = f"a new {CREATING[proposal.action]} account, {proposal.subject}"
    elif proposal.action == RESET_ACCOUNT:
        what = f"a new password and second factor for {proposal.subject} ({proposal.value})"
    elif proposal.action == ENABLE_ACCOUNT:
        what = f"enable the account {proposal.subject} ({proposal.value}) again"
    elif proposal.action == LIFT_HOLD:
        what = f"lift the legal hold ({proposal.value})"
    elif proposal.action == LOWER_RETENTION:
        what = f"{proposal.subject} = {proposal.value} days, below the default of {DEFAULTS[proposal.subject]}"
    else:
        what = f"{VERIFY_SETTING} = off, no verification of the history at the fixed times"
    return f"proposal {proposal.id}: {what}"


def summary(proposal: Proposal) -> tuple[str, dict[str, object]]:
    """What it does, for a page: a message id (SUMMARIES) and its values."""
    account = {"name": proposal.subject, "role": proposal.value}
    values: dict[str, object] = {
        CREATE_ADMIN: account,
        CREATE_AUDITOR: account,
        RESET_ACCOUNT: account,
        ENABLE_ACCOUNT: account,
        LIFT_HOLD: {"reference": proposal.subject, "reason": proposal.value},
        LOWER_RETENTION: {
            "setting": proposal.subject,
            "days": proposal.value,
            "default": DEFAULTS.get(proposal.subject, ""),
        },
        VERIFY_OFF: {"setting": VERIFY_SETTING},
    }.get(proposal.action, {})
    return SUMMARIES.get(proposal.action, "%(action)s"), values or {"action": proposal.action}


def listed() -> list[Proposal]:
    """Open proposals (oldest first), then the latest decided ones (newest first)."""
    waiting = list(Proposal.select().where(Proposal.state == OPEN).order_by(Proposal.id))
    decided = list(Proposal.select().where(Proposal.state != OPEN).order_by(Proposal.id.desc()).limit(SHOWN))
    return waiting + decided


def open_ones(action: str | tuple[str, ...], subject: str | None = None) -> list[Proposal]:
    """The open proposals of one action (or of several), for one subject if given, oldest first."""
    actions = (action,) if isinstance(action, str) else action
    query = Proposal.select().where(Proposal.action.in_(actions), Proposal.state == OPEN)
    if subject is not None:
        query = query.where(Proposal.subject == subject)
    return list(query.order_by(Proposal.id))


def find(proposal_id: int) -> Proposal | None:
    return Proposal.get_or_none(Proposal.id == proposal_id)


# --- settings that need a second person to count ---------------------------------------------


@dataclass(frozen=True)
class Period:
    """One retention period: its default, the value configured, and the approval that lets a
    value below the default count (None: no such approval)."""

    setting: str
    default: int
    configured: int
    approval: Proposal | None = None

    @property
    def lowered(self) -> bool:
        return self.configured < self.default

    @property
    def waiting(self) -> bool:
        """Configured below the default, and not approved: the default applies."""
        return self.lowered and self.approval is None

    @property
    def effective(self) -> int:
        return self.default if self.waiting else self.configured


def retention_periods(settings: Settings) -> dict[str, Period]:
    """Every MELDPUNT_RETAIN_* period, as configured and as in effect. ConfigError for a value
    that is not a number of days (`Settings.retention_days`)."""
    configured = settings.retention_days
    periods = {}
    for key in RETENTION_KEYS:
        default, days = int(DEFAULTS[key]), configured[key]
        approval = _approval(LOWER_RETENTION, key, str(days)) if days < default else None
        periods[key] = Period(key, default, days, approval)
    return periods


def retention_days(settings: Settings) -> dict[str, int]:
    """The periods in effect: what `meldpunt purge` and its preview use."""
    return {key: period.effective for key, period in retention_periods(settings).items()}


@dataclass(frozen=True)
class Switch:
    """MELDPUNT_AUDIT_VERIFY: as configured, and the approval that lets "off" count."""

    configured: bool
    approval: Proposal | None = None

    @property
    def waiting(self) -> bool:
        """Configured off, and not approved: the verification stays on."""
        return not self.configured and self.approval is None

    @property
    def effective(self) -> bool:
        return self.configured or self.approval is None


def audit_verification(settings: Settings) -> Switch:
    configured = settings.audit_verify
    return Switch(configured, None if configured else _approval(VERIFY_OFF, VERIFY_SETTING, "off"))


# --- inside --------------------------------------------------------------------------------


def _approval(action: str, subject: str, value: str) -> Proposal | None:
    return (
        Proposal.select()
        .where(
            Proposal.action == action,
            Proposal.subject == subject,
            Proposal.value == value,
            Proposal.state == APPROVED,
        )
        .order_by(Proposal.id.desc())
        .first()
    )


def _checked(action: str, subject: str, value: str) -> tuple[str, str, Report | None]:
    """The proposal's subject and value, normalised, and its report (lift-hold); Refused if it
    makes no sense now."""
    subject, value = (subject or "").strip(), (value or "").strip()
    if action not in ACTIONS:
        raise Refused("not an action that needs four eyes")
    if action in CREATING:
        try:
            subject = account_name(subject)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        if User.select().where(User.name == subject).exists():
            raise Refused("an account with this name exists already")
        return subject, CREATING[action], None
    if action in (RESET_ACCOUNT, ENABLE_ACCOUNT):
        account = _approver_account(subject)
        if action == ENABLE_ACCOUNT and not account.disabled:
            raise Refused("the account is not disabled")
        return account.name, account.role, None
    if action == LIFT_HOLD:
        report = Report.get_or_none(Report.reference == subject)
        if report is None or report.hold_reason is None:
            raise Refused("no report with this reference is on hold")
        try:
            return subject, hold_reason(value), report
        except TransitionRefused as exc:
            raise Refused(str(exc)) from None
    if action == LOWER_RETENTION:
        if subject not in RETENTION_KEYS:
            raise Refused("not a retention setting")
        if not (value.isascii() and value.isdigit()) or int(value) >= int(DEFAULTS[subject]):
            raise Refused("a number of days below the setting's default")
        return subject, str(int(value)), None
    if subject not in ("", VERIFY_SETTING) or value not in ("", "off"):  # VERIFY_OFF
        raise Refused(f"only {VERIFY_SETTING} = off")
    return VERIFY_SETTING, "off", None


def _approver_account(name: str) -> User:
    """The admin or privacy officer a reset or enable proposal is about (a handler's needs none)."""
    account = User.get_or_none(User.name == name)
    if account is None or account.role not in DECIDERS:
        raise Refused("no admin or privacy officer account with this name")
    return account


def _carry_out(proposal: Proposal, user: User, report: Report | None) -> str | None:
    by = f"proposal {proposal.id} by {proposal.proposed_by}"
    if proposal.action in LINKED and not proposal.enrol_code:
        # Opened before links were given out in two halves: the approver would get all of it.
        raise Refused("opened before enrolment links came in two halves: reject it and propose again")
    if proposal.action in CREATING:
        if User.select().where(User.name == proposal.subject).exists():
            raise Refused("an account with this name exists already")
        role = CREATING[proposal.action]
        account, token = accounts.create(proposal.subject, role, proposal.proposed_by, user.name, proposal.enrol_code)
        chain.append(None, user, "user-add", f"{account.name} ({role}), {by}")
        return token
    if proposal.action in (RESET_ACCOUNT, ENABLE_ACCOUNT):
        account = _approver_account(proposal.subject)
        if account.role != proposal.value:
            raise Refused("the account's role changed since the proposal")
        if proposal.action == ENABLE_ACCOUNT:
            if not account.disabled:
                raise Refused("the account is not disabled")
            accounts.enable(account)
            chain.append(None, user, "user-enable", f"{account.name}, {by}")
            return None
        token = accounts.reset_enrolment(account, proposal.proposed_by, user.name, proposal.enrol_code)
        chain.append(None, user, "user-reset", f"{account.name}, {by}")
        return token
    if proposal.action == LIFT_HOLD:
        if report is None:
            raise Refused("the report is gone")
        try:
            lift_hold(report, proposal, user)
        except TransitionRefused as exc:
            raise Refused(str(exc)) from None
    # The settings need nothing more: the approval itself is what lets the value count.
    return None


def _report(proposal: Proposal) -> Report | None:
    """The report a lift-hold proposal is about, so its entries show on that report's history."""
    if proposal.action != LIFT_HOLD:
        return None
    return Report.get_or_none(Report.reference == proposal.subject)


def _deciding(proposal: Proposal, user: User) -> None:
    if not _is_active(user, DECIDERS):
        raise NotYours("only an auditor or an admin decides a proposal")
    if _is_proposer(proposal, user):
        raise NotYours("nobody decides their own proposal")
    reason = controlled(proposal, user)
    if reason is not None:
        raise Controlled(reason)
    if proposal.state != OPEN:
        raise Refused("the proposal is decided already")


def _issued_alone(account: User, name: str) -> bool:
    """Whether `name` alone gave out `account`'s current enrolment link."""
    return bool(name) and account.issued_by == name and not account.issued_with


def _close(proposal: Proposal, user: User, state: str) -> None:
    """Open → `state`, once: of two decisions at the same moment, one changes the row."""
    moment = now()
    changed = (
        Proposal.update(state=state, decider=user, decided_by=user.name, decided_at=moment)
        .where(Proposal.id == proposal.id, Proposal.state == OPEN)
        .execute()
    )
    if changed != 1:
        raise Refused("the proposal is decided already")
    proposal.state, proposal.decider, proposal.decided_by, proposal.decided_at = state, user, user.name, moment


def _decision_of(proposal: Proposal) -> tuple:
    return proposal.state, proposal.decider_id, proposal.decided_by, proposal.decided_at


def _restore(proposal: Proposal, before: tuple) -> None:
    proposal.state, proposal.decider_id, proposal.decided_by, proposal.decided_at = before


def _active(user: User | None, roles: tuple[str, ...], message: str) -> None:
    if not _is_active(user, roles):
        raise NotYours(message)


def _is_active(user: User | None, roles: tuple[str, ...]) -> bool:
    return user is not None and user.role in roles and user.enrolled and not user.disabled


def _is_proposer(proposal: Proposal, user: User | None) -> bool:
    # By account and by name: a proposer whose account was deleted and made again is still them.
    return user is not None and (proposal.proposer_id == user.id or proposal.proposed_by == user.name)
