"""The reporter's side: anonymous visitors. Pages, the report form, the passphrase, the mailbox."""

from flask import Blueprint

bp = Blueprint("reporter", __name__)

from . import mailbox, pages, submit, uploads  # noqa: E402,F401  (routes register on bp)
