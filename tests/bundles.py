"""Build export bundles the way the portal will: one envelope per item, in thread order."""

import datetime
import io
from pathlib import Path

from crypto import Meta, PrivateKey, report, seal_bytes
from crypto.bundle import BundleWriter

DAY = datetime.date(2026, 11, 28)
REPORT_FIELDS = {
    "title": "SQL injection in the login form",
    "system": "portal.example.nl",
    "version": "4.2.1",
    "description": "The username field is concatenated into a query.",
    "steps": "1. Open /login\n2. Enter ' OR 1=1 --",
    "impact": "Any account can be taken over.",
    "exploited": "unknown",
    "credit": "Ada L.",
}


def make_bundle(path: Path, team: PrivateKey, reporter: PrivateKey, hostile_name: str = "../../.bashrc") -> Path:
    both = [team.public, reporter.public]
    with (
        path.open("wb") as target,
        BundleWriter(target, "MP-2026-0042", "acknowledged", DAY, reporter.public) as bundle,
    ):

        def add(kind, body, meta, day, parent=None):
            return bundle.add(kind, io.BytesIO(seal_bytes(body, both, meta)), day=day, parent=parent)

        first = add("report", report.encode(REPORT_FIELDS), Meta("report", type="application/json", day=DAY), DAY)
        add(
            "attachment",
            b"#!/bin/sh\necho pwned\n",
            Meta("attachment", name=hostile_name, type="text/x-shellscript"),
            DAY,
            first,
        )
        add("attachment", b"PNG...", Meta("attachment", name="screenshot.png", type="image/png"), DAY, first)
        later = DAY + datetime.timedelta(days=2)
        question = add("message", b"Any news?", Meta("message", type="text/plain"), later)
        add("attachment", b"more", Meta("attachment", name="screenshot.png"), later, question)
        add(
            "reply",
            b"Confirmed, fix planned for December.",
            Meta("reply", type="text/plain"),
            later + datetime.timedelta(days=1),
        )
    return path
