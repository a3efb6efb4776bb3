"""Absolute URLs come from MELDPUNT_BASE_URL, never from the Host header a client sends; the
onion header is safe for any path; `meldpunt check` wants a base URL in production."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import csrf_token
from .team_helpers import enrol, sign_in

FORGED = "https://attacker.example"
BASE = "https://report.example.nl"


def _security_txt(portal, base_url: str = FORGED):
    return portal.test_client().get("/.well-known/security.txt", base_url=base_url)


def _urls(text: str) -> list[str]:
    return [value for line in text.splitlines() for value in line.split(": ", 1)[1:] if "://" in value]


PRODUCTION = {"MELDPUNT_SECURE_COOKIES": True}


@pytest.mark.parametrize("settings", [{}, PRODUCTION], ids=["development", "production"])
def test_security_txt_names_the_base_url_never_the_host_header(make_portal, settings):
    response = _security_txt(make_portal(MELDPUNT_BASE_URL=BASE + "/", **settings))
    assert response.status_code == 200
    assert "attacker" not in response.data.decode()
    urls = _urls(response.data.decode())
    assert len(urls) == 5
    assert all(url.startswith(BASE + "/") for url in urls), urls


def test_development_without_a_base_url_takes_the_address_asked_for(make_portal):
    """`make run` on any port: plain-http cookies, localhost only, nothing to forge a Host for."""
    urls = _urls(_security_txt(make_portal(), base_url="http://127.0.0.1:8123").data.decode())
    assert all(url.startswith("http://127.0.0.1:8123/") for url in urls), urls


def test_without_a_base_url_production_serves_no_security_txt(make_portal, caplog):
    with caplog.at_level(logging.WARNING):
        response = _security_txt(make_portal(**PRODUCTION))
    assert response.status_code == 404
    assert "attacker" not in response.data.decode()
    assert "MELDPUNT_BASE_URL" in caplog.text


def test_the_policy_links_to_the_form_on_the_same_site(make_portal):
    """Relative: read over the onion address, the policy must not send a reporter to the clear web."""
    html = make_portal(MELDPUNT_BASE_URL=BASE).test_client().get("/policy", base_url=FORGED).data.decode()
    assert 'href="/report"' in html
    assert "attacker" not in html
    assert BASE not in html


def _reset_link(portal) -> str:
    """The page an admin sees after resetting a colleague's account, on a session that reached
    the portal with a forged Host header all along (a proxy that passes any Host on)."""
    admin = portal.test_client()
    admin.environ_base["HTTP_HOST"] = FORGED.removeprefix("https://")
    assert sign_in(admin, "root", enrol(admin, portal, "root", "admin")).status_code == 302
    enrol(portal.test_client(), portal, "bob", "handler")
    from app.domain.db import database
    from app.domain.models import User

    with portal.app_context(), database.connection_context():
        bob = User.get(User.name == "bob")
    page = admin.get("/team/users")
    answer = admin.post(f"/team/users/{bob.id}", data={"csrf_token": csrf_token(page.data), "action": "reset"})
    assert answer.status_code == 200
    return answer.data.decode()


@pytest.mark.parametrize("settings", [{}, PRODUCTION], ids=["development", "production"])
def test_an_enrolment_link_names_the_base_url_never_the_host_header(make_portal, settings):
    page = _reset_link(make_portal(MELDPUNT_BASE_URL=BASE, **settings))
    assert "attacker" not in page
    assert f'<code class="key">{BASE}/team/enrol/' in page
    assert "MELDPUNT_BASE_URL is not set" not in page


def test_without_a_base_url_production_shows_the_link_without_an_address(make_portal):
    page = _reset_link(make_portal(**PRODUCTION))
    assert "attacker" not in page
    assert '<code class="key">/team/enrol/' in page
    assert "MELDPUNT_BASE_URL is not set" in page


# --- Onion-Location ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/policy?lang=nl", "/policy?lang=nl"),
        ("/%E2%82%AC", "/%E2%82%AC"),
        ("/policy%0D%0AX-Marker:%20injected", "/policy%0D%0AX-Marker:%20injected"),
        ("/policy?q=%0D%0A%E2%82%AC&x=%", "/policy?q=%0D%0A%E2%82%AC&x=%"),
        ("/a%20b/%25", "/a%20b/%25"),
    ],
)
def test_onion_location_is_the_same_page_percent_encoded(make_portal, caplog, path, location):
    client = make_portal(MELDPUNT_ONION_ADDRESS="http://example2abc.onion/").test_client()
    with caplog.at_level(logging.WARNING):
        response = client.get(path)
    assert response.status_code in (200, 404)
    assert response.headers["Onion-Location"] == "http://example2abc.onion" + location
    assert "X-Marker" not in response.headers
    assert caplog.records == []


# --- meldpunt check ---------------------------------------------------------------------------


def _check(instance: Path, team_key, dev: bool, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "MELDPUNT_INSTANCE": str(instance), **env}
    environment.pop("MELDPUNT_BASE_URL", None) if "MELDPUNT_BASE_URL" not in env else None
    meldpunt = Path(sys.executable).parent / "meldpunt"
    init = [meldpunt, "init", "--team-key", str(team_key.public), *(["--dev"] if dev else [])]
    subprocess.run(init, env=environment, check=True, capture_output=True, timeout=60)
    return subprocess.run([meldpunt, "check"], env=environment, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("dev", "base", "line"),
    [
        (False, None, "[!!] MELDPUNT_BASE_URL is not set"),
        (False, "http://report.example.nl", "[!!] MELDPUNT_BASE_URL 'http://report.example.nl' is plain http"),
        (False, "https://report.example.nl/meldpunt", "[!!] MELDPUNT_BASE_URL 'https://report.example.nl/meldpunt'"),
        (True, "report.example.nl", "[!!] MELDPUNT_BASE_URL 'report.example.nl' is not a scheme and host"),
        (False, BASE, f"[ok] base URL {BASE}"),
        (False, "http://example2abc.onion", "[ok] base URL http://example2abc.onion"),
        (True, None, "[--] base URL: not set"),
    ],
    ids=["production-unset", "production-http", "with-a-path", "no-scheme", "https", "onion", "development-unset"],
)
def test_check_wants_a_base_url_in_production(tmp_path, team_key, dev, base, line):
    result = _check(tmp_path / "instance", team_key, dev, **({"MELDPUNT_BASE_URL": base} if base else {}))
    assert line in result.stdout
    assert result.returncode == (1 if "[!!]" in line else 0), result.stdout
