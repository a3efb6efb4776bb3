"""The reporter's forms. Every message is translated; text limits come from configuration."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, StopValidation, ValidationError

from ..web.anonymous import FormCSRF
from ..web.context import settings
from .news_forms import news_address_field

REQUIRED = _l("Please fill in this field.")
TOO_LONG = _l("This is too long.")


class _TextLimit:
    """The total of all text fields stays within MELDPUNT_MAX_TEXT_CHARS."""

    TEXT_FIELDS: tuple[str, ...] = ()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        limit = settings().max_text_chars
        total = sum(len(getattr(self, name).data or "") for name in self.TEXT_FIELDS)
        if total > limit:
            first = getattr(self, self.TEXT_FIELDS[0])
            first.errors = [
                *first.errors,
                _l(
                    "Together the text fields hold %(total)s characters; the limit is %(limit)s.",
                    total=total,
                    limit=limit,
                ),
            ]
            return False
        return valid


class ReportForm(_TextLimit, FlaskForm):
    TEXT_FIELDS = ("title", "system", "version", "description", "steps", "impact", "credit_name")

    class Meta:
        csrf_class = FormCSRF  # signed, not kept in a session: the form gives no cookie

    accept_policy = BooleanField(
        _l("I have read the disclosure policy and report under its terms."),
        validators=[DataRequired(_l("Please accept the policy to send a report."))],
    )
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=300, message=TOO_LONG)])
    system = StringField(
        _l("Affected system or product"), validators=[DataRequired(REQUIRED), Length(max=1000, message=TOO_LONG)]
    )
    version = StringField(_l("Version"), validators=[Optional(), Length(max=300, message=TOO_LONG)])
    description = TextAreaField(_l("Description of the vulnerability"), validators=[DataRequired(REQUIRED)])
    steps = TextAreaField(_l("Steps to reproduce"), validators=[Optional()])
    impact = TextAreaField(_l("Impact"), validators=[Optional()])
    exploited = RadioField(
        _l("Is this being actively exploited?"),
        choices=[
            SelectChoice("yes", _l("Yes")),
            SelectChoice("no", _l("No")),
            SelectChoice("unknown", _l("Don't know")),
        ],
        default="unknown",
        invalid_choice_message=_l("Choose one of the options."),
    )
    credit = BooleanField(_l("I would like to be credited when the vulnerability is disclosed"))
    credit_name = StringField(_l("Name to credit"), validators=[Length(max=200, message=TOO_LONG)])
    attachments = MultipleFileField(_l("Attachments"))
    website = StringField(_l("Leave this field empty"))  # honeypot: people never see it
    news_address = news_address_field()  # never part of the report: sealed to the notice key (app/domain/news.py)

    def validate_credit_name(self, field) -> None:
        if self.credit.data and not (field.data or "").strip():
            raise ValidationError(_l("Give the name to credit, or untick the credit box."))

    def fields_for_envelope(self) -> dict[str, str | None]:
        credit = (self.credit_name.data or "").strip() if self.credit.data else None
        return {
            "title": self.title.data.strip(),
            "system": self.system.data.strip(),
            "version": (self.version.data or "").strip() or None,
            "description": self.description.data,
            "steps": self.steps.data or None,
            "impact": self.impact.data or None,
            "exploited": self.exploited.data if self.exploited.data in ("yes", "no", "unknown") else "unknown",
            "credit": credit,
        }


# The report's body (ReportForm.fields_for_envelope), key by key in its order, and the field of the
# form whose label names each.
REPORT_BODY = {
    "title": "title",
    "system": "system",
    "version": "version",
    "description": "description",
    "steps": "steps",
    "impact": "impact",
    "exploited": "exploited",
    "credit": "credit_name",
}


def report_labels() -> dict[str, list[list[str]] | dict[str, str]]:
    """What a report's fields are shown by, on the server's mailbox page and in the browser alike:
    the report form's own labels, in the order of the body, and the answers to `exploited`."""
    fields = [[key, str(getattr(ReportForm, name).args[0])] for key, name in REPORT_BODY.items()]
    answers = {choice.value: str(choice.label) for choice in ReportForm.exploited.kwargs["choices"]}
    return {"fields": fields, "answers": answers}


# 32 bytes as lower-case hex, as the browser sends a key, a token or a hash: the one definition,
# for these forms and for app/reporter/uploads.py. No message: no person types these, and the
# views that check them say in their own words what went wrong.
HEX_32 = Regexp(r"[0-9a-f]{64}\Z")


class SealedReportForm(FlaskForm):
    """What the JavaScript path posts besides upload handles: nothing of the report's content, and
    of the reporter's identity only what the browser derived to be stored: the lookup token's hash
    and the public key (hex), never the passphrase or a secret."""

    class Meta:
        csrf_class = FormCSRF

    accept_policy = ReportForm.accept_policy
    website = StringField()
    news_address = ReportForm.news_address
    reporter_key = StringField(validators=[DataRequired(), HEX_32])
    lookup_hash = StringField(validators=[DataRequired(), HEX_32])


class FollowUpForm(_TextLimit, FlaskForm):
    TEXT_FIELDS = ("message",)

    message = TextAreaField(_l("Your message"), validators=[DataRequired(REQUIRED)])
    attachments = MultipleFileField(_l("Attachments"))


class _UnlessToken:
    """The passphrase is required, unless the browser sent the token derived from it instead."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        if not form.token.data and not (field.data or "").strip():
            raise StopValidation(REQUIRED)


class LoginForm(FlaskForm):
    """The passphrase (the JavaScript-free path: the server derives), or the lookup token the
    browser derived from it (hex; the passphrase field then stays in the browser)."""

    passphrase = PasswordField(_l("Your passphrase"), validators=[_UnlessToken(), Length(max=500, message=TOO_LONG)])
    token = StringField(validators=[Optional(), HEX_32])


class LogoutForm(FlaskForm):
    pass


class CloseMailboxForm(FlaskForm):
    """The confirmation step before a reporter closes their mailbox: the box must be ticked."""

    confirm = BooleanField(
        _l("I understand: I will get no replies any more, and my passphrase will open nothing."),
        validators=[DataRequired(_l("Tick the box to close your mailbox, or go back to keep it."))],
    )
