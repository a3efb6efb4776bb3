"""`meldpunt notify`: tell the team by e-mail that there is work, never what it is.

Run from cron or a systemd timer. The mail holds counts only ("1 new report, 2 deadlines due"):
no reference, no content, nothing about the reporter. What was already announced is remembered as
the highest item id seen, not as a time.
"""

import datetime
import smtplib
import ssl
from email.message import EmailMessage

from . import deadlines, workflow
from .models import Item, Report, Setting, today

LAST_SEEN = "notify_last_item"


def pending_counts() -> dict[str, int]:
    row = Setting.get_or_none(Setting.key == LAST_SEEN)
    last = int(bytes(row.value).decode()) if row else 0
    fresh = Item.select().where(Item.id > last, Item.complete, Item.report.is_null(False))
    tomorrow = today() + datetime.timedelta(days=1)
    due = 0
    for report in Report.select().where(Report.state.in_(workflow.OPEN) | (Report.state == "resolved")):
        for clock in deadlines.clocks(report):
            if clock.status in ("soon", "overdue") or (not clock.done and _day(clock.due) <= tomorrow):
                due += 1
    return {
        "reports": fresh.where(Item.kind == "report").count(),
        "messages": fresh.where(Item.kind == "message").count(),
        "deadlines": due,
        "last_item": Item.select(Item.id).order_by(Item.id.desc()).scalar() or last,
    }


def _day(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def compose(counts: dict[str, int], sender: str, recipients: list[str], organisation: str) -> EmailMessage | None:
    parts = []
    if counts["reports"]:
        parts.append(f"{counts['reports']} new report{'s' if counts['reports'] != 1 else ''}")
    if counts["messages"]:
        parts.append(f"{counts['messages']} new message{'s' if counts['messages'] != 1 else ''} from reporters")
    if counts["deadlines"]:
        parts.append(f"{counts['deadlines']} deadline{'s' if counts['deadlines'] != 1 else ''} due within a day")
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


def send(config: dict, message: EmailMessage) -> None:
    host, port = config["MELDPUNT_SMTP_HOST"], int(config["MELDPUNT_SMTP_PORT"])
    security = config["MELDPUNT_SMTP_SECURITY"]
    context = ssl.create_default_context()
    if security == "ssl":
        client = smtplib.SMTP_SSL(host, port, context=context, timeout=30)
    else:
        client = smtplib.SMTP(host, port, timeout=30)
    with client:
        if security == "starttls":
            client.starttls(context=context)
        if config.get("MELDPUNT_SMTP_USER"):
            client.login(config["MELDPUNT_SMTP_USER"], config["MELDPUNT_SMTP_PASSWORD"] or "")
        client.send_message(message)


def remember(last_item: int) -> None:
    Setting.insert(key=LAST_SEEN, value=str(last_item).encode()).on_conflict_replace().execute()
