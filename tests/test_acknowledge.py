"""The team's first answer in the shape the policy promises (issue 13, part 4): acknowledging
takes the assessment, sealed to the reporter and the team like any reply, and the expected fix
date; the mailbox shows them as such, and lists what the reporter sent and received."""

import datetime
import re

import pytest

from crypto import open_bytes

from .conftest import csrf_token, upload_address
from .portal_helpers import FILES, passphrase_from, sign_in, submit_report
from .team_helpers import team_client, team_today

ASSESSMENT = "ASSESSMENT-4d2f: confirmed, severity high; the parser trusts the length field."


@pytest.fixture
def reported(portal):
    reporter = portal.test_client()
    passphrase = passphrase_from(submit_report(reporter).data)
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        reference = Report.get().reference
    return portal, reporter, passphrase, reference, team_client(portal, "handler", "handler")


def _acknowledge(team, reference, assessment=ASSESSMENT, fix="default", portal=None):
    page = team.get(f"/team/reports/{reference}")
    if fix == "default":
        fix = (team_today(portal) + datetime.timedelta(days=30)).isoformat()
    data = {"csrf_token": csrf_token(page.data), "assessment": assessment, "fix_expected": fix}
    return team.post(f"/team/reports/{reference}/acknowledge", data=data)


def _report():
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        return Report.get()


def test_the_report_page_offers_acknowledging_with_an_assessment_and_a_fix_date(reported):
    _portal, _reporter, _passphrase, reference, team = reported
    page = team.get(f"/team/reports/{reference}?lang=en").data.decode()
    assert f'action="/team/reports/{reference}/acknowledge"' in page
    assert 'name="assessment"' in page
    assert 'id="ack-fix-expected"' in page
    # The plain state change no longer offers "acknowledged" on its own; the exits stay.
    assert 'type="radio" value="acknowledged"' not in page
    assert 'type="radio" value="spam"' in page


def test_acknowledging_seals_the_assessment_and_sets_the_fix_date(reported, team_key):
    portal, reporter, passphrase, reference, team = reported
    fix = team_today(portal) + datetime.timedelta(days=30)
    response = _acknowledge(team, reference, fix=fix.isoformat())
    assert response.status_code == 303
    report = _report()
    assert report.state == "acknowledged"
    assert report.acknowledged == team_today(portal)
    assert report.fix_expected == fix

    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Event, Item, Mailbox

    with database.connection_context():
        [item] = list(Item.select().where(Item.assessment))
        assert item.kind == "reply"
        _meta, body = open_bytes(BlobReader(item).read(), team_key)  # sealed to the team too
        assert body.decode() == ASSESSMENT
        assert Mailbox.get().news_pending  # news for the reporter
        actions = [(e.action, e.detail) for e in Event.select().where(Event.report == report.id).order_by(Event.seq)]
    assert ("state", "received → acknowledged") in actions
    assert ("fix-expected", fix.isoformat()) in actions
    assert ("reply", "the assessment, with the acknowledgment") in actions
    assert not [detail for _action, detail in actions if "4d2f" in detail]  # the text stays sealed

    # The mailbox shows it as the assessment, with the expected fix date, once.
    sign_in(reporter, passphrase)
    page = reporter.get("/mailbox?lang=en").data.decode()
    section = page[page.index('id="assessment"') : page.index("<h2>Messages</h2>")]
    assert "<h2>The team's assessment</h2>" in section
    assert ASSESSMENT in section
    assert "Expected fix date" in section
    assert page.count("ASSESSMENT-4d2f") == 1
    # The team's workspace marks it too, without its text.
    team_page = team.get(f"/team/reports/{reference}?lang=en").data.decode()
    assert "reply (assessment)" in team_page
    assert "4d2f" not in team_page
    # Acknowledged once: the form is gone, and a second try changes nothing.
    assert f"/team/reports/{reference}/acknowledge" not in team_page
    _acknowledge(team, reference, "another one", portal=portal)
    with database.connection_context():
        assert Item.select().where(Item.assessment).count() == 1


@pytest.mark.parametrize(
    ("assessment", "fix", "field", "message"),
    [
        ("", "default", "assessment", "Please fill in this field."),
        ("   ", "default", "assessment", "Please fill in this field."),
        (ASSESSMENT, "", "ack-fix-expected", "Please fill in this field."),
        (ASSESSMENT, "30-02-2026", "ack-fix-expected", "Give a date as year-month-day"),
    ],
)
def test_acknowledging_needs_both_and_changes_nothing_without(reported, assessment, fix, field, message):
    portal, _reporter, _passphrase, reference, team = reported
    response = _acknowledge(team, reference, assessment, fix, portal=portal)
    assert response.status_code == 400  # the page again, the message at the field, the rest kept
    page = response.data.decode()
    assert f'<a href="#{field}">' in page
    assert f'<p class="error" id="{field}-error"><span class="visually-hidden">Error:</span> {message}' in page
    if assessment.strip():
        assert ASSESSMENT in page
    if fix not in ("", "default"):
        assert f'value="{fix}"' in page
    report = _report()
    assert report.state == "received"
    assert report.acknowledged is None
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        assert Item.select().where(Item.kind == "reply").count() == 0


def test_acknowledging_after_the_reporter_closed_their_mailbox_says_so(reported):
    portal, reporter, passphrase, reference, team = reported
    sign_in(reporter, passphrase)
    page = reporter.get("/mailbox/close")
    reporter.post("/mailbox/close", data={"csrf_token": csrf_token(page.data), "confirm": "y"})
    team_page = team.get(f"/team/reports/{reference}?lang=en").data.decode()
    assert f"/team/reports/{reference}/acknowledge" not in team_page
    assert 'type="radio" value="acknowledged"' in team_page  # a plain state change instead
    _acknowledge(team, reference, portal=portal)
    assert _report().state == "received"
    assert "acknowledge with a state change instead" in team.get(f"/team/reports/{reference}?lang=en").data.decode()


def test_the_mailbox_lists_what_was_sent_and_received(reported):
    portal, reporter, passphrase, reference, team = reported
    _acknowledge(team, reference, portal=portal)
    sign_in(reporter, passphrase)
    page = reporter.get("/mailbox?lang=en")
    data = {"csrf_token": csrf_token(page.data), "message": "Another detail."}
    sent = reporter.post(upload_address(page.data), data=data, content_type="multipart/form-data")
    assert sent.status_code == 302
    html = reporter.get("/mailbox?lang=en").data.decode()
    table = html[html.index('<table class="items">') : html.index("</table>", html.index('<table class="items">'))]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", table)
    kinds = [kind for kind, _size, _day in rows]
    assert kinds == ["Your report", "Attachment", "Attachment", "Reply from the team", "Your message"]
    from app.domain.db import database
    from app.domain.models import Item

    with database.connection_context():
        sizes = [item.size for item in Item.select().where(Item.complete).order_by(Item.position, Item.id)]
    assert [size for _kind, size, _day in rows] == [_size_en(size) for size in sizes]
    assert max(sizes) > len(FILES[1][1])  # the screenshot: MiB or KiB, formatted
    day = team_today(portal)
    assert all(shown.strip() for _kind, _size, shown in rows)
    assert day.strftime("%Y") in table


def _size_en(size: int) -> str:
    for factor, unit in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if size >= factor:
            number = f"{size / factor:,.1f}".removesuffix(".0")
            return f"{number} {unit}"
    return f"{size:,} bytes"


def test_sizes_are_formatted_in_the_page_s_language(reported):
    portal, reporter, passphrase, _reference, _team = reported
    sign_in(reporter, passphrase)
    from app.web.i18n import size

    with portal.test_request_context("/?lang=nl"):
        assert size(1536) == "1,5 KiB"
        assert size(3 * 1024**2 + 200 * 1024) == "3,2 MiB"
        assert size(1) == "1 byte"
        assert size(2500) == "2,4 KiB"
    with portal.test_request_context("/?lang=en"):
        assert size(1536) == "1.5 KiB"
        assert size(500) == "500 bytes"
        assert size(1) == "1 byte"
        assert size(5 * 1024**3) == "5 GiB"


def test_a_second_acknowledgment_with_a_stale_row_stores_nothing(reported):
    """A double click: both requests read the report before either acknowledged it. The second
    is refused in its transaction (the report read again there, locked on PostgreSQL), so there
    is one assessment and one `received → acknowledged` (the web answers 409)."""
    portal, _reporter, _passphrase, _reference, _team = reported
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Event, Item, Report, User
    from app.domain.reports import adopt_reply, sealed_reply
    from app.web.context import EXTENSION

    settings = portal.extensions[EXTENSION]
    fix = team_today(portal) + datetime.timedelta(days=30)
    with database.connection_context():
        first, second = Report.get(), Report.get()  # both read before either acknowledged
        user = User.get(User.name == "handler")
        for stale in (first, second):
            try:
                with sealed_reply(settings, stale, ASSESSMENT) as reply, database.atomic():
                    workflow.acknowledge(settings, stale, user, adopt_reply(stale, reply), fix)
            except workflow.AlreadyAcknowledged:
                assert stale is second
        assert Item.select().where(Item.assessment).count() == 1
        assert Item.select().where(Item.kind == "reply").count() == 1  # the second rolled back
        states = [e for e in Event.select().where(Event.action == "state") if "acknowledged" in e.detail]
        assert len(states) == 1


def test_acknowledging_does_not_overwrite_a_state_changed_meanwhile(reported):
    portal, _reporter, _passphrase, _reference, _team = reported
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report, User
    from app.domain.reports import adopt_reply, sealed_reply
    from app.web.context import EXTENSION

    settings = portal.extensions[EXTENSION]
    with database.connection_context():
        stale = Report.get()
        user = User.get(User.name == "handler")
        workflow.change_state(settings, Report.get(), "acknowledged", user)  # another tab, first
        with (
            pytest.raises(workflow.AlreadyAcknowledged),
            sealed_reply(settings, stale, ASSESSMENT) as reply,
            database.atomic(),
        ):
            workflow.acknowledge(settings, stale, user, adopt_reply(stale, reply), team_today(portal))
        assert Report.get().state == "acknowledged"
