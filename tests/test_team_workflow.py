"""A report's whole CVD path: states, dates, clocks, replies the reporter reads, export to the CLI."""

import datetime
import io

import pytest

from .conftest import TEAM_PASSPHRASE, csrf_token, run_cli, upload_address
from .portal_helpers import FILES, REPORT, passphrase_from, sign_in, submit_report
from .team_helpers import add_report, settings_of, team_client, team_today


@pytest.fixture
def reported(portal):
    reporter = portal.test_client()
    passphrase = passphrase_from(submit_report(reporter).data)
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        reference = Report.get().reference
    return reporter, passphrase, reference


def _post(client, path, **data):
    page = client.get("/team/")
    return client.post(path, data={"csrf_token": csrf_token(page.data), **data})


def test_every_transition_in_the_table(portal):
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report, User

    settings = settings_of(portal)
    with database.connection_context():
        user = User.create(name="t", role="handler")
        other = add_report(portal, "MP-OTHE-R000")
        for source in workflow.STATES:
            for target in workflow.STATES:
                report = add_report(portal, f"MP-{source[:4]}-{target[:4]}".upper(), state=source)
                if target in workflow.allowed(source):
                    workflow.change_state(settings, report, target, user, duplicate_of=other)
                    assert Report.get_by_id(report.id).state == target
                else:
                    with pytest.raises(workflow.TransitionRefused):
                        workflow.change_state(settings, report, target, user, duplicate_of=other)
                report.delete_instance()


def test_a_duplicate_must_name_another_report(portal, reported):
    _, _, reference = reported
    team = team_client(portal, "alice", "handler")
    response = _post(team, f"/team/reports/{reference}/state", state="duplicate", duplicate_of="MP-NONE-XIST")
    assert response.status_code == 400  # the page again, the message at the field
    assert "No report has the reference MP-NONE-XIST." in response.data.decode()
    # Without a reference the message says what is missing, not that the change is impossible.
    page = _post(team, f"/team/reports/{reference}/state", state="duplicate", duplicate_of="").data.decode()
    assert "Name the original report" in page
    assert "not possible" not in page
    page = _post(team, f"/team/reports/{reference}/state", state="duplicate", duplicate_of=reference).data.decode()
    assert "cannot be a duplicate of itself" in page


def test_reporter_sees_each_step(portal, reported):
    reporter, passphrase, reference = reported
    team = team_client(portal, "alice", "handler")
    _post(team, f"/team/reports/{reference}/state", state="acknowledged", message="We are looking into it.")
    _post(
        team,
        f"/team/reports/{reference}/dates",
        fix_expected="2026-12-15",
        disclosure_planned="2027-01-20",
        reason="vendor needs time",
    )
    for state in ("confirmed", "fixing", "resolved", "disclosed"):
        assert _post(team, f"/team/reports/{reference}/state", state=state).status_code == 303
    sign_in(reporter, passphrase)
    page = reporter.get("/mailbox?lang=en").data.decode()
    assert "Disclosed" in page
    assert "We are looking into it." in page
    assert "December 15, 2026" in page
    assert "January 20, 2027" in page
    assert "not yet" not in page.split("Acknowledged")[1][:80]
    from app.domain.db import database
    from app.domain.models import Event, Report

    with database.connection_context():
        actions = [e.action for e in Event.select().where(Event.report == Report.get(Report.reference == reference))]
    assert actions.count("state") == 5
    assert "reply" in actions
    assert "disclosure-planned" in actions


def test_changing_the_disclosure_date_needs_a_reason(portal, reported):
    _, _, reference = reported
    team = team_client(portal, "alice", "handler")
    answer = _post(team, f"/team/reports/{reference}/dates", disclosure_planned="2027-03-01")
    assert answer.status_code == 400
    assert "Give a reason" in answer.data.decode()


def test_an_expected_fix_date_can_be_saved_alone(portal, reported):
    """The form sends the disclosure date in force back unchanged: that is not a change."""
    import re

    from app.domain.db import database
    from app.domain.models import Event, Report

    _, _, reference = reported
    team = team_client(portal, "alice", "handler")
    page = team.get(f"/team/reports/{reference}").data.decode()
    shown = re.search(r'id="disclosure_planned" name="disclosure_planned" type="date" value="([0-9-]+)"', page).group(1)
    _post(team, f"/team/reports/{reference}/dates", fix_expected="2026-12-15", disclosure_planned=shown, reason="")
    after = team.get(f"/team/reports/{reference}").data.decode()
    assert "Give a reason" not in after
    assert "Dates saved." in after
    with database.connection_context():
        report = Report.get(Report.reference == reference)
        assert report.fix_expected == datetime.date(2026, 12, 15)
        assert report.disclosure_planned is None  # still the policy's default, not pinned
        changes = Event.select().where(Event.report == report, Event.action != "viewed")
        assert [e.action for e in changes] == ["fix-expected"]


def test_cra_steps_recorded_as_sent_stop_counting_as_due(portal, reported):
    from app.domain.db import database
    from app.domain.models import Report

    _, _, reference = reported
    team = team_client(portal, "alice", "handler")
    _post(team, f"/team/reports/{reference}/cra", step="aware")
    with database.connection_context():  # aware 30 hours ago: the 24 h early warning is overdue
        aware = Report.get(Report.reference == reference).cra_aware_at - datetime.timedelta(hours=30)
        Report.update(cra_aware_at=aware).execute()
    listed = team.get("/team/?show=all&lang=en").data.decode()
    assert "CRA early warning (24 h)" in listed
    _post(team, f"/team/reports/{reference}/cra", step="cra_early_warning")
    with database.connection_context():
        assert Report.get(Report.reference == reference).cra_early_warning_sent is not None
    listed = team.get("/team/?show=all&lang=en").data.decode()
    assert "CRA early warning (24 h)" not in listed
    assert "CRA notification (72 h)" in listed
    page = team.get(f"/team/reports/{reference}?lang=en").data.decode()
    assert "CRA early warning (24 h): " in page  # still listed on the report page, as done
    assert _post(team, f"/team/reports/{reference}/cra", step="cra_bogus").status_code == 400


def test_typed_reply_reaches_the_mailbox_sealed(portal, reported, team_key):
    reporter, passphrase, reference = reported
    team = team_client(portal, "alice", "handler")
    _post(team, f"/team/reports/{reference}/reply", message="Thanks, reproduced.")
    sign_in(reporter, passphrase)
    assert "Thanks, reproduced." in reporter.get("/mailbox").data.decode()
    from app.domain.blobs import BlobReader
    from app.domain.db import database
    from app.domain.models import Item
    from crypto import open_bytes

    with database.connection_context():
        reply = Item.get(Item.kind == "reply")
        assert b"Thanks, reproduced." not in BlobReader(reply).read()
        assert open_bytes(BlobReader(reply).read(), team_key)[1] == b"Thanks, reproduced."


@pytest.mark.slow  # the offline tool in a child process, with a 256 MiB key
def test_reply_made_offline_with_the_cli(portal, reported, tmp_path, team_key):
    reporter, passphrase, reference = reported
    from app.domain.db import database
    from app.domain.models import Mailbox

    with database.connection_context():
        reporter_key = Mailbox.get().public_key
    team = team_client(portal, "alice", "handler")
    (tmp_path / "reply.txt").write_text("Fixed in 4.2.2; thank you.\n")
    # The portal here runs with the session's in-memory team key; give the CLI a key file of it.
    from crypto.keyfile import TeamKey

    TeamKey(team_key.secret_bytes()).save(tmp_path / "team.key", TEAM_PASSPHRASE)
    (tmp_path / "pw").write_text(TEAM_PASSPHRASE)
    run_cli(
        "reply",
        "--to",
        reporter_key,
        "--key",
        tmp_path / "team.key",
        "--passphrase-file",
        tmp_path / "pw",
        tmp_path / "reply.txt",
        "-o",
        tmp_path / "reply.mpe",
        check=True,
    )
    page = team.get(f"/team/reports/{reference}")
    answer = team.post(
        upload_address(page.data),
        data={
            "csrf_token": csrf_token(page.data),
            "envelope": (io.BytesIO((tmp_path / "reply.mpe").read_bytes()), "reply.mpe"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 303
    assert "stored unchanged" in team.get(f"/team/reports/{reference}").data.decode()
    sign_in(reporter, passphrase)
    assert "Fixed in 4.2.2; thank you." in reporter.get("/mailbox").data.decode()


def test_reply_file_for_someone_else_is_refused(portal, reported, other_key):
    _, _, reference = reported
    from crypto import Meta, seal_bytes

    team = team_client(portal, "alice", "handler")
    page = team.get(f"/team/reports/{reference}")
    foreign = seal_bytes(b"x", [other_key.public, portal.config["TEAM_KEY"]], Meta("reply"))
    team.post(
        upload_address(page.data),
        data={"csrf_token": csrf_token(page.data), "envelope": (io.BytesIO(foreign), "r.mpe")},
        content_type="multipart/form-data",
    )
    assert "not sealed to this report" in team.get(f"/team/reports/{reference}").data.decode()
    plain = team.get(f"/team/reports/{reference}")
    team.post(
        upload_address(plain.data),
        data={"csrf_token": csrf_token(plain.data), "envelope": (io.BytesIO(b"Dear reporter"), "r.txt")},
        content_type="multipart/form-data",
    )
    assert "not a Meldpunt envelope" in team.get(f"/team/reports/{reference}").data.decode()


def _open_with_cli(bundle, team_key, tmp_path, report_md: bool = True) -> str:
    """Open an exported bundle (or collection) as the team would; the portal's team key here lives
    in memory, so the CLI gets a key file made of it. Returns report.md of a bundle."""
    from crypto.keyfile import TeamKey

    TeamKey(team_key.secret_bytes()).save(tmp_path / "team.key", TEAM_PASSPHRASE)
    (tmp_path / "pw").write_text(TEAM_PASSPHRASE)
    key = ["--key", tmp_path / "team.key", "--passphrase-file", tmp_path / "pw"]
    run_cli("open", bundle, *key, "-o", tmp_path / "out", check=True)
    return (tmp_path / "out" / "report.md").read_text() if report_md else ""


@pytest.mark.slow  # the offline tool in a child process, with a 256 MiB key
def test_export_opens_with_the_cli(portal, reported, tmp_path, team_key):
    reporter, passphrase, reference = reported
    team = team_client(portal, "alice", "handler")
    _post(team, f"/team/reports/{reference}/reply", message="Confirmed.")
    bundle = team.get(f"/team/reports/{reference}/export")
    assert bundle.status_code == 200
    assert bundle.mimetype == "application/zip"
    (tmp_path / "b.zip").write_bytes(bundle.data)
    text = _open_with_cli(tmp_path / "b.zip", team_key, tmp_path)
    assert REPORT["title"] in text
    assert REPORT["description"] in text
    assert "Confirmed." in text
    for name, content in FILES:
        assert (tmp_path / "out" / "attachments" / name).read_bytes() == content


@pytest.mark.parametrize(
    ("start", "days", "working", "due"),
    [
        ("2026-11-27", 5, False, "2026-12-02"),  # calendar days across a month end
        ("2026-11-27", 5, True, "2026-12-04"),  # Friday + 5 working days
        ("2026-12-31", 1, False, "2027-01-01"),  # year end
        ("2027-02-26", 3, True, "2027-03-03"),  # Friday before a short month's end
        ("2026-03-27", 2, False, "2026-03-29"),  # over the EU summer-time change: days are days
    ],
)
def test_deadline_arithmetic(start, days, working, due):
    from app.domain.deadlines import add_days, latest_start_due_before

    begin = datetime.date.fromisoformat(start)
    assert add_days(begin, days, working) == datetime.date.fromisoformat(due)
    cutoff = latest_start_due_before(datetime.date.fromisoformat(due) + datetime.timedelta(days=1), days, working)
    assert add_days(cutoff, days, working) < datetime.date.fromisoformat(due) + datetime.timedelta(days=1)
    assert add_days(cutoff + datetime.timedelta(days=1), days, working) >= datetime.date.fromisoformat(
        due
    ) + datetime.timedelta(days=1)


def test_cra_clock_runs_in_utc_hours(portal):
    from app.domain.deadlines import clocks
    from app.domain.models import Report

    report = Report(reference="MP-CRAC-LOCK", received=datetime.date(2026, 10, 24))
    report.cra_aware_at = datetime.datetime(2026, 10, 24, 23, 30)  # the night the clocks go back
    names = {clock.name: clock.due for clock in clocks(settings_of(portal), report)}
    assert names["cra_early_warning"] == datetime.datetime(2026, 10, 25, 23, 30)
    assert names["cra_notification"] == datetime.datetime(2026, 10, 27, 23, 30)


@pytest.mark.parametrize(
    ("utc", "status"),
    [
        ("2026-12-04T22:30", "soon"),  # 23:30 in Amsterdam: the due day is not over
        ("2026-12-04T23:30", "overdue"),  # 00:30 on the 5th in Amsterdam, still the 4th in UTC
        ("2026-12-03T22:59", "soon"),  # due tomorrow
        ("2026-12-02T22:59", "running"),
    ],
)
def test_day_clocks_count_on_the_teams_calendar(portal, utc, status):
    """A Dutch team's "within 5 days" ends at midnight in Amsterdam, not in UTC or on the server."""
    from app.domain.deadlines import clocks
    from app.domain.models import Report

    report = Report(reference="MP-ZONE-TEST", state="received", received=datetime.date(2026, 11, 29))
    moment = datetime.datetime.fromisoformat(utc)
    answer = next(clock for clock in clocks(settings_of(portal), report, moment) if clock.name == "answer")
    assert answer.due == datetime.date(2026, 12, 4)
    assert answer.status == status


def test_overdue_filter_lists_unanswered_old_reports(portal, reported):
    from app.domain.db import database
    from app.domain.models import Report

    _, _, reference = reported
    with database.connection_context():
        Report.update(received=team_today(portal) - datetime.timedelta(days=10)).execute()
        add_report(portal, "MP-FRES-H000")
    team = team_client(portal, "alice", "handler")
    page = team.get("/team/?show=overdue").data.decode()
    assert reference in page
    assert "MP-FRES-H000" not in page


def test_hall_of_fame_needs_an_explicit_action_and_can_be_withdrawn(portal, reported, client):
    _, _, reference = reported
    team = team_client(portal, "alice", "handler")
    assert "Ada L." not in client.get("/hall-of-fame").data.decode()
    _post(team, f"/team/reports/{reference}/credit", name="Ada L.")  # not resolved yet: refused
    assert "Ada L." not in client.get("/hall-of-fame").data.decode()
    for state in ("acknowledged", "confirmed", "resolved"):
        _post(team, f"/team/reports/{reference}/state", state=state)
    _post(team, f"/team/reports/{reference}/credit", name="Ada L.")
    assert "Ada L." in client.get("/hall-of-fame?lang=en").data.decode()
    assert "Eregalerij" in client.get("/hall-of-fame?lang=nl").data.decode()
    assert "Acknowledgments: http://localhost/hall-of-fame" in client.get("/.well-known/security.txt").data.decode()
    from app.domain.db import database
    from app.domain.models import Credit

    with database.connection_context():
        credit = Credit.get()
    _post(team, f"/team/reports/{reference}/credit/{credit.id}/withdraw")
    assert "Ada L." not in client.get("/hall-of-fame").data.decode()


@pytest.mark.slow  # the offline tool in a child process, with a 256 MiB key
def test_export_of_everything_changed_since_a_day(portal, reported, tmp_path, team_key):
    import zipfile

    reporter = portal.test_client()
    submit_report(reporter, files=[])
    team = team_client(portal, "alice", "handler")
    response = team.get(f"/team/export?since={team_today(portal).isoformat()}")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as outer:
        names = outer.namelist()
        assert len(names) == 2
        assert all(name.endswith(".zip") for name in names)
    # The whole collection opens as it came from the portal, one folder per report.
    (tmp_path / "since.zip").write_bytes(response.data)
    _open_with_cli(tmp_path / "since.zip", team_key, tmp_path, report_md=False)
    folders = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert folders == sorted(name.removesuffix(".zip") for name in names)
    texts = [(tmp_path / "out" / folder / "report.md").read_text() for folder in folders]
    assert sum(REPORT["title"] in text for text in texts) == 2
    later = team.get(f"/team/export?since={(team_today(portal) + datetime.timedelta(days=1)).isoformat()}")
    assert later.status_code == 303
    assert team.get("/team/export?since=yesterday").status_code == 400


def test_due_soon_filter(portal):
    from app.domain.db import database

    with database.connection_context():
        add_report(portal, "MP-SOON-0000", received=team_today(portal) - datetime.timedelta(days=4))
        add_report(portal, "MP-LATE-R000")
    team = team_client(portal, "alice", "handler")
    page = team.get("/team/?show=soon").data.decode()
    assert "MP-SOON-0000" in page
    assert "MP-LATE-R000" not in page
    newest = team.get("/team/?show=all&sort=newest").data.decode()
    assert newest.index("MP-LATE-R000") < newest.index("MP-SOON-0000")


def test_list_filters_by_state(portal):
    from app.domain.db import database

    with database.connection_context():
        add_report(portal, "MP-FIXI-NG00", state="fixing")
        add_report(portal, "MP-SPAM-0000", state="spam")
    team = team_client(portal, "alice", "handler")
    page = team.get("/team/?show=fixing").data.decode()
    assert "MP-FIXI-NG00" in page
    assert "MP-SPAM-0000" not in page
    assert "MP-SPAM-0000" in team.get("/team/?show=closed").data.decode()


def _statements(client, path: str) -> list[tuple[str, tuple]]:
    """The SQL statements one request runs, with their parameters."""
    from app.domain.db import database

    seen = []
    real = database.obj.execute_sql

    def recording(sql, params=None, *args, **kwargs):
        seen.append((sql, tuple(params or ())))
        return real(sql, params, *args, **kwargs)

    database.obj.execute_sql = recording
    try:
        assert client.get(path).status_code == 200
    finally:
        database.obj.execute_sql = real
    return seen


def _queries(portal, client, path: str) -> int:
    """How many SQL statements one request runs."""
    return len(_statements(client, path))


def test_the_report_page_loads_its_history_in_one_query(portal, reported):
    """Events and the names of who did them come in one query, whatever the history's length."""
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report, User

    _, _, reference = reported
    team = team_client(portal, "alice", "handler")
    path = f"/team/reports/{reference}"
    few = _queries(portal, team, path)
    with database.connection_context():
        report = Report.get(Report.reference == reference)
        for number in range(20):
            workflow.record(report, User.create(name=f"member-{number}", role="handler"), "export")
    assert _queries(portal, team, path) == few
    assert "member-19" in team.get(path).data.decode()


def test_a_follow_up_counts_as_a_change_for_the_export_since_a_day(portal, reported):
    """The team's morning export (everything changed since yesterday) must carry the reporter's news."""
    from app.domain.db import database
    from app.domain.models import Report

    reporter, passphrase, reference = reported
    long_ago = team_today(portal) - datetime.timedelta(days=30)
    with database.connection_context():
        Report.update(updated=long_ago).execute()
    sign_in(reporter, passphrase)
    page = reporter.get("/mailbox")
    reporter.post(
        upload_address(page.data),
        data={"csrf_token": csrf_token(page.data), "message": "One more detail."},
        content_type="multipart/form-data",
    )
    with database.connection_context():
        assert Report.get(Report.reference == reference).updated == team_today(portal)


def test_a_state_change_with_a_message_to_a_closed_mailbox_changes_nothing(portal):
    """Review of issue 11: it answered 404 and lost the state change."""
    from app.domain.db import database
    from app.domain.models import Report

    from .portal_helpers import passphrase_from, sign_in

    reporter = portal.test_client()
    sign_in(reporter, passphrase_from(submit_report(reporter, files=[]).data))
    page = reporter.get("/mailbox/close")
    reporter.post("/mailbox/close", data={"csrf_token": csrf_token(page.data), "confirm": "y"})
    with database.connection_context():
        reference = Report.get().reference
    team = team_client(portal, "alice", "handler")
    answer = _post(team, f"/team/reports/{reference}/state", state="acknowledged", message="Thanks!")
    assert answer.status_code == 400  # the page again, the message at the field
    assert "no mailbox any more" in answer.data.decode()
    with database.connection_context():
        assert Report.get().state == "received"
    _post(team, f"/team/reports/{reference}/state", state="acknowledged")
    with database.connection_context():
        assert Report.get().state == "acknowledged"
