"""The CVD workflow (ISO/IEC 30111, in the words a team uses): states and allowed transitions.

One table decides what may follow what; the views and the tests both read it.
"""

import datetime

from flask_babel import lazy_gettext as _l

from .models import Event, Report, User, today

LABELS = {
    "received": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "confirmed": _l("Confirmed"),
    "fixing": _l("Being fixed"),
    "resolved": _l("Resolved"),
    "disclosed": _l("Disclosed"),
    "duplicate": _l("Duplicate"),
    "not_vulnerability": _l("Not a vulnerability"),
    "out_of_scope": _l("Out of scope"),
    "spam": _l("Spam"),
}
EXITS = ("duplicate", "not_vulnerability", "out_of_scope", "spam")
OPEN = ("received", "acknowledged", "confirmed", "fixing")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("acknowledged", *EXITS),
    "acknowledged": ("confirmed", *EXITS),
    "confirmed": ("fixing", "resolved", "duplicate"),
    "fixing": ("resolved",),
    "resolved": ("disclosed", "fixing"),  # back to fixing when the fix turns out incomplete
    "disclosed": (),
    # A closed report can be reopened when the team was wrong about it.
    **{state: ("acknowledged",) for state in EXITS},
}


class TransitionRefused(Exception):
    pass


def label(state: str) -> str:
    return str(LABELS.get(state, state))


def allowed(state: str) -> tuple[str, ...]:
    return TRANSITIONS.get(state, ())


def now() -> datetime.datetime:
    """A team time: exact, in UTC. Never used for anything a reporter did."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def record(report: Report | None, user: User | None, action: str, detail: str = "") -> Event:
    return Event.create(report=report, user=user, action=action, detail=detail, at=now())


def change_state(report: Report, target: str, user: User, duplicate_of: Report | None = None) -> None:
    if target not in allowed(report.state):
        raise TransitionRefused(f"{report.state} → {target}")
    if target == "duplicate" and (duplicate_of is None or duplicate_of.id == report.id):
        raise TransitionRefused("a duplicate names the report it duplicates")
    previous = report.state
    report.state = target
    report.duplicate_of = duplicate_of if target == "duplicate" else None
    if target == "acknowledged" and report.acknowledged is None:
        report.acknowledged = today()
    if target == "resolved":
        report.resolved_on = today()
    report.updated = today()
    report.save()
    detail = f"{previous} → {target}" + (f" (of {duplicate_of.reference})" if duplicate_of else "")
    record(report, user, "state", detail)
