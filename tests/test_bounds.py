"""Numbers a client chooses, in paths, queries and forms: out of range is a 404 or a 400, never a
500. The routes are taken from the app's URL map, so a route added later is tried too."""

import re

import pytest

from .conftest import csrf_token
from .portal_helpers import passphrase_from, sign_in, submit_report
from .team_helpers import add_report, team_client

MAX_ID = 2**63 - 1  # SQLite's INTEGER; one more raised OverflowError in the query
OVER = [str(2**63), str(2**64), str(10**30), "9" * 5000]  # the last is longer than int() parses at all
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
REFERENCE = "MP-BNDS-0001"
# Routes with a number that these tests must find; the walk covers any other.
KNOWN = {
    "/mailbox/files/<int:number>",
    "/team/users/<int:user_id>",
    "/team/reports/<reference>/credit/<int:credit_id>/withdraw",
    "/uploads/<handle>/<int:number>",
}


def _numbered_rules(portal):
    """Every rule with an `<int:…>` part, whichever blueprint added it."""
    rules = portal.url_map.iter_rules()
    return [rule for rule in rules if any(kind == "int" for kind, _name in PLACEHOLDER.findall(rule.rule))]


def _path(rule, number: str) -> str:
    def fill(match: re.Match) -> str:
        kind, name = match.groups()
        if kind == "int":
            return number
        return REFERENCE if name == "reference" else "x"

    return PLACEHOLDER.sub(fill, rule.rule)


@pytest.fixture
def clients(portal):
    """A signed-in admin for /team, a signed-in reporter for the rest, each with a CSRF token, and a
    report with that reference, so a view gets as far as looking the number up."""
    admin = team_client(portal, "root", "admin")
    from app.domain.db import database

    with portal.app_context(), database.connection_context():
        add_report(portal, REFERENCE)
    reporter = portal.test_client()
    assert sign_in(reporter, passphrase_from(submit_report(reporter, files=[]).data)).status_code == 302
    return {
        "team": (admin, csrf_token(admin.get("/team/users").data)),
        "reporter": (reporter, csrf_token(reporter.get("/mailbox").data)),
    }


def _send(clients, rule, method: str, path: str):
    client, token = clients["team" if rule.rule.startswith("/team") else "reporter"]
    data = {"csrf_token": token, "action": "reset"} if method in ("POST", "PUT") else None
    return client.open(path, method=method, data=data)


def test_the_walk_finds_the_numbered_routes(portal):
    assert {rule.rule for rule in _numbered_rules(portal)} >= KNOWN


def test_numbers_in_paths(portal, clients):
    """Beyond 64 bits: no route matches, as for any unknown id. At the edges (the largest id
    SQLite stores, 0, a minus sign): whatever the view says, but never a server error."""
    over, edges = {}, {}
    for rule in _numbered_rules(portal):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for number in OVER:
                over[method, rule.rule, len(number)] = _send(clients, rule, method, _path(rule, number)).status_code
            for number in [str(MAX_ID), "0", "-1"]:
                edges[method, rule.rule, number] = _send(clients, rule, method, _path(rule, number)).status_code
    assert {key: status for key, status in over.items() if status != 404} == {}
    assert {key: status for key, status in edges.items() if status >= 500} == {}


def test_numbers_in_queries_and_forms(portal, clients):
    admin, _ = clients["team"]
    for page in ["1e23", str(2**64), str(10**30), "9" * 5000, "-1", "0", "NaN", "", "٣"]:
        assert admin.get(f"/team/?page={page}").status_code == 200, page
    reporter, token = clients["reporter"]
    sizes = {"1e23": 400, "-1": 400, "0": 400, "9" * 5000: 400, str(2**63): 413, str(10**30): 413}
    for size, status in sizes.items():
        response = reporter.post("/uploads", data={"csrf_token": token, "purpose": "message", "size": size})
        assert response.status_code == status, size


def test_only_ascii_digits_are_numbers_in_paths(client):
    """`/mailbox/files/٣` is not `/mailbox/files/3`: one number, one address."""
    for path in ("/mailbox/files/\u0663", "/mailbox/files/\uff11", "/team/users/\u0663"):
        assert client.get(path).status_code == 404
