"""The security team's blueprint object and its access rule, on their own so the route modules can
import them without importing the package that imports them (no cycle).

Deny by default: every route needs a signed-in, enrolled, enabled account with a role allowed
there; only sign-in and enrolment are open."""

from flask import Blueprint

from ..web.accounts import require_role

bp = Blueprint("team", __name__, url_prefix="/team")

PUBLIC = frozenset({"team.signin", "team.enrol", "team.enrol_qr"})
DEFAULT_ROLES = ("admin", "handler")
# Endpoints open to more or fewer roles than the default (admins and handlers).
ROLES_FOR: dict[str, tuple[str, ...]] = {
    "team.signout": ("admin", "handler", "auditor"),
    "team.users": ("admin",),
    "team.user_action": ("admin",),
    "team.add_user": ("admin",),  # a new admin only as a proposal (four eyes)
    "team.hold": ("admin",),  # a legal hold placed, or its lifting proposed
    "team.proposals": ("admin",),  # four eyes: privacy officers decide under /audit/proposals
    "team.decide": ("admin",),
}

bp.before_request(require_role(ROLES_FOR, DEFAULT_ROLES, PUBLIC))
