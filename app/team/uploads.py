"""The part endpoints for replies the team seals in the browser, behind the blueprint's
deny-by-default role table (admins and handlers). Each upload names the report it answers and
must be sealed to exactly that report's reporter and the team key."""

from flask import request
from werkzeug.exceptions import BadRequest

from crypto import PublicKey

from ..domain.models import Report
from ..domain.reports import reply_recipients
from ..web import uploads
from ..web.context import settings
from ..web.limits import limited
from .blueprint import bp
from .replies import reply_purpose, report_replied_to


def recipients_for(purpose: str) -> list[PublicKey]:
    row = report_replied_to(purpose)
    if row is None:
        raise BadRequest()
    return reply_recipients(settings(), row)


@bp.post("/uploads")
@limited("UPLOAD")
def start_upload():
    row = Report.get_or_none(Report.reference == request.form.get("report", ""))
    if row is None:  # the only purpose here is a reply; `report` names the report it answers
        raise BadRequest()
    size = uploads.declared_size()
    reply_recipients(settings(), row)  # a report without a mailbox takes no reply
    return uploads.start(reply_purpose(row), size)  # the team's replies are not the reporter's quota


uploads.add_part_routes(bp, recipients_for)
