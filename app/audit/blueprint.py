"""The privacy officers' blueprint object and its access rule, on their own so the route modules
can import them without importing the package that imports them (no cycle).

Deny by default: every page needs a signed-in, enrolled, enabled auditor or admin; a handler's
attempt is refused and recorded in the history (app/web/accounts.py). Sign-in is the team's."""

from flask import Blueprint

from ..web.accounts import require_role

bp = Blueprint("audit", __name__, url_prefix="/audit")

DEFAULT_ROLES = ("auditor", "admin")
ROLES_FOR: dict[str, tuple[str, ...]] = {
    "audit.propose": ("admin",),  # four eyes: only an admin proposes; auditors and admins decide
}

bp.before_request(require_role(ROLES_FOR, DEFAULT_ROLES))
