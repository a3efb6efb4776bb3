"""Who is signed in to the workspace (the security team and the privacy officers), and the
deny-by-default check both of their blueprints run before every request."""

from flask import abort, g, request, session

from ..domain import chain
from ..domain.models import User
from .sessions import TEAM_USER


def signed_in_user() -> User | None:
    """The account of this request's live team session (app/web/sessions.py checked it)."""
    user = User.get_or_none(User.id == session.get(TEAM_USER, -1))
    return user if user is not None and user.enrolled and not user.disabled else None


def require_role(roles_for: dict[str, tuple[str, ...]], default: tuple[str, ...], public: frozenset[str] = frozenset()):
    """A `before_request` for a blueprint: every endpoint needs a signed-in, enrolled, enabled
    account whose role `roles_for` allows (or `default`), except the `public` ones. A refusal is a
    403, never a redirect that hides it."""

    def check() -> None:
        g.user = signed_in_user()
        if request.endpoint in public:
            return
        if g.user is None or g.user.role not in roles_for.get(request.endpoint, default):
            if g.user is not None:  # a signed-in account tried a page of another role: on record
                chain.append(None, g.user, "refused", request.endpoint or "unknown address")
            abort(403)

    return check
