"""The security team's side. Deny by default: every route needs a signed-in, enrolled, enabled
account with a role allowed there; only sign-in and enrolment are open."""

from flask import Blueprint, abort, g, request, session

from ..models import User

bp = Blueprint("team", __name__, url_prefix="/team")

PUBLIC = {"team.signin", "team.enrol", "team.enrol_qr"}
IDLE_MINUTES = 30


@bp.before_request
def _require_account():
    g.user = None
    user = User.get_or_none(User.id == session.get("team_user", -1))
    if user is not None and user.enrolled and not user.disabled:
        g.user = user
    if request.endpoint in PUBLIC:
        return None
    if g.user is None:
        abort(403)
    allowed = ROLES_FOR.get(request.endpoint, ("admin", "handler"))
    if g.user.role not in allowed:
        abort(403)
    return None


# Endpoints open to more or fewer roles than the default (admins and handlers).
ROLES_FOR: dict[str, tuple[str, ...]] = {
    "team.signout": ("admin", "handler", "auditor"),
    "team.home": ("admin", "handler", "auditor"),
    "team.users": ("admin",),
    "team.user_action": ("admin",),
}

from . import auth, publishing, replies, reports, users  # noqa: E402,F401  (routes register on bp)
