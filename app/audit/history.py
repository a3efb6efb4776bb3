"""The history for the privacy officer: the chain verified now, its entries filtered by account
and by report, the head as a file to keep outside the server (`meldpunt audit verify --against`),
and whether `meldpunt notify` verifies it at the fixed times (MELDPUNT_AUDIT_VERIFY, four eyes).

Verifying reads every entry (about 15 µs each here): the page does it on opening while the chain
is short enough to stay quick (VERIFY_ON_VIEW entries, about a third of a second); beyond that it
shows the last recorded verification and a button that verifies now and records it."""

import datetime
import json

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import chain, proposals
from ..domain.models import Event
from ..web.context import settings
from ..web.i18n import moment, short_day
from ..web.limits import per_account
from .blueprint import bp
from .proposals import rows

VERIFY_ON_VIEW = 20_000
PAGE_SIZE = 50
MAX_PAGE = 1_000_000
MAX_FILTER_CHARS = 200


@bp.get("/history")
def history():
    # Counted, not read off the last entry: a row written with other tools may hold any value.
    return _page(chain.verify() if Event.select().count() <= VERIFY_ON_VIEW else None)


@bp.post("/history/verify")
@per_account("10 per hour", scope="verify-history")
def verify_now():
    """Verify the whole chain now, whatever its length, and record a success; then back to the
    page (a reload does not verify again), which says what was found. Without saved heads this
    proves less than `meldpunt audit verify --against`, and the self-check says so."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    verdict = chain.verify()
    if verdict:
        chain.record_verification(verdict, 0, g.user, "on the history page")
        flash(
            _(
                "The history verifies: %(count)s entries, head %(head)s.",
                count=verdict.length,
                head=verdict.head.fingerprint,
            )
        )
    else:
        flash(_("The history does not verify: %(problem)s", problem=verdict.problem))
    return redirect(url_for("audit.history"))


def _page(verdict: chain.Verdict | None):
    actor = request.args.get("user", "").strip()[:MAX_FILTER_CHARS]
    reference = request.args.get("reference", "").strip().upper()[:MAX_FILTER_CHARS]
    page = min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)
    query = Event.select(Event.seq, Event.at, Event.actor, Event.action, Event.reference, Event.detail, Event.redacted)
    if actor:
        query = query.where(Event.actor == actor)
    if reference:
        query = query.where(Event.reference == reference)
    total = query.count()
    actors = [row.actor for row in Event.select(Event.actor).where(Event.actor != "").distinct().order_by(Event.actor)]
    return render_template(
        "audit/history.html",
        verdict=verdict,
        events=[_shown(event) for event in query.order_by(Event.seq.desc()).paginate(page, PAGE_SIZE)],
        actors=actors,
        actor=actor,
        reference=reference,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        verification=_verification(),
        last_verified=chain.last_verified(),
        verify_on_view=VERIFY_ON_VIEW,
        form=FlaskForm(),
        may_propose=g.user.role in proposals.PROPOSERS,
    )


def _shown(event: Event) -> dict:
    """An entry as the page shows it, whatever its columns hold: a row written with other tools
    may hold a time that is not one, and the page must still show the rest (verify names it)."""
    at, when = event.at, str(event.at)
    if isinstance(at, datetime.datetime):
        when = short_day(at.date()) if event.redacted else moment(at)
    return {
        "seq": event.seq,
        "when": when,
        "actor": event.actor,
        "action": event.action,
        "reference": event.reference,
        "detail": event.detail,
        "redacted": event.redacted,
    }


def _verification() -> dict:
    """MELDPUNT_AUDIT_VERIFY: as configured, in effect, and its open proposal (four eyes)."""
    switch = proposals.audit_verification(settings())
    waiting = rows(proposals.open_ones(proposals.VERIFY_OFF))
    return {"switch": switch, "open": waiting[0] if waiting else None}


@bp.get("/history/head.json")
def head_file():
    """The head document as a download: the officer keeps it, and later proves with it that the
    history they saw then is still the beginning of today's."""
    document = chain.head_document(settings())
    body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    name = f"meldpunt-head-{document['seq']}.json"
    return Response(body, mimetype="application/json", headers={"Content-Disposition": f"attachment; filename={name}"})
