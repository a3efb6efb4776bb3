"""Four eyes for the dangerous actions (issue 11, point 5): creating an admin or a privacy officer,
resetting or enabling one, lifting a legal hold, a retention period below its default and switching
off the history's verification each need a second person. For each: one person alone cannot
(approving their own proposal is refused and changes nothing), a handler cannot approve, an auditor
or a second admin can and then it takes effect; rejection and withdrawal change nothing; every step
is in the history. No one person gets past it through an account they control: an approver's
enrolment link comes in two halves, and an account whose link one person issued alone does not
decide that person's proposals (review of issue 11, findings 1 and 3)."""

import datetime
import re

import pytest

from . import raw
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


def test_a_handler_is_made_at_once_with_its_link(portal, people):
    from app.domain.models import User

    page = _post(people["ada"], "/team/users/new", name="  new   helper ", role="handler")
    assert page.status_code == 200
    assert "/team/enrol/" in page.data.decode()
    with _db(portal):
        made = User.get(User.name == "new helper")
        assert (made.role, made.enrolled) == ("handler", False)
        assert _entries("user-add") == [("ada", "user-add")]
    # A name taken, or none, is refused with a message.
    taken = _post(people["ada"], "/team/users/new?lang=en", name="new helper", role="auditor")
    assert taken.status_code == 400  # the page again, the message at the name
    assert "exists already" in taken.data.decode()
    assert _post(people["ada"], "/team/users/new", name=" ", role="auditor").status_code == 400
    assert _post(people["ada"], "/team/users/new", name="x", role="owner").status_code == 400
    assert _post(people["hank"], "/team/users/new", name="mine", role="handler").status_code == 403


def _code(page) -> str:
    """The proposer's half of an enrolment link, from the page shown after proposing."""
    found = re.search(r"Your half of the enrolment link for [^<]*<code class=\"key\">([A-Za-z0-9_-]+)</code>", page)
    assert found, page
    return found.group(1)


def _first_half(page) -> str:
    """The approver's half: the link without its end (it ends in the split, a dot)."""
    found = re.search(r"/team/enrol/([A-Za-z0-9_-]+\.)</code>", page)
    assert found, page
    return found.group(1)


def test_a_new_admin_needs_a_second_person(portal, people):
    from app.domain import chain
    from app.domain.models import Proposal, User

    ada, bert, olga, hank = people["ada"], people["bert"], people["olga"], people["hank"]
    answer = _post(ada, "/team/users/new?lang=en", name="carol", role="admin")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    code = _code(answer.data.decode())
    assert "/team/enrol/" not in answer.data.decode()  # the proposer never sees the link
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
        assert code not in str(proposal.enrol_code)  # only its hash is kept
    page = ada.get("/team/users?lang=en").data.decode()
    assert "A new admin account: carol" in page
    assert code not in page  # shown once
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

    # The auditor approves: the account exists, and the link without its end is shown to them, once.
    approved = _decide(olga, proposal.id, "approve", where="audit", **{"lang": "en"})
    assert approved.status_code == 200
    assert approved.headers["Cache-Control"] == "no-store"
    first = _first_half(approved.data.decode())
    assert "ada, who proposed it, gives carol the code that goes at its end" in approved.data.decode()
    assert code not in approved.data.decode()
    with _db(portal):
        carol = User.get(User.name == "carol")
        assert (carol.role, carol.enrolled) == ("admin", False)
        assert (carol.issued_by, carol.issued_with) == ("ada", "olga")
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
    # Neither half alone opens the enrolment: the link without the code, or with a wrong one.
    anyone = portal.test_client()
    assert anyone.get(f"/team/enrol/{first}").status_code == 404
    assert anyone.get(f"/team/enrol/{first.rstrip('.')}").status_code == 404
    assert anyone.get(f"/team/enrol/{first}{code[:-1]}x").status_code == 404
    assert anyone.get(f"/team/enrol/.{code}").status_code == 404
    assert anyone.get(f"/team/enrol/{first}{code}").status_code == 200
    assert "/team/enrol/" not in olga.get("/audit/proposals").data.decode()  # shown once
    assert "/team/enrol/" not in ada.get("/team/proposals").data.decode()  # never to the proposer
    # Decided is decided: a second approval changes nothing.
    assert _decide(bert, proposal.id, "approve").status_code == 303
    with _db(portal):
        assert User.select().where(User.name == "carol").count() == 1
    # Both halves together: carol enrols and signs in.
    carol = _enrol_with(portal, first + code, "carol")
    assert carol.get("/team/proposals").status_code == 200


def _enrol_with(portal, token: str, name: str):
    """Enrol through the link `token` (whole) and sign in: a client of that account."""
    import pyotp

    from .team_helpers import PASSWORD, sign_in

    client = portal.test_client()
    page = client.get(f"/team/enrol/{token}")
    assert page.status_code == 200
    client.post(
        f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "password": PASSWORD, "again": PASSWORD}
    )
    page = client.get(f"/team/enrol/{token}")
    totp = pyotp.TOTP(re.search(r'<code class="key">([A-Z2-7]+)</code>', page.data.decode()).group(1))
    done = client.post(f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "code": totp.now()})
    assert done.status_code == 302, done.data.decode()
    assert sign_in(client, name, totp).status_code == 302
    return client


def test_a_second_admin_approves_under_team(portal, people):
    from app.domain.models import User

    _post(people["ada"], "/team/users/new", name="dirk", role="admin")
    with _db(portal):
        proposal = _proposal()
    approved = _decide(people["bert"], proposal.id, "approve", back="users")
    assert approved.status_code == 200
    assert _first_half(approved.data.decode())
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
        for person in (hank, olga):
            with pytest.raises(proposals.NotYours):
                proposals.propose_account(person, proposals.CREATE_ADMIN, "mallory")
        with pytest.raises(proposals.Refused):  # an account's proposal gives the proposer a code
            proposals.propose(ada, proposals.CREATE_ADMIN, "mallory")
        opened = proposals.propose_account(ada, proposals.CREATE_ADMIN, "mallory")
        assert opened.code
        for person in (ada, hank):
            with pytest.raises(proposals.NotYours):
                proposals.approve(opened.proposal, person, 14)
        with pytest.raises(proposals.Refused):
            proposals.propose(ada, "delete-everything", "now")
        with pytest.raises(proposals.Refused):
            proposals.propose_account(ada, proposals.CREATE_ADMIN, "ada")  # exists
        with pytest.raises(proposals.Refused):
            proposals.propose_account(ada, proposals.RESET_ACCOUNT, "hank")  # a handler's needs nobody
        with pytest.raises(proposals.Refused):
            proposals.propose_account(ada, proposals.ENABLE_ACCOUNT, "olga")  # not disabled
        assert proposals.approve(opened.proposal, olga, 14).enrolment_token.endswith(".")
        with pytest.raises(proposals.Refused):
            proposals.reject(opened.proposal, olga)


# --- one person, two accounts (review of issue 11, finding 1) ---------------------------------


def test_an_admin_alone_cannot_make_a_privacy_officer_to_approve_with(portal, people):
    """Finding 1a: an auditor made at once gave its link to the admin who made it, who enrolled and
    approved their own proposal as the auditor. A privacy officer is now a proposal too."""
    from app.domain.models import Proposal, User

    ada = people["ada"]
    answer = _post(ada, "/team/users/new?lang=en", name="ada-sock", role="auditor")
    assert answer.status_code == 200
    assert "/team/enrol/" not in answer.data.decode()
    _code(answer.data.decode())
    with _db(portal):
        assert not User.select().where(User.name == "ada-sock").exists()
        proposal = _proposal()
        assert (proposal.action, proposal.subject, proposal.value) == ("create-auditor", "ada-sock", "auditor")
        assert Proposal.select().where(Proposal.state == "open").count() == 1
    assert _decide(ada, proposal.id, "approve", where="audit").status_code == 403
    assert "A new privacy officer account: ada-sock" in people["olga"].get("/audit/proposals?lang=en").data.decode()
    assert _decide(people["bert"], proposal.id, "approve").status_code == 200
    with _db(portal):
        made = User.get(User.name == "ada-sock")
        assert (made.role, made.issued_by, made.issued_with) == ("auditor", "ada", "bert")


def test_resetting_an_admin_or_auditor_takes_four_eyes_and_two_halves(portal, people):
    """Finding 1b: an admin reset another admin, enrolled through the new link and approved as
    them. A reset of an approver is now a proposal, and its link comes in two halves."""
    from app.domain import chain
    from app.domain.models import User

    ada, bert, olga = people["ada"], people["bert"], people["olga"]
    with _db(portal):
        bert_id = User.get(User.name == "bert").id
    answer = _post(ada, f"/team/users/{bert_id}?lang=en", action="reset")
    assert answer.status_code == 200
    assert "/team/enrol/" not in answer.data.decode()
    code = _code(answer.data.decode())
    with _db(portal):
        assert User.get_by_id(bert_id).enrolled  # nothing happened yet
        proposal = _proposal()
        assert (proposal.action, proposal.subject, proposal.value) == ("reset-account", "bert", "admin")
    assert bert.get("/team/").status_code == 200  # bert is still signed in
    assert "A new password and second factor for bert (admin)" in olga.get("/audit/proposals?lang=en").data.decode()
    assert _decide(ada, proposal.id, "approve").status_code == 403
    approved = _decide(olga, proposal.id, "approve", where="audit")
    first = _first_half(approved.data.decode())
    assert code not in approved.data.decode()
    with _db(portal):
        assert not User.get_by_id(bert_id).enrolled
        assert (User.get_by_id(bert_id).issued_by, User.get_by_id(bert_id).issued_with) == ("ada", "olga")
        assert _entries("user-reset") == [("olga", "user-reset")]
        assert chain.verify().ok
    assert bert.get("/team/").status_code == 403  # the reset ended bert's sessions
    # Neither ada (the code) nor olga (the link without its end) enrols as bert alone.
    assert portal.test_client().get(f"/team/enrol/{first}").status_code == 404
    assert portal.test_client().get(f"/team/enrol/{first.rstrip('.')}").status_code == 404
    assert portal.test_client().get(f"/team/enrol/{code}").status_code == 404
    # bert, given both (the dot a mail program may drop is not needed).
    bert = _enrol_with(portal, first.rstrip(".") + code, "bert")
    assert bert.get("/team/proposals").status_code == 200


def test_enabling_a_disabled_admin_or_auditor_takes_four_eyes(portal, people):
    """Finding 1c: reset a disabled admin, then enable them. Disabling stays one admin's act;
    enabling an approver again is a proposal (and the reset before it was one, too)."""
    from app.domain.models import User

    ada = people["ada"]
    with _db(portal):
        bert_id = User.get(User.name == "bert").id
        hank_id = User.get(User.name == "hank").id
    assert _post(ada, f"/team/users/{bert_id}", action="disable").status_code == 200
    assert _post(ada, f"/team/users/{bert_id}", action="enable").status_code == 303
    with _db(portal):
        assert User.get_by_id(bert_id).disabled
        proposal = _proposal()
        assert (proposal.action, proposal.subject, proposal.value) == ("enable-account", "bert", "admin")
    assert _decide(ada, proposal.id, "approve").status_code == 403
    assert _decide(people["olga"], proposal.id, "approve", where="audit").status_code == 303
    with _db(portal):
        assert not User.get_by_id(bert_id).disabled
        assert _entries("user-enable") == [("olga", "user-enable")]
    # A handler is disabled, enabled and reset at once, as before.
    assert _post(ada, f"/team/users/{hank_id}", action="disable").status_code == 200
    assert _post(ada, f"/team/users/{hank_id}", action="enable").status_code == 200
    with _db(portal):
        assert not User.get_by_id(hank_id).disabled
    assert "/team/enrol/" in _post(ada, f"/team/users/{hank_id}", action="reset").data.decode()
    with _db(portal):
        assert User.get_by_id(hank_id).issued_by == "ada"


def test_an_account_one_person_issued_alone_does_not_decide_their_proposals(portal, people):
    """The second line: bert's current link was issued by ada alone (a reset made before four eyes
    covered resets, or on the command line by ada). bert does not decide ada's proposals, nor ada
    bert's, and the refusal says why; a third person still can."""
    from app.domain.models import Proposal, User

    ada, bert, olga = people["ada"], people["bert"], people["olga"]
    with _db(portal):
        User.update(issued_by="ada", issued_with="").where(User.name == "bert").execute()
    _post(ada, "/team/users/new", name="mallory", role="admin")
    with _db(portal):
        proposal = _proposal()
    page = bert.get("/team/proposals?lang=en").data.decode()
    assert 'value="approve"' not in page
    assert "The proposer alone gave out your account" in page
    refused = _decide(bert, proposal.id, "approve", **{"lang": "en"})
    assert refused.status_code == 403
    assert "The proposer alone gave out your account" in refused.data.decode()
    with _db(portal):
        assert Proposal.get_by_id(proposal.id).state == "open"
        assert not User.select().where(User.name == "mallory").exists()
        assert ("bert", "refused") in _entries("refused")
    # The other way round: ada does not decide a proposal of bert's.
    _post(bert, "/team/users/new", name="trudy", role="auditor")
    with _db(portal):
        theirs = _proposal()
    answer = _decide(ada, theirs.id, "approve", **{"lang": "en"})
    assert answer.status_code == 403
    assert "You alone gave out the proposer" in answer.data.decode()
    # A third person decides either.
    assert _decide(olga, proposal.id, "approve", where="audit").status_code == 200
    assert _decide(olga, theirs.id, "reject", where="audit").status_code == 303


def test_a_proposal_opened_before_links_came_in_halves_is_not_carried_out(portal, people):
    """An open create-admin proposal from before the upgrade has no code: approving it would give
    the approver the whole link. It stays open, to be rejected and proposed again."""
    from app.domain.models import Proposal, User

    _post(people["ada"], "/team/users/new", name="old-style", role="admin")
    with _db(portal):
        proposal = _proposal()
        Proposal.update(enrol_code=None).where(Proposal.id == proposal.id).execute()
    assert _decide(people["olga"], proposal.id, "approve", where="audit").status_code == 303
    assert "cannot be carried out" in people["olga"].get("/audit/proposals?lang=en").data.decode()
    with _db(portal):
        assert not User.select().where(User.name == "old-style").exists()
        assert Proposal.get_by_id(proposal.id).state == "open"


def test_the_command_line_makes_the_first_admin_and_the_first_auditor_only(tmp_path, team_key):
    """The way in: `meldpunt user add` makes an admin or an auditor while no enrolled, enabled one
    of that role exists; `meldpunt user reset` resets an admin or auditor only when the workspace
    cannot (no other admin to propose, or no second person to approve)."""
    from app.domain.db import bind, database
    from app.domain.models import User

    from .test_admin_cli import meldpunt

    instance = tmp_path / "instance"
    meldpunt("init", "--team-key", team_key.public, instance=instance)
    for name, role in (("root", "admin"), ("olga", "auditor"), ("bert", "admin")):
        made = meldpunt("user", "add", name, "--role", role, instance=instance)
        assert made.returncode == 0, made.stderr
    bind(raw.url_of(instance))
    with database.connection_context():
        assert User.get(User.name == "olga").issued_by == "command line"
        User.update(enrolled=True).execute()
    refused = meldpunt("user", "add", "sock", "--role", "auditor", instance=instance)
    assert refused.returncode != 0
    assert "an enrolled auditor exists already" in refused.stderr
    assert "second person" in refused.stderr
    # Two admins and an auditor: the workspace resets any of them with four eyes.
    refused = meldpunt("user", "reset", "bert", instance=instance)
    assert refused.returncode != 0
    assert "may approve proposals" in refused.stderr
    # With bert disabled, root is the only admin: nobody could propose root's reset.
    with database.connection_context():
        User.update(disabled=True).where(User.name == "bert").execute()
    reset = meldpunt("user", "reset", "root", instance=instance)
    assert reset.returncode == 0, reset.stderr
    assert "/team/enrol/" in reset.stdout
    with database.connection_context():
        assert User.get(User.name == "root").issued_by == "command line"


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


def _break_the_chain() -> tuple[int, str]:
    """Edit the first entry; returns its number and its detail, to restore it."""
    from app.domain.models import Event

    first = Event.select().order_by(Event.seq).first()
    Event.update(detail="rewritten").where(Event.seq == first.seq).execute()
    return first.seq, first.detail


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
        broken, detail = _break_the_chain()
        assert notify.verify_history(settings) == notify.Verification(broken_at=broken)
        # Restore it: the approval below must be appended to a chain that verifies.
        from app.domain.models import Event

        Event.update(detail=detail).where(Event.seq == broken).execute()
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
        broken, _detail = _break_the_chain()
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

    with pytest.raises(ConfigError, match="MELDPUNT_AUDIT_VERIFY"):  # the portal does not start
        make_portal(MELDPUNT_AUDIT_VERIFY="sometimes")


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


# --- expiry, and a proposer whose account no longer carries the proposal (security review) -------

EXPIRED_SENTENCE = "This proposal has expired: it was open for more than 14 days"
DISABLED_SENTENCE = "Its proposer&#39;s account is disabled, so this proposal can no longer be approved"


def _later(monkeypatch, **delta):
    """Time travel for the proposals: their clock (opening, expiry, deciding) runs `delta` ahead."""
    from app.domain import clock, proposals

    moment = clock.now() + datetime.timedelta(**delta)
    monkeypatch.setattr(proposals, "now", lambda: moment)
    return moment


def test_an_expired_proposal_cannot_be_approved_and_changes_nothing(portal, people, monkeypatch):
    from app.domain import chain, proposals
    from app.domain.models import Event, Proposal, User

    ada, bert, olga = people["ada"], people["bert"], people["olga"]
    _post(ada, "/team/users/new", name="ivan", role="admin")
    with _db(portal):
        proposal = _proposal()
        entries = Event.select().count()
    _later(monkeypatch, days=14, seconds=1)

    # The pages show it as expired, say why, and offer rejecting and withdrawing, not approving.
    for client, path in ((bert, "/team/proposals"), (olga, "/audit/proposals"), (bert, "/team/users")):
        page = client.get(f"{path}?lang=en").data.decode()
        assert EXPIRED_SENTENCE in page
        assert 'value="approve"' not in page
        assert 'value="reject"' in page
    page = ada.get("/team/proposals?lang=en").data.decode()
    assert "<td>expired</td>" in page
    assert 'value="withdraw"' in page

    # An approval sent anyway is refused with that sentence: no account, no approval entry.
    for client, where in ((olga, "audit"), (bert, "team")):
        assert _decide(client, proposal.id, "approve", where=where).status_code == 303
        assert EXPIRED_SENTENCE in client.get(f"/{where}/proposals?lang=en").data.decode()
    with _db(portal):
        assert Proposal.get_by_id(proposal.id).state == "open"
        assert not User.select().where(User.name == "ivan").exists()
        assert not Event.select().where(Event.action == "proposal-approved").exists()
        assert Event.select().count() == entries
        with pytest.raises(proposals.Stale) as refused:
            proposals.approve(Proposal.get_by_id(proposal.id), User.get(User.name == "olga"), 14)
        assert refused.value.reason == proposals.EXPIRED_REFUSAL
        assert refused.value.values == {"days": 14}
        assert Proposal.get_by_id(proposal.id).state == "open"
        # Still open, it still blocks a second proposal of the same account.
        with pytest.raises(proposals.Refused):
            proposals.propose_account(User.get(User.name == "bert"), proposals.CREATE_ADMIN, "ivan")

    # Cleared away by its proposer (or rejected by a second person); then it can be proposed again.
    assert _decide(ada, proposal.id, "withdraw").status_code == 303
    _post(ada, "/team/users/new", name="ivan", role="admin")
    with _db(portal):
        assert Proposal.get_by_id(proposal.id).state == "withdrawn"
        again = _proposal()
        assert (again.id != proposal.id, again.state) == (True, "open")
        assert chain.verify().ok
    assert _decide(olga, again.id, "approve", where="audit").status_code == 200
    with _db(portal):
        assert User.get(User.name == "ivan").role == "admin"


def test_an_expired_proposal_can_be_rejected(portal, people, monkeypatch):
    from app.domain.models import Proposal

    _post(people["ada"], "/team/users/new", name="jo", role="auditor")
    with _db(portal):
        proposal = _proposal()
    _later(monkeypatch, days=30)
    assert _decide(people["olga"], proposal.id, "reject", where="audit").status_code == 303
    with _db(portal):
        assert (Proposal.get_by_id(proposal.id).state, _entries("proposal-rejected")) == (
            "rejected",
            [("olga", "proposal-rejected")],
        )
    assert "<td>rejected</td>" in people["olga"].get("/audit/proposals?lang=en").data.decode()


def test_within_its_days_a_proposal_is_approved(make_portal, monkeypatch):
    """MELDPUNT_PROPOSAL_DAYS = 3: at exactly three days it can still be approved, a second later not."""
    from app.domain import clock, proposals
    from app.domain.models import Proposal, User

    portal = make_portal(MELDPUNT_PROPOSAL_DAYS=3)
    settings = settings_of(portal)
    assert settings.proposal_days == 3
    with _db(portal):
        ada = User.create(name="ada", role="admin", enrolled=True)
        olga = User.create(name="olga", role="auditor", enrolled=True)
        first = proposals.propose(ada, proposals.VERIFY_OFF, proposals.VERIFY_SETTING, "off")
        late = proposals.propose(ada, proposals.LOWER_RETENTION, "MELDPUNT_RETAIN_SPAM_DAYS", "10")
        opened = clock.now()
        Proposal.update(proposed_at=opened).execute()
        first, late = Proposal.get_by_id(first.id), Proposal.get_by_id(late.id)
        monkeypatch.setattr(proposals, "now", lambda: opened + datetime.timedelta(days=3))
        assert not proposals.expired(first, 3)
        assert proposals.approve(first, olga, settings.proposal_days).proposal.state == "approved"
        monkeypatch.setattr(proposals, "now", lambda: opened + datetime.timedelta(days=3, seconds=1))
        assert proposals.expired(late, 3)
        with pytest.raises(proposals.Stale):
            proposals.approve(late, olga, settings.proposal_days)
        assert Proposal.get_by_id(late.id).state == "open"
        assert proposals.approve(late, olga, 14).proposal.state == "approved"  # a longer setting


def test_an_approval_given_in_time_outlives_the_expiry(make_portal, monkeypatch):
    """Expiry concerns open proposals only: an approval is a past fact."""
    from app.domain import proposals
    from app.domain.models import User

    portal = make_portal(MELDPUNT_RETAIN_SPAM_DAYS=10, MELDPUNT_AUDIT_VERIFY=False)
    settings = settings_of(portal)
    with _db(portal):
        ada = User.create(name="ada", role="admin", enrolled=True)
        olga = User.create(name="olga", role="auditor", enrolled=True)
        for action, subject, value in (
            (proposals.LOWER_RETENTION, "MELDPUNT_RETAIN_SPAM_DAYS", "10"),
            (proposals.VERIFY_OFF, proposals.VERIFY_SETTING, "off"),
        ):
            proposals.approve(proposals.propose(ada, action, subject, value), olga, settings.proposal_days)
        _later(monkeypatch, days=400)
        assert proposals.retention_days(settings)["MELDPUNT_RETAIN_SPAM_DAYS"] == 10
        assert not proposals.audit_verification(settings).effective
        approved = proposals.listed()
        assert [proposals.shown_state(p, 14) for p in approved] == ["approved", "approved"]
        assert [proposals.unapprovable(p, 14) for p in approved] == [[], []]
        # Nor does the proposer's account matter any more once it is approved.
        User.update(disabled=True).where(User.id == ada.id).execute()
        assert proposals.retention_days(settings)["MELDPUNT_RETAIN_SPAM_DAYS"] == 10
        assert not proposals.audit_verification(settings).effective


@pytest.mark.parametrize("value", ["soon", "", " ", "14.5", "-1", 0, -3, 366, True, 2.5, None, "１４"])
def test_a_proposal_days_setting_that_is_not_a_number_of_days_is_refused(make_portal, value):
    from app.domain.settings import DEFAULTS, ConfigError, Settings

    with pytest.raises(ConfigError, match="MELDPUNT_PROPOSAL_DAYS must be a whole number of days"):
        Settings({**DEFAULTS, "MELDPUNT_PROPOSAL_DAYS": value}).proposal_days  # noqa: B018
    with pytest.raises(ConfigError, match="MELDPUNT_PROPOSAL_DAYS must be a whole number of days"):
        make_portal(MELDPUNT_PROPOSAL_DAYS=value)  # the portal does not start


def test_the_proposal_days_setting_takes_a_number_or_its_text(make_portal):
    assert settings_of(make_portal()).proposal_days == 14
    assert settings_of(make_portal(MELDPUNT_PROPOSAL_DAYS=" 30 ")).proposal_days == 30
    assert settings_of(make_portal(MELDPUNT_PROPOSAL_DAYS=365)).proposal_days == 365


def test_a_proposal_of_a_disabled_admin_can_be_rejected_not_approved(portal, people):
    from app.domain import chain
    from app.domain.models import Event, Proposal, User

    ada, bert, olga = people["ada"], people["bert"], people["olga"]
    _post(ada, "/team/users/new", name="lena", role="admin")
    with _db(portal):
        proposal = _proposal()
        ada_id = User.get(User.name == "ada").id
    # Disabling is one admin's act; ada's open proposal stays, but nobody approves it any more.
    assert _post(bert, f"/team/users/{ada_id}", action="disable").status_code == 200
    with _db(portal):
        assert User.get_by_id(ada_id).disabled
        entries = Event.select().count()
    for client, path in ((olga, "/audit/proposals"), (bert, "/team/proposals"), (bert, "/team/users")):
        page = client.get(f"{path}?lang=en").data.decode()
        assert DISABLED_SENTENCE in page
        assert 'value="approve"' not in page
        assert 'value="reject"' in page
        assert "Waiting for a second person." not in page
    assert _decide(olga, proposal.id, "approve", where="audit").status_code == 303
    flashed = olga.get("/audit/proposals?lang=en").data.decode()
    assert flashed.count(DISABLED_SENTENCE) == 2  # the refusal, and the proposal's row
    assert _decide(bert, proposal.id, "approve").status_code == 303
    with _db(portal):
        assert Proposal.get_by_id(proposal.id).state == "open"
        assert not User.select().where(User.name == "lena").exists()
        assert not Event.select().where(Event.action == "proposal-approved").exists()
        assert Event.select().count() == entries
    # Rejecting stays allowed, and is on record.
    assert _decide(olga, proposal.id, "reject", where="audit").status_code == 303
    with _db(portal):
        assert Proposal.get_by_id(proposal.id).state == "rejected"
        assert ("olga", "proposal-rejected") in _entries("proposal-rejected")
        assert chain.verify().ok
    assert DISABLED_SENTENCE not in olga.get("/audit/proposals?lang=en").data.decode()  # decided: a past fact


def test_a_proposer_no_longer_an_enrolled_admin_carries_no_proposal(portal):
    """Given another role, reset (not enrolled again), or deleted: approving is refused; enrolled
    and enabled again, the proposer carries their open proposal again."""
    from app.domain import proposals
    from app.domain.models import Proposal, User

    with _db(portal):
        ada = User.create(name="ada", role="admin", enrolled=True)
        olga = User.create(name="olga", role="auditor", enrolled=True)
        proposal = proposals.propose(ada, proposals.VERIFY_OFF, proposals.VERIFY_SETTING, "off")
        assert proposals.unapprovable(proposal, 14) == []
        for change in ({"role": "handler"}, {"enrolled": False}, {"disabled": True}):
            User.update(**change).where(User.id == ada.id).execute()
            expected = proposals.PROPOSER_DISABLED if "disabled" in change else proposals.PROPOSER_NOT_ADMIN
            assert proposals.unapprovable(proposal, 14) == [(expected, {})]
            with pytest.raises(proposals.Stale) as refused:
                proposals.approve(proposal, olga, 14)
            assert refused.value.reason == expected
            assert Proposal.get_by_id(proposal.id).state == "open"
            User.update(role="admin", enrolled=True, disabled=False).where(User.id == ada.id).execute()
        # Deleted, and an account made again under the same name: not the proposer.
        Proposal.update(proposer=None).where(Proposal.id == proposal.id).execute()
        proposal = Proposal.get_by_id(proposal.id)
        assert proposals.proposer_refusal(proposal) == proposals.PROPOSER_NOT_ADMIN
        Proposal.update(proposer=ada).where(Proposal.id == proposal.id).execute()
        assert proposals.approve(Proposal.get_by_id(proposal.id), olga, 14).proposal.state == "approved"
