"""The part endpoints for what reporters seal in the browser: a report (sealed to the team and the
reporter's public key, which the browser derived and names when the upload starts) or a follow-up
(sealed to the team and the signed-in reporter). The team's replies have their own endpoints
behind the team blueprint's access rules (app/team/uploads.py)."""

from flask import request, session
from werkzeug.exceptions import BadRequest

from crypto import InvalidPublicKey, PublicKey, primitives

from ..domain.reports import follow_up_recipients
from ..web import pow as proof_of_work
from ..web import sessions, uploads
from ..web.context import settings
from ..web.limits import limited
from .blueprint import bp
from .forms import HEX_32

PURPOSES = ("report", "message")
REPORT_KEY = "report_key"  # session key: the reporter's public key (hex) this session's report is sealed to


def report_key() -> PublicKey | None:
    """The public key this session's report uploads were started with, or None."""
    value = session.get(REPORT_KEY)
    return parse_key(value) if isinstance(value, str) else None


def parse_key(value: str) -> PublicKey | None:
    """The reporter's public key as the browser names it, or None. A key of small order is refused
    (nothing sealed to it could be opened, and libsodium refuses to seal to it: every reply the team
    sends would fail), and so is the team's own key."""
    if not HEX_32.regex.match(value):
        return None
    try:
        key = PublicKey(bytes.fromhex(value))
    except InvalidPublicKey:
        return None
    if primitives.small_order(key.raw) or key.raw == settings().team_key.raw:
        return None
    return key


def recipients_for(purpose: str) -> list[PublicKey]:
    if purpose == "report":
        key = report_key()
        if key is None:
            raise BadRequest()
        return [settings().team_key, key]
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
    if purpose == "message":
        found = sessions.reporter()  # a follow-up needs a signed-in reporter
        if found is None:
            raise BadRequest()
        return uploads.start(purpose, size, found[0].report)
    key = parse_key(request.form.get("reporter_key", ""))  # a report names its reporter's public key
    if key is None:
        raise BadRequest()
    if not proof_of_work.check(request.form.get("pow", ""), request.form.get("pow_challenge", "")):
        return uploads.refusal("proof-of-work", 403)
    _keep_report_key(key)
    return uploads.start(purpose, size)


def _keep_report_key(key: PublicKey) -> None:
    """All of one report's uploads are sealed to the same reporter key: a new key (the browser
    made a new identity to send again) lets go of the uploads started with the one before, so
    every upload `/report/sealed` claims was checked against the key it names."""
    if session.get(REPORT_KEY) != key.raw.hex():
        owned = session.get(uploads.OWNED) or {}
        uploads.forget([handle for handle, purpose in dict(owned).items() if purpose == "report"])
        session[REPORT_KEY] = key.raw.hex()


uploads.add_part_routes(bp, recipients_for)
