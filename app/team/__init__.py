"""The security team's side: sign-in, the report list and page, replies, export, accounts."""

from . import auth, publishing, replies, reports, uploads, users  # noqa: F401  (importing them registers their routes)
from .blueprint import bp

__all__ = ["bp"]
