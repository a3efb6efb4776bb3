"""Signed tokens for the one form anyone may use: the report form and the uploads it starts.

A visitor gets no cookie before they use a form (a cookie handed to every visitor of `/report` was
most of that page's time, and a cookie is a thing to be tracked by). So the report form's CSRF
token and its proof-of-work challenge are not kept in a session: they are signed with a key
derived from SECRET_KEY and carry their own age, and the server keeps nothing until the visitor
sends something. The token is for no one in particular, which is safe here because these
endpoints act with no one's authority: anyone may fetch the form and send a report. What the
token still stops is another site posting through a visitor's browser: it cannot read our page to
learn a token, and a browser that says the request comes from another site (`Sec-Fetch-Site`) is
refused whatever it carries. Every other form keeps Flask-WTF's token, tied to the session.

The report page is rendered once per language with placeholders where the tokens go (`fill`),
so each visitor still gets tokens of their own (app/web/page_cache.py).
"""

import secrets

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError

from crypto import secretbox, spec

# Where the report form's token is taken instead of the session's. The upload endpoints count
# only for a report's uploads; a follow-up belongs to a signed-in reporter and their session.
ENDPOINTS = ("reporter.report_form", "reporter.report_sealed", "reporter.start_upload", "reporter.upload_part")
FORM_SALT = "report-form"
CHALLENGE_SALT = "proof-of-work"
# Placeholders in a page rendered for everyone: letters only, so escaping and URL quoting keep them.
PLACEHOLDERS = {"form": "MELDPUNTFORMTOKENSLOT", "challenge": "MELDPUNTCHALLENGESLOT", "signed": "MELDPUNTSIGNEDSLOT"}
PLACEHOLDING = "meldpunt_placeholders"
SERIALIZERS = "meldpunt.form-tokens"  # on `g` while a page for everyone is rendered


def _serializer(salt: str) -> URLSafeTimedSerializer:
    made = current_app.extensions.setdefault(SERIALIZERS, {})
    if salt not in made:  # derived once per app: the report form is served from a cache
        key = secretbox.derive_key(str(current_app.secret_key).encode(), spec.LABEL_FORM_TOKENS)
        made[salt] = URLSafeTimedSerializer(key, salt=salt)
    return made[salt]


def applies() -> bool:
    """This request is one where the report form's token counts."""
    if request.endpoint not in ENDPOINTS:
        return False
    return request.endpoint != "reporter.start_upload" or request.form.get("purpose") == "report"


def form_token() -> str:
    if g.get(PLACEHOLDING):
        return PLACEHOLDERS["form"]
    return _serializer(FORM_SALT).dumps(FORM_SALT)


def form_token_valid(token: object) -> bool:
    """A token this server gave for the report form, younger than a form's time limit, sent by a
    browser that does not say it comes from another site."""
    if not isinstance(token, str) or request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    try:
        return _serializer(FORM_SALT).loads(token, max_age=current_app.config["WTF_CSRF_TIME_LIMIT"]) == FORM_SALT
    except BadData:
        return False


class FormCSRF(CSRF):
    """The report forms' CSRF field (`class Meta: csrf_class = FormCSRF`): the token above."""

    def generate_csrf_token(self, _field) -> str:
        return form_token()

    def validate_csrf_token(self, form, field) -> None:
        if not form_token_valid(field.data):
            raise ValidationError(_l("The form had expired. Check it and send it again."))


def challenge() -> tuple[str, str]:
    """A new proof-of-work challenge (hex) and the same signed, for the browser to send back."""
    if g.get(PLACEHOLDING):
        return PLACEHOLDERS["challenge"], PLACEHOLDERS["signed"]
    value = secrets.token_hex(16)
    return value, _serializer(CHALLENGE_SALT).dumps(value)


def challenge_from(signed: object, max_age: int) -> str | None:
    """The challenge a signed token stands for, if this server signed it less than `max_age`
    seconds ago."""
    if not isinstance(signed, str):
        return None
    try:
        value = _serializer(CHALLENGE_SALT).loads(signed, max_age=max_age)
    except BadData:
        return None
    return value if isinstance(value, str) and len(value) == 32 else None


def has_placeholders(body: str) -> bool:
    return any(slot in body for slot in PLACEHOLDERS.values())


def fill(body: str) -> str:
    """A page rendered for everyone, with this visitor's own tokens in place of the placeholders."""
    value, signed = challenge()
    for slot, token in (
        (PLACEHOLDERS["form"], form_token()),
        (PLACEHOLDERS["challenge"], value),
        (PLACEHOLDERS["signed"], signed),
    ):
        body = body.replace(slot, token)
    return body
