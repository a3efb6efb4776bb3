"""Team accounts for tests: created as `meldpunt user add` does, enrolled through the web pages
with real TOTP codes."""

import re
import time

import pyotp

from .conftest import csrf_token

PASSWORD = "a long team password, not a real one"


def enrol(client, portal, name: str, role: str) -> pyotp.TOTP:
    from app.domain.accounts import create
    from app.domain.db import database

    with portal.app_context(), database.connection_context():
        _, token = create(name, role)
    page = client.get(f"/team/enrol/{token}")
    client.post(
        f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "password": PASSWORD, "again": PASSWORD}
    )
    page = client.get(f"/team/enrol/{token}")
    secret = re.search(r'<code class="key">([A-Z2-7]+)</code>', page.data.decode()).group(1)
    totp = pyotp.TOTP(secret)
    done = client.post(f"/team/enrol/{token}", data={"csrf_token": csrf_token(page.data), "code": totp.now()})
    assert done.status_code == 302, done.data.decode()
    return totp


def sign_in(client, name: str, totp: pyotp.TOTP, password: str = PASSWORD, offset: int = 30, code: str | None = None):
    page = client.get("/team/signin")
    # The enrolment used the current step; a used code is refused, so sign in with the next one.
    code = code or totp.at(time.time() + offset)
    return client.post(
        "/team/signin", data={"csrf_token": csrf_token(page.data), "name": name, "password": password, "code": code}
    )


def team_client(portal, name: str, role: str):
    client = portal.test_client()
    totp = enrol(client, portal, name, role)
    assert sign_in(client, name, totp).status_code == 302
    return client


def team_today(portal):
    """Today on the team's calendar (MELDPUNT_TIMEZONE), whatever the machine's TZ says."""
    from app.domain.clock import today
    from app.web.context import EXTENSION

    return today(portal.extensions[EXTENSION].zone)


def add_report(portal, reference: str, **fields):
    """A report row as the portal would store it (received and updated today unless given)."""
    from app.domain.models import Report

    day = team_today(portal)
    return Report.create(reference=reference, **{"received": day, "updated": day, **fields})


def settings_of(portal):
    from app.web.context import EXTENSION

    return portal.extensions[EXTENSION]
