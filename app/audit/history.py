"""The history for the privacy officer: the chain verified now, its entries filtered by account
and by report, the head as a file to keep outside the server (`meldpunt audit verify --against`),
and whether `meldpunt notify` verifies it at the fixed times (MELDPUNT_AUDIT_VERIFY, four eyes)."""

import json

from flask import Response, g, render_template, request
from flask_wtf import FlaskForm

from ..domain import chain, proposals
from ..domain.models import Event
from ..domain.settings import ConfigError
from ..web.context import settings
from .blueprint import bp
from .proposals import rows

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
MAX_FILTER_CHARS = 200


@bp.get("/history")
def history():
    verdict = chain.verify()
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
        events=list(query.order_by(Event.seq.desc()).paginate(page, PAGE_SIZE)),
        actors=actors,
        actor=actor,
        reference=reference,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        verification=_verification(),
        form=FlaskForm(),
        may_propose=g.user.role in proposals.PROPOSERS,
    )


def _verification() -> dict | None:
    """MELDPUNT_AUDIT_VERIFY: as configured, in effect, and its open proposal (four eyes). None when
    the value is neither on nor off."""
    try:
        switch = proposals.audit_verification(settings())
    except ConfigError:
        return None
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
