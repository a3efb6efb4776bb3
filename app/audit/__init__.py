"""The privacy officers' side (role `auditor`): what is stored, for how long, who did what —
never report content. Deny by default, like the team's blueprint; sign-in is the team's."""

from flask import Blueprint, render_template

from ..web.accounts import require_role

bp = Blueprint("audit", __name__, url_prefix="/audit")

DEFAULT_ROLES = ("auditor", "admin")
ROLES_FOR: dict[str, tuple[str, ...]] = {}

bp.before_request(require_role(ROLES_FOR, DEFAULT_ROLES))


@bp.get("/")
def home():
    return render_template("audit/home.html")
