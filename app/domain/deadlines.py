"""The clocks a report runs against: the policy's answer, the planned disclosure, and the EU Cyber
Resilience Act's reporting duties for actively exploited vulnerabilities (Art. 14).

Day clocks count in the team's zone (app/domain/clock.py): an answer due on the 4th is "due soon"
on the 3rd and 4th and overdue from the 5th. CRA clocks run in exact UTC hours from the team's
"we are aware" moment.
"""

import datetime
from dataclasses import dataclass

from .clock import today
from .models import Report
from .settings import Settings
from .workflow import CRA_STEPS

DUE_SOON = datetime.timedelta(days=1)
CRA_EARLY_WARNING = datetime.timedelta(hours=24)
CRA_NOTIFICATION = datetime.timedelta(hours=72)
CRA_FINAL_REPORT = datetime.timedelta(days=14)


def add_days(start: datetime.date, days: int, working: bool) -> datetime.date:
    """`days` calendar days later, or `days` working days (Monday to Friday) later."""
    if not working:
        return start + datetime.timedelta(days=days)
    day = start
    while days > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def latest_start_due_before(deadline: datetime.date, days: int, working: bool) -> datetime.date:
    """The last start day whose due day falls before `deadline` (so lists can filter in SQL)."""
    day = deadline - datetime.timedelta(days=days)
    while add_days(day, days, working) >= deadline:
        day -= datetime.timedelta(days=1)
    while add_days(day + datetime.timedelta(days=1), days, working) < deadline:
        day += datetime.timedelta(days=1)
    return day


def _answer_terms(settings: Settings) -> tuple[int, bool]:
    return int(settings["MELDPUNT_RESPONSE_DAYS"]), bool(settings["MELDPUNT_RESPONSE_WORKING_DAYS"])


def answer_due(settings: Settings, report: Report) -> datetime.date:
    return add_days(report.received, *_answer_terms(settings))


def disclosure_day(settings: Settings, report: Report) -> datetime.date:
    """The planned disclosure in force: set by the team, or the policy's term from receipt."""
    days = int(settings["MELDPUNT_DISCLOSURE_DAYS"])
    return report.disclosure_planned or report.received + datetime.timedelta(days=days)


@dataclass
class Clock:
    name: str
    due: datetime.date | datetime.datetime  # a day in the team's zone, or an exact UTC time
    done: bool
    status: str  # done, overdue, soon (due within a day) or running


def _status(due: datetime.date | datetime.datetime, done: bool, day: datetime.date, moment: datetime.datetime) -> str:
    if done:
        return "done"
    if isinstance(due, datetime.datetime):
        if due < moment:
            return "overdue"
        return "soon" if due - moment <= DUE_SOON else "running"
    if due < day:
        return "overdue"
    return "soon" if due - day <= DUE_SOON else "running"


def clocks(settings: Settings, report: Report, moment: datetime.datetime | None = None) -> list[Clock]:
    """The report's clocks and their status at `moment` (naive UTC; default: now)."""
    return clocks_of(settings, [report], moment)[0]


def clocks_of(settings: Settings, reports: list[Report], moment: datetime.datetime | None = None) -> list[list[Clock]]:
    """Each report's clocks at one `moment`, for a list of them: from the rows alone, no query."""
    moment = moment or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    day = moment.replace(tzinfo=datetime.UTC).astimezone(settings.zone).date()
    return [_clocks(settings, report, day, moment) for report in reports]


def _clocks(settings: Settings, report: Report, day: datetime.date, moment: datetime.datetime) -> list[Clock]:
    due: list[tuple[str, datetime.date | datetime.datetime, bool]] = [
        ("answer", answer_due(settings, report), report.acknowledged is not None),
        ("disclosure", disclosure_day(settings, report), report.state == "disclosed"),
    ]
    if report.cra_aware_at:
        sent = {step: getattr(report, f"{step}_sent") is not None for step in CRA_STEPS}
        due += [
            ("cra_early_warning", report.cra_aware_at + CRA_EARLY_WARNING, sent["cra_early_warning"]),
            ("cra_notification", report.cra_aware_at + CRA_NOTIFICATION, sent["cra_notification"]),
        ]
        if report.resolved_on:
            due.append(("cra_final_report", report.resolved_on + CRA_FINAL_REPORT, sent["cra_final_report"]))
    return [Clock(name, when, done, _status(when, done, day, moment)) for name, when, done in due]


def overdue_answer_cutoff(settings: Settings) -> datetime.date:
    """Reports received on or before this day have their answer overdue."""
    return latest_start_due_before(today(settings.zone), *_answer_terms(settings))


def due_soon_cutoff(settings: Settings) -> datetime.date:
    """Reports received on or before this day have their answer due by tomorrow."""
    day_after_tomorrow = today(settings.zone) + datetime.timedelta(days=2)
    return latest_start_due_before(day_after_tomorrow, *_answer_terms(settings))
