"""Every form that can show field errors shows them the same way without JavaScript
(templates/macros.html): a summary at the top, focused, with a link to each field; beside each
field its message, referenced by aria-describedby, and the field marked aria-invalid."""

import io
import re
from html.parser import HTMLParser

import pytest

from .conftest import csrf_token, upload_address
from .portal_helpers import passphrase_from, sign_in, submit_report
from .team_helpers import PASSWORD


class _Page(HTMLParser):
    """Elements by id, the summary's links, and the order of ids in the page."""

    def __init__(self, html: str):
        super().__init__()
        self.by_id, self.order, self.links, self._in_summary, self._depth = {}, [], [], False, 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.by_id[attributes["id"]] = attributes
            self.order.append(attributes["id"])
        if self._in_summary:
            self._depth += tag == "div"
            if tag == "a":
                self.links.append(attributes["href"])
        elif "data-error-summary" in attributes:
            self._in_summary, self._depth = True, 1

    def handle_endtag(self, tag):
        if self._in_summary and tag == "div":
            self._depth -= 1
            self._in_summary = self._depth > 0


def _check(html: str, fields: list[str]) -> _Page:
    page = _Page(html)
    summary = page.by_id["error-summary"]
    assert "autofocus" in summary
    assert "hidden" not in summary
    assert page.order.index("error-summary") < page.order.index(fields[0])  # at the top
    assert page.links == [f"#{name}" for name in fields]
    for name in fields:
        field = page.by_id[name]
        assert field.get("aria-invalid") == "true", name
        assert f"{name}-error" in field["aria-describedby"].split(), name
        assert f"{name}-error" in page.by_id, name
    return page


def _post_report(client, **fields):
    page = client.get("/report")
    return client.post(
        upload_address(page.data),
        data={"csrf_token": csrf_token(page.data), **fields},
        content_type="multipart/form-data",
    )


def test_an_empty_report(client):
    response = _post_report(client)
    assert response.status_code == 400
    _check(response.data.decode(), ["accept_policy", "title", "system", "description"])


def test_a_report_back_in_dutch_says_so_in_dutch(client):
    client.get("/?lang=nl")
    response = _post_report(client, accept_policy="y", title="t", system="s")
    page = _check(response.data.decode(), ["description"])
    assert page.by_id["description"]["aria-describedby"] == "description-hint description-error"


def test_a_valid_form_shows_no_summary(client):
    page = _Page(client.get("/report").data.decode())
    assert "hidden" in page.by_id["error-summary"]
    assert "autofocus" not in page.by_id["error-summary"]
    assert not any("aria-invalid" in attributes for attributes in page.by_id.values())


def test_the_radio_group_is_a_fieldset_with_a_legend(client):
    html = client.get("/report").data.decode()
    group = html[html.index('<fieldset class="choices"') :]
    group = group[: group.index("</fieldset>")]
    assert "<legend>Is this being actively exploited?</legend>" in group
    for number, text in enumerate(["Yes", "No", "Don't know"]):
        assert f'id="exploited-{number}"' in group
        assert f'<label for="exploited-{number}">{text}</label>' in group


def test_login(client):
    response = sign_in(client, "")
    assert response.status_code == 400
    _check(response.data.decode(), ["passphrase"])


def test_a_wrong_passphrase(client):
    response = sign_in(client, "these seven words open no mailbox at all")
    _check(response.data.decode(), ["passphrase"])


def test_follow_up_and_closing_the_mailbox(client):
    sign_in(client, passphrase_from(submit_report(client, files=[]).data))
    page = client.get("/mailbox")
    failed = client.post(
        upload_address(page.data),
        data={"csrf_token": csrf_token(page.data), "message": "", "attachments": [(io.BytesIO(b"x"), "x.txt")]},
        content_type="multipart/form-data",
    )
    assert failed.status_code == 400
    _check(failed.data.decode(), ["message"])
    page = client.get("/mailbox/close")
    refused = client.post("/mailbox/close", data={"csrf_token": csrf_token(page.data)})
    assert refused.status_code == 400
    _check(refused.data.decode(), ["confirm"])


def test_team_sign_in(client):
    page = client.get("/team/signin")
    response = client.post("/team/signin", data={"csrf_token": csrf_token(page.data)})
    assert response.status_code == 400
    _check(response.data.decode(), ["name", "password", "code"])


@pytest.mark.parametrize("step", ["password", "code"])
def test_team_enrolment(portal, client, step):
    from app.domain.accounts import create
    from app.domain.db import database

    with portal.app_context(), database.connection_context():
        _, token = create("root", "admin")
    page = client.get(f"/team/enrol/{token}")
    if step == "password":
        response = client.post(
            f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "password": "short", "again": "other"}
        )
        _check(response.data.decode(), ["password", "again"])
        return
    client.post(
        f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "password": PASSWORD, "again": PASSWORD}
    )
    page = client.get(f"/team/enrol/{token}")
    response = client.post(f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "code": "000000"})
    assert response.status_code == 400
    _check(response.data.decode(), ["code"])


def test_an_expired_form_is_said_once_without_a_link(client):
    response = _post_report(client, csrf_token="expired", accept_policy="y", title="t", system="s", description="d")
    page = _Page(response.data.decode())
    assert "The form had expired" in response.data.decode()
    assert "autofocus" in page.by_id["error-summary"]


# --- the team's and the privacy officers' forms (review of issue 13) ---------------------------

TEAM_FORMS = {
    # name: (role, where it posts, what is wrong, fields with a message, what must come back, a valid post)
    "acknowledge": (
        "handler",
        "acknowledge",
        {"assessment": " ", "fix_expected": "31-12-2027"},
        ["assessment", "ack-fix-expected"],
        ['value="31-12-2027"'],
        {"assessment": "Confirmed, severity high.", "fix_expected": "2027-12-31"},
    ),
    "state": (
        "handler",
        "state",
        {"state": "duplicate", "duplicate_of": "MP-NONE-XIST", "message": "TYPED-3c1f"},
        ["duplicate_of"],
        [
            'value="MP-NONE-XIST"',
            "TYPED-3c1f</textarea>",
            'checked id="state-0" name="state" type="radio" value="duplicate"',
        ],
        {"state": "out_of_scope"},
    ),
    "dates": (
        "handler",
        "dates",
        {"fix_expected": "soon", "disclosure_planned": "2031-01-01", "reason": ""},
        ["fix_expected", "reason"],
        ['value="soon"', 'value="2031-01-01"'],
        {"fix_expected": "2030-06-30", "disclosure_planned": "2031-01-01", "reason": "The vendor needs time."},
    ),
    "reply": ("handler", "reply", {"message": "   "}, ["message"], [], {"message": "Thanks, reproduced."}),
    "hold": (
        "admin",
        "hold",
        {"action": "place", "reason": "x" * 501},
        ["hold-reason"],
        [f'value="{"x" * 501}"'],
        {"action": "place", "reason": "Court order 2026/117"},
    ),
    "credit": (
        "handler",
        "credit",
        {"name": "y" * 201},
        ["credit-name"],
        [f'value="{"y" * 201}"'],
        {"name": "Ada L."},
    ),
}


@pytest.fixture
def team_report(portal):
    """A report with a mailbox, and a signed-in client for each role the forms need."""
    from app.domain.db import database
    from app.domain.models import Report

    from .team_helpers import team_client

    submit_report(portal.test_client(), files=[])
    with database.connection_context():
        reference = Report.get().reference
    return reference, {role: team_client(portal, f"{role}-1", role) for role in ("handler", "admin")}


def _team_post(client, path, page, **data):
    return client.post(path, data={"csrf_token": csrf_token(client.get(page).data), **data})


def _no_messages(html: str) -> None:
    page = _Page(html)
    assert "hidden" in page.by_id["error-summary"]
    assert "autofocus" not in page.by_id["error-summary"]
    assert not any("aria-invalid" in attributes for attributes in page.by_id.values())
    assert 'class="error"' not in html


@pytest.mark.parametrize("name", TEAM_FORMS)
def test_the_report_page_s_forms(portal, team_report, name):
    from app.domain.db import database
    from app.domain.models import Report

    role, action, wrong, fields, kept, valid = TEAM_FORMS[name]
    reference, clients = team_report
    if name == "credit":
        with database.connection_context():
            Report.update(state="resolved").execute()
    client, page = clients[role], f"/team/reports/{reference}?lang=en"
    html = client.get(page).data.decode()
    _no_messages(html)
    tag = re.search(rf'<form [^>]*action="/team/reports/{reference}/{action}"[^>]*>', html).group(0)
    assert " novalidate" in tag  # our messages, not the browser's
    failed = _team_post(client, f"/team/reports/{reference}/{action}?lang=en", page, **wrong)
    assert failed.status_code == 400
    html = failed.data.decode()
    _check(html, fields)
    for value in kept:
        assert value in html, value
    done = _team_post(client, f"/team/reports/{reference}/{action}?lang=en", page, **valid)
    assert done.status_code == 303
    _no_messages(client.get(page).data.decode())


def test_a_state_change_without_a_state(team_report):
    reference, clients = team_report
    page = f"/team/reports/{reference}?lang=en"
    failed = _team_post(clients["handler"], f"/team/reports/{reference}/state", page, message="Kept")
    assert failed.status_code == 400
    html = failed.data.decode()
    parsed = _Page(html)
    assert "autofocus" in parsed.by_id["error-summary"]
    assert parsed.links == ["#state-0"]  # a radio group's first option
    assert "Choose the new state." in html
    group = html[html.index('<fieldset class="choices" aria-describedby="state-error">') :]
    assert 'id="state-error"' in group[: group.index("</fieldset>")]
    assert "Kept</textarea>" in html


def test_a_lifted_hold_s_reason(portal, team_report):
    from app.domain import workflow
    from app.domain.db import database
    from app.domain.models import Report, User

    reference, clients = team_report
    with database.connection_context():
        workflow.place_hold(Report.get(), User.get(User.name == "admin-1"), "Court order")
    page = f"/team/reports/{reference}?lang=en"
    failed = _team_post(clients["admin"], f"/team/reports/{reference}/hold", page, action="lift", reason=" ")
    assert failed.status_code == 400
    _check(failed.data.decode(), ["hold-reason"])
    assert "Reason to lift the hold" in failed.data.decode()
    done = _team_post(clients["admin"], f"/team/reports/{reference}/hold", page, action="lift", reason="Settled")
    assert done.status_code == 303
    _no_messages(clients["admin"].get(page).data.decode())


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("n" * 65, "handler", "Give a name of 1 to 64 characters."),
        ("admin-1", "handler", "An account named admin-1 exists already."),
        ("nina", "owner", "Choose one of the options."),
    ],
)
def test_a_new_account(team_report, name, role, message):
    _reference, clients = team_report
    admin = clients["admin"]
    failed = _team_post(admin, "/team/users/new?lang=en", "/team/users?lang=en", name=name, role=role)
    assert failed.status_code == 400
    html = failed.data.decode()
    _check(html, ["new-role" if role == "owner" else "new-name"])
    assert message in html
    assert f'value="{name}"' in html
    done = _team_post(admin, "/team/users/new?lang=en", "/team/users?lang=en", name="nina", role="handler")
    assert done.status_code == 200  # the page with the new account's enrolment link
    _no_messages(done.data.decode())
    assert "/team/enrol/" in done.data.decode()


def test_a_typed_reference_is_text_in_the_message(team_report):
    """A message that quotes what was typed is escaped like the rest of the page."""
    reference, clients = team_report
    page = f"/team/reports/{reference}?lang=en"
    failed = _team_post(
        clients["handler"], f"/team/reports/{reference}/state", page, state="duplicate", duplicate_of="<b>MP</b>"
    )
    assert failed.status_code == 400
    assert "<b>MP</b>" not in failed.data.decode()
    assert "No report has the reference &lt;b&gt;MP&lt;/b&gt;." in failed.data.decode()
