"""Every form that can show field errors shows them the same way without JavaScript
(templates/macros.html): a summary at the top, focused, with a link to each field; beside each
field its message, referenced by aria-describedby, and the field marked aria-invalid."""

import io
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
