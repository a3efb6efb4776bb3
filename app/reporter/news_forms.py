"""The news address's field (report form and mailbox) and the mailbox's form to change or remove
it. The address is checked here and sealed by app/domain/news.py; it never joins the report."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from ..domain import news


def _deliverable(form, field) -> None:
    if (field.data or "").strip():
        try:
            field.data = news.normalise(field.data)
        except news.AddressRefused:
            raise ValidationError(
                _l("This is not an e-mail address we can send to. Check it, or leave the field empty.")
            ) from None


def news_address_field(label=None) -> StringField:
    """The optional news address: empty, or an address `news.normalise` takes."""
    return StringField(
        label or _l("E-mail address for news (optional)"),
        validators=[Optional(), Length(max=news.MAX_ADDRESS, message=_l("This is too long.")), _deliverable],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


class NewsAddressForm(FlaskForm):
    """Leave, change or remove the news address, from the mailbox (no JavaScript needed)."""

    news_address = news_address_field(_l("E-mail address for news"))
    action = StringField()  # "save" or "remove": the button pressed
