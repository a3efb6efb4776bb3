"""Dutch and English. The visitor's choice is a cookie in their own browser; Accept-Language
picks the default and is never stored or logged."""

import datetime

from flask import Flask, request
from flask_babel import Babel, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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
        }

    @app.template_filter("month")
    def _month(value: datetime.date) -> str:
        return format_date(value, "MMMM y")

    @app.template_filter("day")
    def _day(value: datetime.date | None) -> str:
        return format_date(value, "long") if value else _("not yet")


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
CLOCK_STATUS = {"done": _l("done"), "overdue": _l("overdue"), "soon": _l("due within a day"), "running": _l("running")}


def state_label(state: str) -> str:
    return str(STATES.get(state, state))


def clock_label(name: str) -> str:
    return str(CLOCKS.get(name, name))


def clock_status(status: str) -> str:
    return str(CLOCK_STATUS.get(status, status))
