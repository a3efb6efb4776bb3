"""A short run of bench/fuzz_routes.py in the suite (issue 9, point 10): a few thousand generated
bad requests over every route of the URL map, against the real gunicorn, get no 5xx and no
traceback, and leave no thread, open file or memory behind. Then a regression test for each thing
the fuzzer found, on the test client."""

import json
import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from fuzz_routes import (
    ALLOCATOR,
    RSS_MARGIN_MIB,
    SERVED,
    WARM_UP,
    fuzz,
    leftovers,
    log_problems,
    plan,
    settled,
)
from fuzz_sessions import still_signed_in

from .conftest import csrf_token
from .served import gunicorn
from .team_helpers import add_report, team_client

# Fixed, so that a failure here is the same on every machine; MELDPUNT_FUZZ_SEED tries others.
SEED = int(os.environ.get("MELDPUNT_FUZZ_SEED", "20261128"))
REQUESTS = 3000


@pytest.mark.slow
def test_a_few_thousand_bad_requests_over_every_route(tmp_path):
    instance = tmp_path / "instance"
    with gunicorn(instance, MELDPUNT_WORKERS="2", **SERVED, **ALLOCATOR) as (port, log, master):
        made = plan(port, instance)
        warm = fuzz(made, count=WARM_UP, seconds=60, clients=8, seed=SEED + 1)
        before = settled(master)
        result = fuzz(made, count=REQUESTS, seconds=60, clients=8, seed=SEED)
        after = settled(master)
        alive = still_signed_in(port, made.sessions)
        problems = log_problems(log)
    assert result.sent == REQUESTS, result.report()
    # Each failure names its seed and number, the request as sent and the answer.
    assert warm.failures + result.failures == [], "\n\n".join(warm.failures + result.failures)
    assert set(result.by_route) == {route.endpoint for route in made.routes}
    assert leftovers(before, after, RSS_MARGIN_MIB) == [], [str(worker) for worker in before]
    assert all(alive.values()), alive  # the pass kept its sessions, so it fuzzed as each of them
    assert problems == []


# --- what the fuzzer found ---------------------------------------------------------------------

REFERENCE = "MP-FUZZ-0001"
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@pytest.fixture
def admin(portal):
    """A signed-in admin, its CSRF token, and a report to aim at."""
    from app.domain.db import database

    client = team_client(portal, "root", "admin")
    with portal.app_context(), database.connection_context():
        add_report(portal, REFERENCE)
    return client, csrf_token(client.get("/team/users").data)


def _posts(portal) -> list[str]:
    """A path for every rule that takes a POST, whichever blueprint added it."""
    fill = {"int": "1", "path": "x"}
    paths = []
    for rule in portal.url_map.iter_rules():
        if "POST" in rule.methods:
            value = lambda match: REFERENCE if match[2] == "reference" else fill.get(match[1], "x")  # noqa: E731
            paths.append(PLACEHOLDER.sub(value, rule.rule))
    return paths


def test_a_multipart_part_without_a_name(portal, admin):
    """Was a 500 on every POST route when the form had no CSRF token: Werkzeug keeps a part without
    a name under the key None, and the CSRF check, looking for a prefixed token, called
    None.endswith. Now the part is dropped like any field no form has."""
    client, token = admin
    unnamed = b"--b0undary\r\nContent-Disposition: form-data\r\n\r\nx\r\n"
    multipart = "multipart/form-data; boundary=b0undary"
    statuses = {
        path: client.post(path, data=unnamed + b"--b0undary--\r\n", content_type=multipart).status_code
        for path in _posts(portal)
    }
    assert {path: status for path, status in statuses.items() if status >= 500} == {}
    assert statuses["/team/signout"] == 400  # the form expired, in the page's language
    named = b'--b0undary\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n%s\r\n' % token.encode()
    signed_out = client.post("/team/signout", data=unnamed + named + b"--b0undary--\r\n", content_type=multipart)
    assert signed_out.status_code == 302  # the named parts still count


@pytest.mark.parametrize(
    "body",
    ["[" * 50_000, json.dumps("a string"), json.dumps([1, 2]), json.dumps({"state": {"a": 1}}), "{"],
    ids=["nested too deep", "a string", "a list", "an object as a value", "broken"],
)
def test_a_json_body_to_a_form(portal, admin, body):
    """Was a 500 when the CSRF token came in its header: Flask-WTF takes a JSON body as the form's
    data when there is no other, and a list, a string, an object as a field's value or nesting
    beyond the parser's recursion limit broke it. No view takes JSON: a 400 page, translated."""
    client, token = admin
    headers = {"X-CSRFToken": token}
    statuses = {
        path: client.post(path, data=body, content_type="application/json", headers=headers).status_code
        for path in _posts(portal)
    }
    assert {path: status for path, status in statuses.items() if status >= 500} == {}
    refused = client.post(
        f"/team/reports/{REFERENCE}/state?lang=nl", data=body, content_type="application/json", headers=headers
    )
    assert refused.status_code == 400
    assert "Ongeldig verzoek" in refused.data.decode()


@pytest.mark.parametrize("host", ["a" * 300, "a" * 64 + ".example", "a..b", "."])
def test_a_host_header_idna_cannot_encode(client, host):
    """Was a 500: Werkzeug refuses to route such a host (BadHost), Flask leaves the request without
    a URL adapter, and the 400 page's links needed one. Now the 400 page, in the visitor's language
    (or the refusal that comes first: the team's role check, an unknown page)."""
    for path, status in {"/": 400, "/report": 400, "/team/": 403, "/no-such-page": 404}.items():
        response = client.get(f"{path}?lang=nl", headers={"Host": host})
        assert response.status_code == status, path
        assert '<html lang="nl">' in response.data.decode()
    assert "Ongeldig verzoek" in client.get("/?lang=nl", headers={"Host": host}).data.decode()
