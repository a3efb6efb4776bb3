"""The history for the privacy officer: the chain verified now, its entries filtered by account
and by report, and the head as a file to keep outside the server (`meldpunt audit verify --against`)."""

import json

from flask import Response, render_template, request

from ..domain import chain
from ..domain.models import Event
from ..web.context import settings
from .blueprint import bp

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
    )


@bp.get("/history/head.json")
def head_file():
    """The head document as a download: the officer keeps it, and later proves with it that the
    history they saw then is still the beginning of today's."""
    document = chain.head_document(settings())
    body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    name = f"meldpunt-head-{document['seq']}.json"
    return Response(body, mimetype="application/json", headers={"Content-Disposition": f"attachment; filename={name}"})
