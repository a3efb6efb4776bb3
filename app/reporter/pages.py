"""Public pages: home, policy, the team key, security.txt, robots.txt."""

import datetime
from pathlib import Path

from flask import Response, abort, current_app, render_template, url_for
from flask_babel import get_locale
from markdown_it import MarkdownIt

from ..domain.bundle import published_sums
from ..domain.clock import today
from ..domain.models import Credit
from ..domain.settings import ROOT
from ..web.context import settings
from ..web.page_cache import same_for_everyone
from ..web.urls import base_url
from .blueprint import bp

SECURITY_TXT_DAYS = 180
_markdown = MarkdownIt("commonmark", {"html": False})


@bp.get("/")
@same_for_everyone
def home():
    return render_template("reporter/home.html")


@bp.get("/policy")
@same_for_everyone
def policy():
    return render_template("reporter/policy.html", policy=_markdown.render(_policy_text()))


def _policy_text() -> str:
    language = str(get_locale())
    config = settings()
    folder = config.get("MELDPUNT_POLICY_DIR")
    custom = ROOT / folder / f"policy.{language}.md" if folder else None
    source = custom if custom and custom.exists() else ROOT / "app" / "policy" / f"default.{language}.md"
    values = {
        "organisation": config["MELDPUNT_ORGANISATION"],
        "response_days": config["MELDPUNT_RESPONSE_DAYS"],
        "disclosure_days": config["MELDPUNT_DISCLOSURE_DAYS"],
        # Relative: the policy is a page of this portal, read over the clear web or the onion
        # address alike, and a link should keep the reader where they are.
        "report_url": url_for("reporter.report_form"),
    }
    text = source.read_text(encoding="utf-8")
    for name, value in values.items():  # not str.format: a policy may contain braces
        text = text.replace("{" + name + "}", str(value))
    return text


@bp.get("/key")
def team_key_page():
    # The bundles' SHA-256 beside the key: what reporters compare with the README and verify-site.
    sums = published_sums(Path(current_app.static_folder))
    return render_template("reporter/key.html", key=settings().team_key, bundle_sums=sums)


@bp.get("/.well-known/security.txt")
def security_txt():
    base = base_url()
    if base is None:
        # RFC 9116 wants absolute URLs, and the Host header is the client's to choose: without a
        # base URL there is nothing trustworthy to put in them (`meldpunt check` fails too).
        current_app.logger.warning("security.txt not served: set MELDPUNT_BASE_URL")
        abort(404)
    expires = datetime.datetime.combine(
        today(settings().zone) + datetime.timedelta(days=SECURITY_TXT_DAYS), datetime.time()
    )
    lines = [
        f"Contact: {settings().get('MELDPUNT_CONTACT') or base + url_for('reporter.report_form')}",
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"Encryption: {base}{url_for('reporter.team_key_page')}",
        f"Policy: {base}{url_for('reporter.policy')}",
        f"Acknowledgments: {base}{url_for('reporter.hall_of_fame')}",
        "Preferred-Languages: nl, en",
        f"Canonical: {base}{url_for('reporter.security_txt')}",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/hall-of-fame")
def hall_of_fame():
    entries = Credit.select().order_by(Credit.published.desc(), Credit.id.desc())
    return render_template("reporter/hall_of_fame.html", entries=list(entries))


@bp.get("/robots.txt")
def robots_txt():
    # The home and policy pages may be found; forms, mailboxes and files never.
    lines = [
        "User-agent: *",
        "Allow: /$",
        "Allow: /policy",
        "Allow: /hall-of-fame",
        "Allow: /.well-known/security.txt",
        "Disallow: /",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")
