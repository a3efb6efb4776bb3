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
from urllib.parse import urlsplit

from flask import current_app, g, request, session
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
PLACEHOLDING = "meldpunt_placeholders"  # on `g` while a page for everyone is rendered
SERIALIZERS = "meldpunt.form-tokens"  # in app.extensions: the key is derived once per app
# What a browser says about where a request comes from (Sec-Fetch-Site): our own page, or typed
# in. "same-site" is refused too: a sibling host under the same domain is another site to us.
OWN_SITE = ("same-origin", "none")


def _serializer(salt: str) -> URLSafeTimedSerializer:
    made = current_app.extensions.setdefault(SERIALIZERS, {})
    if salt not in made:  # derived once per app: the report form is served from a cache
        key = secretbox.derive_key(str(current_app.secret_key).encode(), spec.LABEL_FORM_TOKENS)
        made[salt] = URLSafeTimedSerializer(key, salt=salt)
    return made[salt]


def applies() -> bool:
    """This request is one where the report form's token counts: the form, its sealed post, and
    the uploads of a report (not of a signed-in reporter's follow-up)."""
    if request.endpoint == "reporter.start_upload":
        return request.form.get("purpose") == "report"
    if request.endpoint == "reporter.upload_part":
        from .uploads import OWNED

        owned = session.get(OWNED) or {}
        return isinstance(owned, dict) and owned.get((request.view_args or {}).get("handle")) == "report"
    return request.endpoint in ENDPOINTS


def form_token() -> str:
    if g.get(PLACEHOLDING):
        return PLACEHOLDERS["form"]
    # A random part: two visitors in the same second get different tokens all the same.
    return _serializer(FORM_SALT).dumps(secrets.token_hex(8))


def from_own_site() -> bool:
    """The browser does not say the request comes from elsewhere. Browsers of the last years send
    Sec-Fetch-Site (Tor Browser too); older ones at least Origin on a POST. Our own pages send
    `Origin: null` (their Referrer-Policy is no-referrer), which is accepted; a named origin must be
    this host."""
    fetched_from = request.headers.get("Sec-Fetch-Site")
    if fetched_from is not None:
        return fetched_from in OWN_SITE
    origin = request.headers.get("Origin")
    return origin in (None, "null") or urlsplit(origin).netloc == request.host


def form_token_valid(token: object) -> bool:
    """A token this server gave for the report form, younger than a form's time limit, from a
    browser that does not say the request comes from another site."""
    if not isinstance(token, str) or not from_own_site():
        return False
    try:
        value = _serializer(FORM_SALT).loads(token, max_age=current_app.config["WTF_CSRF_TIME_LIMIT"])
    except BadData:
        return False
    return isinstance(value, str) and len(value) == 16


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
