"""The privacy officer's home, the data inventory, the self-check and the retention page (with the
periods below their default that wait for a second person)."""

import os

from flask import g, render_template
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from ..domain import inventory, proposals, selfcheck
from ..domain.clock import today
from ..domain.models import Event
from ..domain.settings import ConfigError
from ..web.context import settings
from .blueprint import bp
from .proposals import rows

STATUS = {
    selfcheck.PASS: _l("pass"),
    selfcheck.FAIL: _l("fail"),
    selfcheck.UNKNOWN: _l("unknown"),
    selfcheck.NOT_APPLICABLE: _l("not applicable"),
}
RUNS_SHOWN = 20
RUN_ACTIONS = ("retention", "purge", "purge-incomplete")  # a run's entries: what the rules deleted, then the leftovers


@bp.get("/")
def home():
    return render_template("audit/home.html")


def _translated(label: inventory.Label | None) -> dict | None:
    if label is None:
        return None
    texts = {name: gettext(getattr(label, name)) for name in ("category", "granularity", "retention", "basis")}
    return {**texts, "personal": label.personal}


@bp.get("/inventory", endpoint="inventory")
def show_inventory():
    """Every table and column with its label, and live counts and sizes; no value of any row."""
    tables = [
        {
            "name": table.name,
            "purpose": gettext(table.purpose) if table.purpose else "",
            "rows": table.rows,
            "bytes": table.bytes,
            "personal": table.personal,
            "columns": [{"name": column.name, "label": _translated(column.label)} for column in table.columns],
        }
        for table in inventory.inventory()
    ]
    return render_template("audit/inventory.html", tables=tables, unlabelled=inventory.unlabelled())


@bp.get("/self-check", endpoint="selfcheck")
def show_selfcheck():
    environment = {"GUNICORN_CMD_ARGS": os.environ.get("GUNICORN_CMD_ARGS", "")}
    checks = [
        {
            "key": check.key,
            "title": gettext(check.title),
            "status": check.status,
            "status_label": str(STATUS.get(check.status, check.status)),
            "why": gettext(check.why, **check.values),
        }
        for check in selfcheck.run(settings(), environment)
    ]
    failed = sum(1 for check in checks if check["status"] == selfcheck.FAIL)
    return render_template("audit/selfcheck.html", checks=checks, failed=failed)


def _preview() -> dict | None:
    """What the next retention run would delete and why, from app/domain/retention.py's `plan()`
    (the same as `meldpunt purge --dry-run`), or None where that module is missing. Each rule with
    its period and a count, naming reports by their reference and accounts by name; never the day
    a reporter last used their mailbox."""
    try:
        from ..domain import retention
    except ImportError:
        return None
    if not hasattr(retention, "plan"):
        return None
    loaded = settings()
    try:
        planned = retention.plan(loaded, today(loaded.zone))
    except ConfigError as exc:
        return {"problem": str(exc), "rows": [], "held": ()}
    rows = []
    for step in planned.steps:
        rule = step.rule
        labels = sorted({due.label for due in step.due if due.label})
        what = rule.count(step.count) + (f" ({', '.join(labels)})" if labels else "")
        rows.append((rule.category, f"{rule.describe(step.days)} ({rule.setting} = {step.days})", what))
    return {"problem": "", "rows": rows, "held": planned.held, "day": planned.day, "count": planned.count}


def _periods() -> list[dict] | None:
    """Each retention period: its default, as configured, as in effect; for one below its default,
    the approval that lets it count, or the open proposal, or none yet (four eyes,
    app/domain/proposals.py). None when a value is not a number of days (the preview says so)."""
    try:
        periods = proposals.retention_periods(settings())
    except ConfigError:
        return None
    waiting = {row["proposal"].subject: row for row in rows(proposals.open_ones(proposals.LOWER_RETENTION))}
    return [{"period": period, "open": waiting.get(key)} for key, period in periods.items()]


@bp.get("/retention")
def retention():
    runs = Event.select().where(Event.action.in_(RUN_ACTIONS)).order_by(Event.seq.desc()).limit(RUNS_SHOWN)
    return render_template(
        "audit/retention.html",
        periods=_periods(),
        preview=_preview(),
        runs=list(runs),
        form=FlaskForm(),
        may_propose=g.user.role in proposals.PROPOSERS,
    )
