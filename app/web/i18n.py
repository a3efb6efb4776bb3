"""Dutch and English. The visitor's choice is a cookie in their own browser; Accept-Language
picks the default and is never stored or logged.

The scripts' texts come from the same catalogue: `t("…")` in static/js/*.mjs is extracted like
`_("…")` (babel.cfg), and a page that loads the scripts carries the translations of exactly those
message ids, for its language, in a `data-texts` attribute of its <script> element
(templates/base.html), which static/js/i18n.mjs reads. An attribute, not an inline script or a
JSON block: the page keeps one script element and its CSP (docs/architecture.md, "Languages")."""

import datetime
import functools

from babel.messages.extract import extract_from_file
from flask import Flask, request
from flask_babel import Babel, format_date, format_datetime, format_decimal, format_number, gettext, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain.settings import ROOT

LANGUAGES = {"nl": "Nederlands", "en": "English"}  # code: the language's name in itself
COOKIE = "mp_lang"

babel = Babel()


def select_locale() -> str:
    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")

    @app.after_request
    def _remember(response):
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            response.set_cookie(
                COOKIE, chosen, httponly=True, samesite="Strict", secure=app.config["MELDPUNT_SECURE_COOKIES"]
            )
        return response

    @app.context_processor
    def _languages():
        return {
            "languages": LANGUAGES,
            "current_language": select_locale,
            "state_label": state_label,
            "clock_label": clock_label,
            "clock_status": clock_status,
            "script_texts": script_texts,
            "role_label": role_label,
            "kind_label": kind_label,
            "action_label": action_label,
        }

    @app.template_filter("month")
    def _month(value: datetime.date) -> str:
        return format_date(value, "MMMM y")

    @app.template_filter("day")
    def _day(value: datetime.date | None) -> str:
        return format_date(value, "long") if value else _("not yet")

    app.add_template_filter(short_day, "short_day")
    app.add_template_filter(moment, "moment")
    app.add_template_filter(size, "size")
    app.add_template_filter(format_number, "number")


def short_day(value: datetime.date | None) -> str:
    """A day in the visitor's language, short: "29 nov 2026", "Nov 29, 2026"."""
    return format_date(value, "medium") if value else "—"


def moment(value: datetime.datetime | None) -> str:
    """A team time, stored in UTC and shown in UTC (the pages say so), in the visitor's language."""
    if not isinstance(value, datetime.datetime):
        return str(value or "—")
    return format_datetime(value, "medium")  # naive and UTC, shown in UTC (BABEL_DEFAULT_TIMEZONE)


SIZES = ((1024**3, _l("%(number)s GiB")), (1024**2, _l("%(number)s MiB")), (1024, _l("%(number)s KiB")))


def size(value: int) -> str:
    """A size in bytes as the visitor reads numbers: "4,3 KiB" in Dutch."""
    for scale, unit in SIZES:
        if value >= scale:
            return str(unit) % {"number": format_decimal(value / scale, "#,##0.#")}
    return ngettext("%(count)s byte", "%(count)s bytes", value, count=format_number(value))


STATES = {
    "received": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "confirmed": _l("Confirmed"),
    "fixing": _l("Being fixed"),
    "resolved": _l("Resolved"),
    "disclosed": _l("Disclosed"),
    "duplicate": _l("Duplicate"),
    "not_vulnerability": _l("Not a vulnerability"),
    "out_of_scope": _l("Out of scope"),
    "spam": _l("Spam"),
}
CLOCKS = {
    "answer": _l("Answer with assessment"),
    "disclosure": _l("Disclosure"),
    "cra_early_warning": _l("CRA early warning (24 h)"),
    "cra_notification": _l("CRA notification (72 h)"),
    "cra_final_report": _l("CRA final report (14 days after the fix)"),
}
ROLES = {"admin": _l("admin"), "handler": _l("handler"), "auditor": _l("privacy officer")}
KINDS = {
    "report": _l("report"),
    "attachment": _l("attachment"),
    "message": _l("follow-up"),
    "reply": _l("reply"),
}
# What a history entry says happened (app/domain/workflow.py `record`, chain.py, proposals.py).
# The entry's detail is shown as written: it is part of the hashed record, in English.
ACTIONS = {
    "viewed": _l("viewed"),
    "state": _l("state changed"),
    "reply": _l("replied"),
    "export": _l("exported"),
    "fix-expected": _l("expected fix set"),
    "disclosure-planned": _l("disclosure planned"),
    "cra:aware": _l("CRA: aware of active exploitation"),
    "cra:cra_early_warning": _l("CRA: early warning sent"),
    "cra:cra_notification": _l("CRA: notification sent"),
    "cra:cra_final_report": _l("CRA: final report sent"),
    "credit-published": _l("credit published"),
    "credit-withdrawn": _l("credit withdrawn"),
    "hold-placed": _l("legal hold placed"),
    "hold-lifted": _l("legal hold lifted"),
    "proposal-opened": _l("proposal opened"),
    "proposal-approved": _l("proposal approved"),
    "proposal-rejected": _l("proposal rejected"),
    "proposal-withdrawn": _l("proposal withdrawn"),
    "signed-in": _l("signed in"),
    "signed-out": _l("signed out"),
    "sign-in-failed": _l("sign-in failed"),
    "enrolled": _l("enrolled"),
    "refused": _l("refused"),
    "user-add": _l("account created"),
    "user-disable": _l("account disabled"),
    "user-enable": _l("account enabled"),
    "user-reset": _l("account reset"),
    "retention": _l("retention run"),
    "purge": _l("purge completed"),
    "purge-incomplete": _l("purge incomplete"),
    "audit-verified": _l("history verified"),
    "chain-created": _l("history started"),
    "chain-upgraded": _l("history started at an upgrade"),
}
CLOCK_STATUS = {"done": _l("done"), "overdue": _l("overdue"), "soon": _l("due within a day"), "running": _l("running")}


def state_label(state: str) -> str:
    return str(STATES.get(state, state))


def clock_label(name: str) -> str:
    return str(CLOCKS.get(name, name))


def clock_status(status: str) -> str:
    return str(CLOCK_STATUS.get(status, status))


def role_label(role: str) -> str:
    return str(ROLES.get(role, role))


def kind_label(kind: str) -> str:
    return str(KINDS.get(kind, kind))


def action_label(action: str) -> str:
    """An unknown action (a newer version's, or a row written with other tools) as recorded."""
    return str(ACTIONS.get(action, action))


SCRIPTS = ROOT / "static" / "js"


@functools.cache
def script_messages() -> tuple[str, ...]:
    """The message ids of `t("…")` in the scripts' sources, found as `make messages` finds them."""
    found = {
        message
        for path in sorted(SCRIPTS.glob("*.mjs"))
        for _line, message, _comments, _context in extract_from_file("javascript", path, keywords={"t": None})
        if isinstance(message, str)
    }
    return tuple(sorted(found))


def script_texts() -> dict[str, str]:
    """The scripts' texts in the page's language, message id to translation."""
    return {message: gettext(message) for message in script_messages()}
