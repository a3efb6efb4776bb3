"""The clocks a report runs against: the policy's answer, the planned disclosure, and the EU Cyber
Resilience Act's reporting duties for actively exploited vulnerabilities (Art. 14)."""

import datetime
from dataclasses import dataclass

from flask import current_app

from .models import Report, today

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


def answer_due(report: Report) -> datetime.date:
    config = current_app.config
    return add_days(report.received, config["MELDPUNT_RESPONSE_DAYS"], config["MELDPUNT_RESPONSE_WORKING_DAYS"])


def disclosure_day(report: Report) -> datetime.date:
    days = current_app.config["MELDPUNT_DISCLOSURE_DAYS"]
    return report.disclosure_planned or report.received + datetime.timedelta(days=days)


@dataclass
class Clock:
    name: str
    due: datetime.date | datetime.datetime
    done: bool

    @property
    def status(self) -> str:
        if self.done:
            return "done"
        current = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        due = (
            self.due
            if isinstance(self.due, datetime.datetime)
            else datetime.datetime.combine(self.due, datetime.time())
        )
        if due < current:
            return "overdue"
        return "soon" if due - current <= DUE_SOON else "running"


CRA_STEPS = ("cra_early_warning", "cra_notification", "cra_final_report")


def clocks(report: Report, done_steps: set[str] = frozenset()) -> list[Clock]:
    """`done_steps`: the CRA steps the team recorded as sent (events `cra:<step>`)."""
    result = [
        Clock("answer", answer_due(report), report.acknowledged is not None),
        Clock("disclosure", disclosure_day(report), report.state == "disclosed"),
    ]
    if report.cra_aware_at:
        aware = report.cra_aware_at
        result += [
            Clock("cra_early_warning", aware + CRA_EARLY_WARNING, "cra_early_warning" in done_steps),
            Clock("cra_notification", aware + CRA_NOTIFICATION, "cra_notification" in done_steps),
        ]
        if report.resolved_on:
            final = report.resolved_on + CRA_FINAL_REPORT
            result.append(Clock("cra_final_report", final, "cra_final_report" in done_steps))
    return result


def overdue_answer_cutoff() -> datetime.date:
    config = current_app.config
    return latest_start_due_before(today(), config["MELDPUNT_RESPONSE_DAYS"], config["MELDPUNT_RESPONSE_WORKING_DAYS"])


def due_soon_cutoff() -> datetime.date:
    """Reports received on or before this day have their answer due by tomorrow."""
    config = current_app.config
    tomorrow = today() + datetime.timedelta(days=1)
    return latest_start_due_before(
        tomorrow + datetime.timedelta(days=1),
        config["MELDPUNT_RESPONSE_DAYS"],
        config["MELDPUNT_RESPONSE_WORKING_DAYS"],
    )
