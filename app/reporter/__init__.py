"""The reporter's side: anonymous visitors. Pages, the report form, the passphrase, the mailbox."""

from . import mailbox, news_stop, pages, submit, uploads  # noqa: F401  (importing them registers their routes)
from .blueprint import bp

__all__ = ["bp"]
