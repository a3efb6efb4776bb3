"""The privacy officer's home, the data inventory, the self-check and the retention page (with the
periods below their default that wait for a second person)."""

import os

from flask import g, render_template
from flask_babel import format_number, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from ..domain import chain, inventory, proposals, selfcheck
from ..domain import retention as rules  # `retention` is this module's page
from ..domain.clock import today
from ..domain.models import Event
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
# A run's entries: what the rules deleted, then how the whole purge ended (app/cli.py `purge`).
RUN_ACTIONS = (chain.RETENTION, chain.PURGED, chain.PURGE_INCOMPLETE)


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


def _preview() -> dict:
    """What the next retention run would delete and why: `retention.plan()`, as `meldpunt purge
    --dry-run` shows it. Each rule with its period and a count, naming reports by their reference
    and accounts by name; mailboxes only counted (app/domain/retention.py `_mailboxes`)."""
    loaded = settings()
    planned = rules.plan(loaded, today(loaded.zone))
    rows = []
    for step in planned.steps:
        rule = step.rule
        labels = sorted({due.label for due in step.due if due.label})
        # The rule's words are marked in the domain and translated here; Dutch counts like English.
        what = f"{format_number(step.count)} {gettext(rule.unit[step.count != 1])}"
        what += f" ({', '.join(labels)})" if labels else ""
        described = gettext(
            "%(what)s, %(days)s days %(counted_from)s (%(setting)s = %(days)s)",
            what=gettext(rule.what),
            days=step.days,
            counted_from=gettext(rule.counted_from),
            setting=rule.setting,
        )
        rows.append((rule.category, described, what))
    return {"rows": rows, "held": planned.held, "day": planned.day, "count": planned.count}


def _periods() -> list[dict]:
    """Each retention period: its default, as configured, as in effect; for one below its default,
    the approval that lets it count, or the open proposal, or none yet (four eyes,
    app/domain/proposals.py)."""
    periods = proposals.retention_periods(settings())
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
