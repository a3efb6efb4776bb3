"""The security team's side: sign-in, the report list and page, replies, export, accounts, and the
proposals a second person decides."""

from . import auth, proposals, publishing, replies, reports, uploads, users  # noqa: F401  (importing them registers their routes)
from .blueprint import bp

__all__ = ["bp"]
