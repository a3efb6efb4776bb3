"""Four eyes for the dangerous actions (issue 11, point 5): creating an admin, lifting a legal hold,
a retention period below its default and switching off the history's verification each need a
second person. For each: one person alone cannot (approving their own proposal is refused and
changes nothing), a handler cannot approve, an auditor or a second admin can and then it takes
effect; rejection and withdrawal change nothing; every step is in the history."""

import datetime
import re

import pytest

from .conftest import csrf_token
from .team_helpers import add_report, settings_of, team_client, team_today


def _db(portal):
    from app.domain.db import database

    return database.connection_context()


def _post(client, path: str, **data):
    token = csrf_token(client.get("/team/signin").data)
    return client.post(path, data={"csrf_token": token, **data})


def _decide(client, proposal_id: int, decision: str, where: str = "team", **extra):
    return _post(client, f"/{where}/proposals/{proposal_id}", decision=decision, **extra)


def _proposal():
    from app.domain.models import Proposal

    return Proposal.select().order_by(Proposal.id.desc()).get()


def _entries(*actions: str) -> list[tuple[str, str]]:
    from app.domain.models import Event

    rows = Event.select().where(Event.action.in_(actions)).order_by(Event.seq)
    return [(row.actor, row.action) for row in rows]


@pytest.fixture
def people(portal):
    """Two admins, an auditor and a handler, each signed in."""
    return {
        "ada": team_client(portal, "ada", "admin"),
        "bert": team_client(portal, "bert", "admin"),
        "olga": team_client(portal, "olga", "auditor"),
        "hank": team_client(portal, "hank", "handler"),
    }


# --- creating an admin ---------------------------------------------------------------------


def test_a_handler_or_auditor_is_made_at_once_with_its_link(portal, people):
    from app.domain.models import User

    page = _post(people["ada"], "/team/users/new", name="  new   helper ", role="handler")
    assert page.status_code == 200
    assert "/team/enrol/" in page.data.decode()
    with _db(portal):
        made = User.get(User.name == "new helper")
        assert (made.role, made.enrolled) == ("handler", False)
        assert _entries("user-add") == [("ada", "user-add")]
    # A name taken, or none, is refused with a message.
    assert _post(people["ada"], "/team/users/new", name="new helper", role="auditor").status_code == 303
    assert "exists already" in people["ada"].get("/team/users?lang=en").data.decode()
    assert _post(people["ada"], "/team/users/new", name=" ", role="auditor").status_code == 303
    assert _post(people["ada"], "/team/users/new", name="x", role="owner").status_code == 400
    assert _post(people["hank"], "/team/users/new", name="mine", role="handler").status_code == 403


def test_a_new_admin_needs_a_second_person(portal, people):
    from app.domain import chain
    from app.domain.models import Proposal, User

    ada, bert, olga, hank = people["ada"], people["bert"], people["olga"], people["hank"]
    answer = _post(ada, "/team/users/new", name="carol", role="admin")
    assert answer.status_code == 303
    with _db(portal):
        assert not User.select().where(User.name == "carol").exists()
        proposal = _proposal()
        assert (proposal.action, proposal.subject, proposal.value, proposal.state) == (
            "create-admin",
            "carol",
            "admin",
            "open",
        )
        assert proposal.proposed_by == "ada"
    page = ada.get("/team/users?lang=en").data.decode()
    assert "A new admin account: carol" in page
    assert 'value="withdraw"' in page
    assert 'value="approve"' not in page
    assert 'value="approve"' in bert.get("/team/users?lang=en").data.decode()

    # One person alone cannot: the proposer's approval is refused, on record, and changes nothing.
    assert _decide(ada, proposal.id, "approve").status_code == 403
    assert _decide(ada, proposal.id, "approve", where="audit").status_code == 403
    assert _decide(ada, proposal.id, "reject").status_code == 403
    # Nor can a handler, under either address; nor can the auditor withdraw it.
    assert _decide(hank, proposal.id, "approve").status_code == 403
    assert _decide(hank, proposal.id, "approve", where="audit").status_code == 403
    assert _decide(olga, proposal.id, "withdraw", where="audit").status_code == 403
    with _db(portal):
        assert Proposal.get_by_id(proposal.id).state == "open"
        assert not User.select().where(User.name == "carol").exists()
        assert ("ada", "refused") in _entries("refused")

    # The auditor approves: the account exists, and the link is shown to them, once.
    approved = _decide(olga, proposal.id, "approve", where="audit")
    assert approved.status_code == 200
    assert approved.headers["Cache-Control"] == "no-store"
    link = re.search(r"/team/enrol/([A-Za-z0-9_-]+)", approved.data.decode())
    assert link is not None
    with _db(portal):
        carol = User.get(User.name == "carol")
        assert (carol.role, carol.enrolled) == ("admin", False)
        decided = Proposal.get_by_id(proposal.id)
        assert (decided.state, decided.decided_by) == ("approved", "olga")
        assert decided.decider_id == User.get(User.name == "olga").id
        assert decided.decided_at is not None
        assert _entries("proposal-opened", "proposal-approved", "user-add") == [
            ("ada", "proposal-opened"),
            ("olga", "proposal-approved"),
            ("olga", "user-add"),
        ]
        assert chain.verify().ok
    assert portal.test_client().get(f"/team/enrol/{link.group(1)}").status_code == 200
    assert "/team/enrol/" not in olga.get("/audit/proposals").data.decode()  # shown once
    # Decided is decided: a second approval changes nothing.
    assert _decide(bert, proposal.id, "approve").status_code == 303
    with _db(portal):
        assert User.select().where(User.name == "carol").count() == 1


def test_a_second_admin_approves_under_team(portal, people):
    from app.domain.models import User

    _post(people["ada"], "/team/users/new", name="dirk", role="admin")
    with _db(portal):
        proposal = _proposal()
    approved = _decide(people["bert"], proposal.id, "approve", back="users")
    assert approved.status_code == 200
    assert "/team/enrol/" in approved.data.decode()
    with _db(portal):
        assert User.get(User.name == "dirk").role == "admin"


def test_a_rejected_or_withdrawn_admin_is_never_made(portal, people):
    from app.domain import chain
    from app.domain.models import Proposal, User

    _post(people["ada"], "/team/users/new", name="eve", role="admin")
    with _db(portal):
        first = _proposal()
    # The same account cannot be proposed twice at once.
    _post(people["bert"], "/team/users/new", name="eve", role="admin")
    with _db(portal):
        assert Proposal.select().count() == 1
    assert _decide(people["olga"], first.id, "reject", where="audit").status_code == 303
    _post(people["ada"], "/team/users/new", name="eve", role="admin")
    with _db(portal):
        second = _proposal()
        assert second.id != first.id
    assert _decide(people["bert"], second.id, "withdraw").status_code == 403  # only the proposer withdraws
    assert _decide(people["ada"], second.id, "withdraw").status_code == 303
    assert _decide(people["olga"], second.id, "approve", where="audit").status_code == 303  # too late
    with _db(portal):
        assert not User.select().where(User.name == "eve").exists()
        assert [(p.state, p.decided_by) for p in Proposal.select().order_by(Proposal.id)] == [
            ("rejected", "olga"),
            ("withdrawn", "ada"),
        ]
        assert _entries("proposal-opened", "proposal-rejected", "proposal-withdrawn") == [
            ("ada", "proposal-opened"),
            ("olga", "proposal-rejected"),
            ("ada", "proposal-opened"),
            ("ada", "proposal-withdrawn"),
        ]
        assert chain.verify().ok


def test_approval_changes_nothing_when_the_name_was_taken_meanwhile(portal, people):
    from app.domain.models import Event, Proposal, User

    _post(people["ada"], "/team/users/new", name="fay", role="admin")
    _post(people["ada"], "/team/users/new", name="fay", role="handler")  # the name taken meanwhile
    with _db(portal):
        proposal = _proposal()
        entries = Event.select().count()
        assert User.get(User.name == "fay").role == "handler"
    answer = _decide(people["olga"], proposal.id, "approve", where="audit")
    assert answer.status_code == 303
    assert "cannot be carried out" in people["olga"].get("/audit/proposals?lang=en").data.decode()
    with _db(portal):
        assert Proposal.get_by_id(proposal.id).state == "open"
        assert User.get(User.name == "fay").role == "handler"
        assert not Event.select().where(Event.action == "proposal-approved").exists()
        assert Event.select().count() == entries  # the refused approval left no entry behind


def test_the_domain_refuses_one_person_alone(portal):
    from app.domain import proposals
    from app.domain.models import User

    with _db(portal):
        ada = User.create(name="ada", role="admin", enrolled=True)
        hank = User.create(name="hank", role="handler", enrolled=True)
        olga = User.create(name="olga", role="auditor", enrolled=True)
        with pytest.raises(proposals.NotYours):
            proposals.propose(hank, proposals.CREATE_ADMIN, "mallory")
        with pytest.raises(proposals.NotYours):
            proposals.propose(olga, proposals.CREATE_ADMIN, "mallory")
        proposal = proposals.propose(ada, proposals.CREATE_ADMIN, "mallory")
        for person in (ada, hank):
            with pytest.raises(proposals.NotYours):
                proposals.approve(proposal, person)
        with pytest.raises(proposals.Refused):
            proposals.propose(ada, "delete-everything", "now")
        with pytest.raises(proposals.Refused):
            proposals.propose(ada, proposals.CREATE_ADMIN, "ada")  # exists
        assert proposals.approve(proposal, olga).enrolment_token
        with pytest.raises(proposals.Refused):
            proposals.reject(proposal, olga)


# --- lifting a legal hold ------------------------------------------------------------------


@pytest.fixture
def held(portal):
    from app.domain import workflow
    from app.domain.models import User

    with _db(portal):
        report = add_report(portal, "MP-HELD-0001", state="spam", closed_on=team_today(portal) - datetime.timedelta(60))
        root = User.create(name="root", role="admin", enrolled=True)
        workflow.place_hold(report, root, "Court order 2026/117")
    return report


def test_lifting_a_hold_needs_a_second_person(portal, people, held):
    from app.domain import chain, retention
    from app.domain.models import Proposal, Report

    ada, bert, olga, hank = people["ada"], people["bert"], people["olga"], people["hank"]
    assert _post(hank, "/team/reports/MP-HELD-0001/hold", action="lift", reason="done").status_code == 403
    assert _post(ada, "/team/reports/MP-HELD-0001/hold", action="lift", reason="Settled in court").status_code == 303
    with _db(portal):
        proposal = _proposal()
        assert (proposal.action, proposal.subject, proposal.value) == ("lift-hold", "MP-HELD-0001", "Settled in court")
        assert Report.get(Report.reference == "MP-HELD-0001").hold_reason == "Court order 2026/117"
    # A second proposal to lift the same hold is not opened.
    _post(bert, "/team/reports/MP-HELD-0001/hold", action="lift", reason="again")
    with _db(portal):
        assert Proposal.select().count() == 1
    page = ada.get("/team/reports/MP-HELD-0001?lang=en").data.decode()
    assert "Settled in court" in page
    assert 'value="approve"' not in page
    assert 'value="approve"' in bert.get("/team/reports/MP-HELD-0001?lang=en").data.decode()
    # The auditor sees it under /audit, without the report page.
    listed = olga.get("/audit/proposals?lang=en").data.decode()
    assert "Lift the legal hold on MP-HELD-0001. Reason: Settled in court" in listed

    assert _decide(ada, proposal.id, "approve", back="report").status_code == 403
    assert _decide(hank, proposal.id, "approve").status_code == 403
    with _db(portal):
        assert Report.get(Report.reference == "MP-HELD-0001").hold_reason is not None
        assert retention.plan(settings_of(portal), team_today(portal)).held == ("MP-HELD-0001",)

    assert _decide(olga, proposal.id, "approve", where="audit").status_code == 303
    with _db(portal):
        assert Report.get(Report.reference == "MP-HELD-0001").hold_reason is None
        assert retention.plan(settings_of(portal), team_today(portal)).held == ()
        assert _entries("hold-placed", "proposal-opened", "proposal-approved", "hold-lifted") == [
            ("root", "hold-placed"),
            ("ada", "proposal-opened"),
            ("olga", "proposal-approved"),
            ("olga", "hold-lifted"),
        ]
        from app.domain.models import Event

        assert {e.reference for e in Event.select().where(Event.action.startswith("proposal-"))} == {"MP-HELD-0001"}
        assert chain.verify().ok


def test_a_rejected_or_withdrawn_lifting_keeps_the_hold(portal, people, held):
    from app.domain.models import Report

    _post(people["ada"], "/team/reports/MP-HELD-0001/hold", action="lift", reason="Settled")
    with _db(portal):
        first = _proposal()
    assert _decide(people["bert"], first.id, "reject", back="report").status_code == 303
    _post(people["ada"], "/team/reports/MP-HELD-0001/hold", action="lift", reason="Settled, really")
    with _db(portal):
        second = _proposal()
    assert _decide(people["ada"], second.id, "withdraw", back="report").status_code == 303
    with _db(portal):
        assert Report.get(Report.reference == "MP-HELD-0001").hold_reason == "Court order 2026/117"
        assert _entries("proposal-rejected", "proposal-withdrawn") == [
            ("bert", "proposal-rejected"),
            ("ada", "proposal-withdrawn"),
        ]


def test_lift_hold_without_an_approved_proposal_is_refused(portal, held):
    from app.domain import proposals, workflow
    from app.domain.errors import TransitionRefused
    from app.domain.models import Report, User

    with _db(portal):
        root = User.get(User.name == "root")
        proposal = proposals.propose(root, workflow.LIFT_HOLD, "MP-HELD-0001", "no reason to keep it")
        with pytest.raises(TransitionRefused):
            workflow.lift_hold(held, proposal, root)  # open, not approved
        assert Report.get(Report.reference == "MP-HELD-0001").hold_reason is not None


# --- a retention period below its default --------------------------------------------------


def test_a_lower_retention_period_counts_only_once_approved(make_portal):
    from app.domain import chain, proposals, retention
    from app.domain.models import Proposal

    portal = make_portal(MELDPUNT_RETAIN_SPAM_DAYS=10)
    ada, bert = team_client(portal, "ada", "admin"), team_client(portal, "bert", "admin")
    olga, hank = team_client(portal, "olga", "auditor"), team_client(portal, "hank", "handler")
    today = team_today(portal)
    with _db(portal):
        add_report(portal, "MP-SPAM-0015", state="spam", closed_on=today - datetime.timedelta(15))
        planned = retention.plan(settings_of(portal), today)
        assert planned.step(retention.SPAM).days == 30  # configured lower: the default applies
        assert planned.step(retention.SPAM).due == ()
        assert [period.setting for period in planned.waiting] == ["MELDPUNT_RETAIN_SPAM_DAYS"]
        assert "not in effect until a second person approves" in "\n".join(retention.describe(planned))

    page = olga.get("/audit/retention?lang=en").data.decode()
    assert "Configured 10 days, below the default 30: not in effect until a second person approves." in page
    assert "Propose 10 days" not in page  # only an admin proposes
    assert "Propose 10 days" in ada.get("/audit/retention?lang=en").data.decode()
    propose = {"action": "lower-retention", "setting": "MELDPUNT_RETAIN_SPAM_DAYS", "back": "retention"}
    assert _post(olga, "/audit/proposals/new", **propose).status_code == 403
    assert (
        _post(ada, "/audit/proposals/new", **{**propose, "setting": "MELDPUNT_RETAIN_MAILBOX_DAYS"}).status_code == 400
    )
    answer = _post(ada, "/audit/proposals/new", **propose)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/audit/retention")
    with _db(portal):
        proposal = _proposal()
        assert (proposal.action, proposal.subject, proposal.value) == (
            "lower-retention",
            "MELDPUNT_RETAIN_SPAM_DAYS",
            "10",
        )
    page = ada.get("/audit/retention?lang=en").data.decode()
    assert "MELDPUNT_RETAIN_SPAM_DAYS = 10 days, below the default of 30" in page
    assert 'value="withdraw"' in page
    assert 'value="approve"' not in page

    assert _decide(ada, proposal.id, "approve", where="audit").status_code == 403
    assert _decide(hank, proposal.id, "approve", where="audit").status_code == 403
    with _db(portal):
        assert retention.plan(settings_of(portal), today).step(retention.SPAM).days == 30

    assert _decide(bert, proposal.id, "approve", where="audit", back="retention").status_code == 303
    with _db(portal):
        planned = retention.plan(settings_of(portal), today)
        assert planned.step(retention.SPAM).days == 10
        assert [due.label for due in planned.step(retention.SPAM).due] == ["MP-SPAM-0015"]
        assert planned.waiting == ()
        assert Proposal.get_by_id(proposal.id).state == "approved"
        assert _entries("proposal-opened", "proposal-approved") == [
            ("ada", "proposal-opened"),
            ("bert", "proposal-approved"),
        ]
        assert chain.verify().ok
        # The approval is for exactly that value: 5 days would wait for a proposal of its own.
        from app.domain.settings import Settings

        lower = Settings({**settings_of(portal), "MELDPUNT_RETAIN_SPAM_DAYS": 5})
        assert proposals.retention_days(lower)["MELDPUNT_RETAIN_SPAM_DAYS"] == 30
    page = olga.get("/audit/retention?lang=en").data.decode()
    assert "Below the default, approved in proposal" in page


def test_a_rejected_lower_period_leaves_the_default(make_portal):
    from app.domain import proposals, retention
    from app.domain.models import User

    portal = make_portal(MELDPUNT_RETAIN_MAILBOX_DAYS=30)
    with _db(portal):
        ada = User.create(name="ada", role="admin", enrolled=True)
        olga = User.create(name="olga", role="auditor", enrolled=True)
        with pytest.raises(proposals.Refused):  # at or above the default needs nobody
            proposals.propose(ada, proposals.LOWER_RETENTION, "MELDPUNT_RETAIN_MAILBOX_DAYS", "365")
        proposal = proposals.propose(ada, proposals.LOWER_RETENTION, "MELDPUNT_RETAIN_MAILBOX_DAYS", "30")
        proposals.reject(proposal, olga)
        assert retention.plan(settings_of(portal), team_today(portal)).step(retention.MAILBOXES).days == 365


# --- switching off the history's verification ----------------------------------------------


def _break_the_chain() -> int:
    from app.domain.db import database
    from app.domain.models import Event

    seq = Event.select().order_by(Event.seq).first().seq
    database.execute_sql("UPDATE event SET detail = 'rewritten' WHERE seq = ?", (seq,))
    return seq


def test_switching_off_the_verification_needs_a_second_person(make_portal):
    from app.domain import chain, notify, proposals

    portal = make_portal(MELDPUNT_AUDIT_VERIFY=False)
    ada, bert = team_client(portal, "ada", "admin"), team_client(portal, "bert", "admin")
    olga, hank = team_client(portal, "olga", "auditor"), team_client(portal, "hank", "handler")
    settings = settings_of(portal)
    with _db(portal):
        assert notify.verify_history(settings) == notify.Verification()  # configured off: still verified
    page = olga.get("/audit/history?lang=en").data.decode()
    assert "Configured off: not in effect until a second person approves." in page
    assert "Propose switching the verification off" not in page
    assert "Propose switching the verification off" in ada.get("/audit/history?lang=en").data.decode()
    assert _post(hank, "/audit/proposals/new", action="audit-verify-off").status_code == 403
    assert _post(ada, "/audit/proposals/new", action="audit-verify-off", back="history").status_code == 303
    with _db(portal):
        proposal = _proposal()
        assert (proposal.action, proposal.subject, proposal.value) == (
            "audit-verify-off",
            "MELDPUNT_AUDIT_VERIFY",
            "off",
        )
    assert _decide(ada, proposal.id, "approve", where="audit").status_code == 403
    assert _decide(hank, proposal.id, "approve").status_code == 403
    with _db(portal):
        broken = _break_the_chain()
        assert notify.verify_history(settings) == notify.Verification(broken_at=broken)
        # Restore it: the approval below must be appended to a chain that verifies.
        from app.domain.db import database

        database.execute_sql("UPDATE event SET detail = '' WHERE seq = ?", (broken,))
        assert chain.verify().ok
    assert _decide(bert, proposal.id, "approve", back="proposals").status_code == 303
    with _db(portal):
        assert not proposals.audit_verification(settings).effective
        assert notify.verify_history(settings) == notify.Verification(skipped=True)
        assert _entries("proposal-opened", "proposal-approved") == [
            ("ada", "proposal-opened"),
            ("bert", "proposal-approved"),
        ]
    assert "Off, approved in proposal" in olga.get("/audit/history?lang=en").data.decode()


def test_verification_on_needs_nobody(portal):
    from app.domain import proposals
    from app.domain.models import User

    with _db(portal):
        ada = User.create(name="ada", role="admin", enrolled=True)
        assert proposals.audit_verification(settings_of(portal)).effective
        proposal = proposals.propose(ada, proposals.VERIFY_OFF, "")
        assert proposal.subject == "MELDPUNT_AUDIT_VERIFY"
        with pytest.raises(proposals.Refused):
            proposals.propose(ada, proposals.VERIFY_OFF, "MELDPUNT_AUDIT_VERIFY", "on")


def test_the_alarm_names_the_first_broken_entry_and_nothing_else(portal):
    from app.domain import notify

    with _db(portal):
        add_report(portal, "MP-SECR-ET01")
        from app.domain import chain

        chain.append(None, None, "state", "MARKER-DETAIL", actor="alice")
        chain.append(None, None, "state", "MARKER-DETAIL-2", actor="alice")
        broken = _break_the_chain()
        checked = notify.verify_history(settings_of(portal))
        assert checked.broken_at == broken
        mail = notify.alarm_message(settings_of(portal), checked, "portal@example.nl", ["privacy@example.nl"])
    text = mail.as_string()
    assert f"entry {broken} is the first that does not fit" in text
    for secret in ("MARKER", "alice", "MP-SECR-ET01", "rewritten"):
        assert secret not in text
    assert notify.alarm_message(settings_of(portal), notify.Verification(), "a@b", ["c@d"]) is None
    assert notify.alarm_message(settings_of(portal), checked, "a@b", []) is None


def test_a_verification_setting_that_is_not_on_or_off_is_refused(make_portal):
    from app.domain.settings import ConfigError

    portal = make_portal(MELDPUNT_AUDIT_VERIFY="sometimes")
    with pytest.raises(ConfigError, match="MELDPUNT_AUDIT_VERIFY"):
        settings_of(portal).audit_verify  # noqa: B018


# --- the pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_proposal_pages_in_both_languages(portal, people, language):
    _post(people["ada"], "/team/users/new", name="gus", role="admin")
    team = people["bert"].get(f"/team/proposals?lang={language}")
    audit = people["olga"].get(f"/audit/proposals?lang={language}")
    for page in (team, audit):
        assert page.status_code == 200
        text = page.data.decode()
        assert f'<html lang="{language}">' in text
        assert "gus" in text
        assert 'value="approve"' in text
    assert people["hank"].get("/team/proposals").status_code == 403
    assert people["olga"].get("/team/proposals").status_code == 403  # theirs are under /audit
