"""The team's forms on the report page and the accounts page. Every message is translated; a
form that fails comes back with its messages at its fields (templates/macros.html), never as a
flashed line. Checks that need the report (the states it may move to, the original of a
duplicate, its mailbox) take it as the form's `report`."""

import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from ..domain import accounts, workflow
from ..domain.models import Mailbox, Report
from ..web.i18n import role_label, state_label

REQUIRED = _l("Please fill in this field.")
TOO_LONG = _l("This is too long.")
NOT_POSSIBLE = _l("That change is not possible from the current state.")
HOLD_REASON = _l("Give a reason (at most 500 characters) to place or lift a legal hold.")
MAX_REASON_CHARS = 500
MAX_CREDIT_CHARS = 200


def _collapsed(text: str | None) -> str | None:
    return " ".join(text.split()) if text else text


def _stripped(text: str | None) -> str | None:
    return text.strip() if text else text


class DayField(DateField):
    """A day as a date input sends it (YYYY-MM-DD); empty is no day. Anything else is this
    field's message, the typed text kept."""

    def process_formdata(self, valuelist):
        text = " ".join(valuelist).strip() if valuelist else ""
        self.data = None
        if not text:
            return
        try:
            self.data = datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError(_l("Give a date as year-month-day, for example 2027-03-31.")) from None


class DayRequired:
    """A day must be given; a text that is no day keeps its own message alone (DataRequired would
    replace it by "Please fill in this field.")."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        if field.data is None and not field.process_errors:
            raise StopValidation(str(REQUIRED))


class _ForReport(FlaskForm):
    """A form about one report (`report`), given when the form is made."""

    def __init__(self, report: Report, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = report


def acknowledged_with_assessment(report: Report) -> bool:
    """The policy's first answer is due and the reporter can read it: acknowledging then takes the
    assessment and the expected fix date (AcknowledgeForm). With the mailbox closed it is a bare
    state change, as nobody could read an assessment."""
    return (
        "acknowledged" in workflow.allowed(report.state)
        and not report.acknowledged
        and Mailbox.get_or_none(Mailbox.report == report) is not None
    )


class AcknowledgeForm(_ForReport):
    assessment = TextAreaField(_l("Assessment (sealed to the reporter and the team)"), [DataRequired(REQUIRED)])
    fix_expected = DayField(_l("Expected fix date"), [DayRequired()], id="ack-fix-expected")


class StateForm(_ForReport):
    """The choices are the states the report may move to now; a duplicate names its original."""

    state = RadioField(_l("New state"), validate_choice=False)
    duplicate_of = StringField(_l("Duplicate of (reference)"), filters=[_stripped])
    message = TextAreaField(
        _l("Message to the reporter (optional, sealed to them and the team)"), filters=[_stripped], id="state-message"
    )

    def __init__(self, report: Report, *args, **kwargs):
        super().__init__(report, *args, **kwargs)
        allowed = workflow.allowed(report.state)
        if acknowledged_with_assessment(report):  # the acknowledge form does it, never a bare state
            allowed = [state for state in allowed if state != "acknowledged"]
        self.state.choices = [(state, state_label(state)) for state in allowed]
        self.original: Report | None = None

    def validate_state(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Choose the new state."))
        # Not only the choices shown: a bare "acknowledged" (without an assessment) stays possible
        # for scripts and the tests' short cuts; the page offers the acknowledge form instead.
        if field.data not in workflow.allowed(self.report.state):
            raise ValidationError(NOT_POSSIBLE)

    def validate_duplicate_of(self, field) -> None:
        if self.state.data != "duplicate":
            return
        if not field.data:
            raise ValidationError(_l("Name the original report's reference to mark this one as a duplicate."))
        self.original = Report.get_or_none(Report.reference == field.data)
        if self.original is None:
            # gettext, not lazy: a lazy string counts as safe HTML, and this one holds what was typed
            raise ValidationError(_("No report has the reference %(reference)s.", reference=field.data))
        if self.original.id == self.report.id:
            raise ValidationError(_l("A report cannot be a duplicate of itself."))

    def validate_message(self, field) -> None:
        # Said before anything changes: the state and its message go together or not at all.
        if field.data and Mailbox.get_or_none(Mailbox.report == self.report) is None:
            raise ValidationError(
                _l("The reporter has no mailbox any more: nothing was changed. Change the state without a message.")
            )


class DatesForm(_ForReport):
    """A changed disclosure date needs a reason; `in_force` is the one the form showed."""

    fix_expected = DayField(_l("Expected fix"))
    disclosure_planned = DayField(_l("Planned disclosure"))
    reason = StringField(
        _l("Reason for a changed disclosure date"),
        [Length(max=MAX_REASON_CHARS, message=TOO_LONG)],
        filters=[_collapsed],
    )

    def __init__(self, report: Report, in_force: datetime.date, *args, **kwargs):
        super().__init__(report, *args, **kwargs)
        self.in_force = in_force

    def validate_reason(self, field) -> None:
        changed = self.disclosure_planned.data not in (None, self.in_force)
        if changed and not field.data:
            raise ValidationError(_l("Give a reason for the disclosure date."))


class ReplyForm(FlaskForm):
    """The typed reply; static/js/form-errors.mjs checks the same (`data-required`)."""

    message = TextAreaField(_l("Reply, sealed to the reporter and the team"), [DataRequired(REQUIRED)])


def _hold_reason(label) -> StringField:
    """Placing and lifting a hold ask the same of their reason; only the label differs."""
    rules = [DataRequired(HOLD_REASON), Length(max=workflow.MAX_HOLD_REASON, message=HOLD_REASON)]
    return StringField(label, rules, filters=[_collapsed], id="hold-reason")


class HoldForm(FlaskForm):
    reason = _hold_reason(_l("Reason for the hold (goes into the history)"))


class LiftHoldForm(HoldForm):
    reason = _hold_reason(_l("Reason to lift the hold (goes into the history)"))


class CreditForm(FlaskForm):
    name = StringField(
        _l("Name to credit, as the reporter asked (from report.md)"),
        [DataRequired(REQUIRED), Length(max=MAX_CREDIT_CHARS, message=TOO_LONG)],
        filters=[_stripped],
        id="credit-name",
    )


class NewAccountForm(FlaskForm):
    """A new account's name (app/domain/accounts.py `account_name`) and role; the name taken is
    the view's check, done where the account is made."""

    name = StringField(
        _l("Name"), [DataRequired(REQUIRED)], id="new-name", render_kw={"maxlength": accounts.MAX_NAME_CHARS}
    )
    role = SelectField(
        _l("Role"), default="handler", id="new-role", invalid_choice_message=_l("Choose one of the options.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [(role, role_label(role)) for role in accounts.ROLES]

    def validate_name(self, field) -> None:
        try:
            field.data = accounts.account_name(field.data)
        except ValueError:
            raise ValidationError(
                _l("Give a name of 1 to %(chars)s characters.", chars=accounts.MAX_NAME_CHARS)
            ) from None
