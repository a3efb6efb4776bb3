"""Replies to the reporter: typed here (sealed in the browser, or on the server without
JavaScript) or made offline with `meldpunt-team reply` and uploaded unchanged."""

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crypto import CryptoError, PublicKey
from crypto.envelope import read_header

from .. import csrf, parts, workflow
from ..blobs import BlobReader
from ..db import database
from ..models import Mailbox, Report, today
from ..reporting import adopt_reply, seal_reply, team_key
from ..uploads import receive
from . import bp
from .reports import checked_form, find_report


@bp.post("/reports/<reference>/reply")
def reply(reference: str):
    """A reply typed here (sealed on the server) or made offline with `meldpunt-team reply`."""
    checked_form()
    row = find_report(reference)
    if "sealed_reply" in request.form:  # sealed in the browser: adopt the envelope unchanged
        handle = request.form["sealed_reply"]
        items = parts.claim([handle], f"reply:{row.id}")
        if items is None:
            abort(400)
        with database.atomic():
            adopt_reply(row, items[0])
            _replied(row, "sealed in the browser")
        parts.forget([handle])
        return _back(reference, _("The reply is sealed to the reporter and the team."))
    text = request.form.get("message", "").strip()
    if not text:
        return _back(reference, _("Write a reply first."))
    with database.atomic():
        seal_reply(row, text)
        _replied(row, "typed in the workspace")
    return _back(reference, _("The reply is sealed to the reporter and the team."))


def _replied(row: Report, how: str) -> None:
    workflow.record(row, g.user, "reply", how)
    row.updated = today()
    row.save()


def _back(reference: str, message: str):
    flash(message)
    return redirect(url_for("team.report", reference=reference), code=303)


@bp.post("/reports/<reference>/reply-file")
@csrf.exempt  # checked inside, after the file part has streamed in
def reply_file(reference: str):
    """An envelope made offline with `meldpunt-team reply`: stored unchanged if it is addressed to
    exactly this report's reporter and the team key."""
    row = find_report(reference)
    mailbox = Mailbox.get_or_none(Mailbox.report == row)
    if mailbox is None:
        abort(404)
    budget = current_app.config["MELDPUNT_MAX_UPLOAD_BYTES"]
    upload, form, stored = receive(FlaskForm, [], "reply", budget, seal=False)
    try:
        if not form.validate_on_submit():
            abort(400)
        if len(stored) != 1:
            raise _Refused(_("Choose one reply file (.mpe) made with meldpunt-team reply."))
        try:
            header = read_header(BlobReader(stored[0]))
        except CryptoError:
            raise _Refused(_("This file is not a Meldpunt envelope.")) from None
        if not header.addressed_to([team_key(), PublicKey.parse(mailbox.public_key)]):
            raise _Refused(_("This envelope is not sealed to this report's reporter and the team key."))
    except _Refused as refused:
        upload.discard()
        return _back(reference, str(refused))
    except BaseException:
        upload.discard()
        raise
    with database.atomic():
        adopt_reply(row, stored[0])
        _replied(row, "uploaded envelope")
    return _back(reference, _("The reply is stored unchanged; the reporter can read it."))


class _Refused(Exception):
    pass
