"""The part endpoints for what reporters seal in the browser: a report (sealed to the team) or a
follow-up (sealed to the team and the signed-in reporter). The team's replies have their own
endpoints behind the team blueprint's access rules (app/team/uploads.py)."""

from flask import request
from werkzeug.exceptions import BadRequest

from crypto import PublicKey

from ..domain.reports import follow_up_recipients
from ..web import pow as proof_of_work
from ..web import sessions, uploads
from ..web.context import settings
from ..web.limits import limited
from .blueprint import bp

PURPOSES = ("report", "message")


def recipients_for(purpose: str) -> list[PublicKey]:
    if purpose == "report":
        return [settings().team_key]
    found = sessions.reporter() if purpose == "message" else None
    if found is None:
        raise BadRequest()
    return follow_up_recipients(settings(), found[0])


@bp.post("/uploads")
@limited("UPLOAD")
def start_upload():
    purpose = request.form.get("purpose", "")
    if purpose not in PURPOSES:
        raise BadRequest()
    size = uploads.declared_size()
    recipients_for(purpose)  # a follow-up needs a signed-in reporter
    answer, signed = request.form.get("pow", ""), request.form.get("pow_challenge", "")
    if purpose == "report" and not proof_of_work.check(answer, signed):
        return uploads.refusal("proof-of-work", 403)
    found = sessions.reporter() if purpose == "message" else None
    return uploads.start(purpose, size, found[0].report if found else None)


uploads.add_part_routes(bp, recipients_for)
