"""What a reporter does in the portal, as test-client calls."""

import io
import re

from .conftest import csrf_token, upload_address

REPORT = {
    "accept_policy": "y",
    "title": "Stored XSS in the feedback form",
    "system": "www.example.nl",
    "version": "2.4",
    "description": "The name field is echoed without escaping. MARKER-DESCRIPTION",
    "steps": "1. Post <script>alert(1)</script> as name",
    "impact": "Session theft of every visitor.",
    "exploited": "no",
    "credit": "y",
    "credit_name": "Ada L.",
}
FILES = [("poc.html", b"<script>alert(1)</script>\n" * 100), ("screenshot.png", bytes(range(256)) * 4000)]


def submit_report(client, fields=None, files=None, **request_kwargs):
    page = client.get("/report", **request_kwargs)
    data = {"csrf_token": csrf_token(page.data), **(REPORT if fields is None else fields)}
    data["attachments"] = [(io.BytesIO(content), name) for name, content in (FILES if files is None else files)]
    return client.post(upload_address(page.data), data=data, content_type="multipart/form-data", **request_kwargs)


def passphrase_from(page: bytes) -> str:
    words = re.findall(r"<span>([a-z]+)</span>", page.decode())
    assert len(words) == 7, page.decode()
    return " ".join(words)


def sign_in(client, passphrase: str, **request_kwargs):
    page = client.get("/replies", **request_kwargs)
    return client.post(
        "/replies", data={"csrf_token": csrf_token(page.data), "passphrase": passphrase}, **request_kwargs
    )
