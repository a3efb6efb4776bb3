"""Replies to the reporter: typed here (sealed in the browser, or on the server without
JavaScript) or made offline with `meldpunt-team reply` and uploaded unchanged."""

from flask import abort, g, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import workflow
from ..domain.blobs import BlobReader
from ..domain.db import database
from ..domain.errors import NotFound, UploadRefused
from ..domain.models import Mailbox, Report
from ..domain.reports import adopt_reply, reply_recipients, sealed_reply
from ..domain.uploads import check_envelope
from ..web import uploads
from ..web.context import settings
from ..web.csrf import csrf
from ..web.limits import per_report
from .blueprint import bp
from .forms import AcknowledgeForm, ReplyForm
from .reports import back, checked_form, find_report, report_page

REPLY = "reply:"  # an upload's purpose: a reply to the report with this reference


def reply_purpose(row: Report) -> str:
    return f"{REPLY}{row.reference}"


def report_replied_to(purpose: str) -> Report | None:
    """The report an upload with this purpose answers (the inverse of `reply_purpose`)."""
    if not purpose.startswith(REPLY):
        return None
    return Report.get_or_none(Report.reference == purpose.removeprefix(REPLY))


def _this_report() -> str:
    return f"report:{request.view_args.get('reference')}"


@bp.post("/reports/<reference>/reply")
@per_report("REPLY", _this_report)
def reply(reference: str):
    """A reply typed here without JavaScript: sealed on the server."""
    checked_form()
    row = find_report(reference)
    form = ReplyForm()
    if not form.validate_on_submit():
        return report_page(row, form)
    with sealed_reply(settings(), row, form.message.data.strip()) as reply, database.atomic():
        adopt_reply(row, reply)
        _replied(row, "typed in the workspace")
    return back(reference, _sent())


@bp.post("/reports/<reference>/reply/sealed")
@per_report("REPLY", _this_report)
def reply_sealed(reference: str):
    """A reply typed here and sealed in the browser: adopted unchanged."""
    checked_form()
    row = find_report(reference)
    items = uploads.claim(reply_purpose(row))
    if items is None or len(items) != 1:
        abort(400)
    with database.atomic():
        adopt_reply(row, items[0])
        _replied(row, "sealed in the browser")
    uploads.forget(uploads.sealed_handles())
    return back(reference, _sent())


def _sent() -> str:
    return _("The reply is sealed to the reporter and the team.")


def _replied(row: Report, how: str) -> None:
    workflow.record(row, g.user, "reply", how)
    workflow.touch(settings(), row)
    workflow.mark_news(row)


@bp.post("/reports/<reference>/acknowledge")
@per_report("REPLY", _this_report)
def acknowledge(reference: str):
    """The team's first answer, as the policy promises it: the assessment (a reply, sealed on the
    server to the reporter and the team like any typed without JavaScript) and the expected fix
    date, with the state "acknowledged", in one transaction."""
    checked_form()
    row = find_report(reference)
    # What the form cannot mend is said first: the form is not on the page any more.
    if row.acknowledged is not None or "acknowledged" not in workflow.allowed(row.state):
        return back(reference, _("That change is not possible from the current state."))
    if Mailbox.get_or_none(Mailbox.report == row) is None:
        return back(reference, _closed())
    form = AcknowledgeForm(row)
    if not form.validate_on_submit():
        return report_page(row, form)
    try:
        with sealed_reply(settings(), row, form.assessment.data.strip()) as reply, database.atomic():
            workflow.acknowledge(settings(), row, g.user, adopt_reply(row, reply), form.fix_expected.data)
    except NotFound:
        return back(reference, _closed())
    except workflow.AlreadyAcknowledged:  # a second click or tab: rolled back, "already sent" (409)
        abort(409)
    return back(reference, _("Acknowledged: the assessment is sealed to the reporter and the team."))


def _closed() -> str:
    return _("The reporter has no mailbox any more: acknowledge with a state change instead.")


@bp.post("/reports/<reference>/reply-file")
@csrf.exempt  # checked inside, after the file part has streamed in
@per_report("REPLY", _this_report)
@uploads.accepts_uploads
def reply_file(reference: str):
    """An envelope made offline with `meldpunt-team reply`: stored unchanged if it is addressed to
    exactly this report's reporter and the team key and has an envelope's shape (`check_envelope`);
    otherwise deleted again, and the report page says why."""
    row = find_report(reference)
    recipients = reply_recipients(settings(), row)
    files, form, stored = uploads.stream(FlaskForm, [], "reply", settings().max_upload_bytes, seal=False)
    try:
        if files.refused or not form.validate_on_submit():
            abort(400)
        if len(stored) != 1:
            files.discard()
            return back(reference, _("Choose one reply file (.mpe) made with meldpunt-team reply."))
        check_envelope(BlobReader(stored[0]), recipients, stored[0].size)
    except UploadRefused as refused:
        files.discard()
        return back(reference, _refusal(refused.code))
    except BaseException:
        files.discard()
        raise
    with database.atomic():
        adopt_reply(row, stored[0])
        _replied(row, "uploaded envelope")
    return back(reference, _("The reply is stored unchanged; the reporter can read it."))


def _refusal(code: str) -> str:
    """What to tell the team about a reply file `check_envelope` refused."""
    messages = {
        "wrong-recipients": _("This envelope is not sealed to this report's reporter and the team key."),
        "unsupported-version": _(
            "This envelope has a format version this portal does not take: make the reply with the "
            "meldpunt-team version that matches the portal."
        ),
        "impossible-size": _(
            "This envelope is not whole: no envelope has its size. It was cut off or changed; "
            "make the reply again with meldpunt-team reply."
        ),
        "unopenable": _(
            "This envelope cannot be opened: an entry in its header opens for no key. "
            "Make the reply again with meldpunt-team reply."
        ),
    }
    return messages.get(code, _("This file is not a Meldpunt envelope."))
