"""The JavaScript path: envelopes sealed in the browser arrive here in parts.

Each upload belongs to the session that started it (the handle alone is not enough) and to one
purpose: a report (sealed to the team) or a follow-up (sealed to the team and the reporter).
"""

from flask import current_app, jsonify, request, session
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, Forbidden

from crypto import PublicKey

from .. import pow
from ..limits import limited
from ..models import Item, Mailbox, Report, User
from ..parts import PART_BYTES, UPLOADS, PartRefused, start, store_part
from ..reporting import team_key
from . import bp

PURPOSES = ("report", "message", "reply")
MAX_UPLOADS_PER_SESSION = 64
# The padding adds at most 6.25 %, the chunks 17 bytes in 64 KiB; this covers both, with room.
SIZE_MARGIN = 1.07


def budget() -> int:
    config = current_app.config
    return int((config["MELDPUNT_MAX_UPLOAD_BYTES"] + 8 * config["MELDPUNT_MAX_TEXT_CHARS"]) * SIZE_MARGIN) + 2**20


def recipients_for(purpose: str, report_id: int | None = None) -> list[PublicKey]:
    """Report: the team. Follow-up: the team and the signed-in reporter. Reply: the reporter of
    `report_id` and the team, for a signed-in handler or admin only."""
    if purpose == "report":
        return [team_key()]
    if purpose == "reply":
        user = User.get_or_none(User.id == session.get("team_user", -1))
        mailbox = Mailbox.get_or_none(Mailbox.report == report_id)
        if user is None or not user.enrolled or user.disabled or user.role not in ("admin", "handler") or not mailbox:
            raise Forbidden()
        return [PublicKey.parse(mailbox.public_key), team_key()]
    mailbox = Mailbox.get_or_none(Mailbox.id == session.get("mailbox", -1))
    if mailbox is None:
        raise BadRequest()
    return [team_key(), PublicKey.parse(mailbox.public_key)]


def _refusal(code: str, status: int = 400, **extra):
    messages = {
        "not-an-envelope": _("This upload is not an envelope sealed by this page. Reload the page and try again."),
        "wrong-recipients": _("This upload is not sealed to this portal's keys. Reload the page and try again."),
        "too-large": _("What you sent is larger than this portal accepts."),
        "unknown-upload": _("This upload is unknown or has expired. Reload the page and try again."),
        "out-of-order": _("A part arrived out of order; the upload continues from the last stored part."),
        "wrong-part-size": _("A part has the wrong size. Reload the page and try again."),
        "proof-of-work": _("The anti-spam check did not succeed. Reload the page and try again."),
    }
    return jsonify(error=code, message=messages[code], **extra), status


@bp.post("/uploads")
@limited("UPLOAD")
def start_upload():
    purpose = request.form.get("purpose", "")
    try:
        size = int(request.form.get("size", ""))
    except ValueError:
        raise BadRequest() from None
    if purpose not in PURPOSES or size <= 0:
        raise BadRequest()
    report = Report.get_or_none(Report.reference == request.form.get("report", "")) if purpose == "reply" else None
    recipients_for(purpose, report.id if report else None)  # follow-ups and replies need a sign-in
    if purpose == "report" and not pow.check(request.form.get("pow", "")):
        return _refusal("proof-of-work", 403)
    uploads = dict(session.get(UPLOADS) or {})
    spent = sum(row.expected_size for row in Item.select().where(Item.handle.in_(list(uploads))))
    if size + spent > budget() or len(uploads) >= MAX_UPLOADS_PER_SESSION:
        return _refusal("too-large", 413)
    item = start(size)
    uploads[item.handle] = f"reply:{report.id}" if report else purpose
    session[UPLOADS] = uploads
    return jsonify(id=item.handle, part_size=PART_BYTES, received=0)


def _own_upload(handle: str) -> tuple[Item, str] | None:
    purpose = (session.get(UPLOADS) or {}).get(handle)
    item = Item.get_or_none(Item.handle == handle) if purpose else None
    return (item, purpose) if item else None


@bp.put("/uploads/<handle>/<int:number>")
def upload_part(handle: str, number: int):
    owned = _own_upload(handle)
    if owned is None:
        return _refusal("unknown-upload", 404)
    item, purpose = owned
    data = request.get_data(cache=False)
    kind, _colon, report_id = purpose.partition(":")
    try:
        item = store_part(item, number, data, recipients_for(kind, int(report_id) if report_id else None))
    except PartRefused as refused:
        return _refusal(refused.code, refused.status, received=refused.received)
    return jsonify(received=item.parts, complete=item.complete)


@bp.get("/uploads/<handle>")
def upload_status(handle: str):
    owned = _own_upload(handle)
    if owned is None:
        return _refusal("unknown-upload", 404)
    item, _purpose = owned
    return jsonify(received=item.parts, size=item.size, complete=item.complete)
