"""The privacy officers' side (role `auditor`, and admins): what is stored, for how long, who did
what, and whether the promises hold — never report content, nor anything a reporter could be
recognised by. Importing the route modules registers them on the blueprint."""

from . import history, pages, processing, proposals  # noqa: F401  (importing them registers their routes)
from .blueprint import bp

__all__ = ["bp"]
