"""`meldpunt notify`: tell the team by e-mail that there is work, never what it is.

Run from cron or a systemd timer. The mail holds counts only ("1 new report, 1 answer overdue"):
no reference, no content, nothing about the reporter. Each fact is announced once: a new report
or message, a clock that became due within a day, and the same clock once it is overdue. A run
with nothing new sends nothing.

What was announced is remembered as counts (how many reports and follow-ups there were), not as
ids or times: an item's id is given when its upload starts, which for an envelope sealed in the
browser can be long before it becomes part of a report.
"""

import datetime
import json
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from . import deadlines, workflow
from .models import Item, Report, Setting
from .settings import Settings

ANNOUNCED_ITEMS = "notify_announced_items"  # {"report": n, "message": n}
ANNOUNCED_CLOCKS = "notify_announced_clocks"
KINDS = ("report", "message")


@dataclass
class Pending:
    reports: int = 0
    messages: int = 0
    due_soon: int = 0  # clocks newly due within a day
    overdue: int = 0  # clocks newly overdue
    items: dict[str, int] = field(default_factory=dict)  # how many reports and follow-ups exist now
    clocks: set[str] = field(default_factory=set)  # every clock now due or overdue, announced or not

    def __bool__(self) -> bool:
        return bool(self.reports or self.messages or self.due_soon or self.overdue)


def item_counts() -> dict[str, int]:
    """How many reports and follow-ups are stored (complete and part of a report)."""
    stored = Item.select().where(Item.complete, Item.report.is_null(False))
    return {kind: stored.where(Item.kind == kind).count() for kind in KINDS}


def pending(settings: Settings, moment: datetime.datetime | None = None) -> Pending:
    announced_items = json.loads(Setting.read(ANNOUNCED_ITEMS, "{}"))
    announced = set(json.loads(Setting.read(ANNOUNCED_CLOCKS, "[]")))
    counts = item_counts()
    # Deleted items (purge, retention) lower the count; never report a negative number of news.
    result = Pending(
        reports=max(0, counts["report"] - announced_items.get("report", 0)),
        messages=max(0, counts["message"] - announced_items.get("message", 0)),
        items=counts,
    )
    for report in Report.select().where(Report.state.in_((*workflow.OPEN, "resolved"))):
        for clock in deadlines.clocks(settings, report, moment):
            if clock.status not in ("soon", "overdue"):
                continue
            fact = f"{report.id}:{clock.name}:{clock.status}"
            result.clocks.add(fact)
            if fact not in announced:
                result.overdue += clock.status == "overdue"
                result.due_soon += clock.status == "soon"
    return result


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def compose(found: Pending, sender: str, recipients: list[str], organisation: str) -> EmailMessage | None:
    parts = []
    if found.reports:
        parts.append(_count(found.reports, "new report", "new reports"))
    if found.messages:
        parts.append(_count(found.messages, "new message", "new messages") + " from reporters")
    if found.overdue:
        parts.append(_count(found.overdue, "deadline", "deadlines") + " now overdue")
    if found.due_soon:
        parts.append(_count(found.due_soon, "deadline", "deadlines") + " due within a day")
    if not parts:
        return None
    message = EmailMessage()
    message["Subject"] = f"Meldpunt: {', '.join(parts)}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(
        f"{organisation} vulnerability portal: {', '.join(parts)}.\n\n"
        "Sign in to the team workspace to see them. This mail says nothing more on purpose.\n"
    )
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    host, port = settings["MELDPUNT_SMTP_HOST"], int(settings["MELDPUNT_SMTP_PORT"])
    security = settings["MELDPUNT_SMTP_SECURITY"]
    context = ssl.create_default_context()
    if security == "ssl":
        client = smtplib.SMTP_SSL(host, port, context=context, timeout=30)
    else:
        client = smtplib.SMTP(host, port, timeout=30)
    with client:
        if security == "starttls":
            client.starttls(context=context)
        if settings.get("MELDPUNT_SMTP_USER"):
            client.login(settings["MELDPUNT_SMTP_USER"], settings["MELDPUNT_SMTP_PASSWORD"] or "")
        client.send_message(message)


def remember(found: Pending) -> None:
    """What has been announced: how many items there were, and the clocks due now (one that stops
    being due and becomes due again is a new fact)."""
    Setting.write(ANNOUNCED_ITEMS, json.dumps(found.items, sort_keys=True))
    Setting.write(ANNOUNCED_CLOCKS, json.dumps(sorted(found.clocks)))
