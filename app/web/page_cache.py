"""Pages that are the same for every visitor in a language, rendered once per process.

The home page and the policy depend on the configuration and the language alone: rendering them
(Jinja, a few dozen translations, and for the policy its Markdown) was most of their time
(bench/pages_bench.py). A visitor without a session cookie and without other query parameters
than `lang` gets the body rendered for the first such visitor in their language; anyone else (a
session may carry a message to show once, or the report form attachments already received) gets
a page rendered for them. The report form is cached too, with its tokens filled in per visitor. The policy file is read
when first shown: a changed MELDPUNT_POLICY_DIR takes effect at the next restart
(docs/deployment.md)."""

import threading
from functools import wraps

from flask import current_app, g, request
from flask_babel import get_locale

from . import anonymous
from .sessions import COOKIE

EXTENSION = "meldpunt.pages"  # per app: its configuration is part of the page
_lock = threading.Lock()


def same_for_everyone(view):
    """The view's page, rendered once per endpoint and language. Tokens of the visitor's own (the
    report form's) are rendered as placeholders and filled in for each visitor."""

    @wraps(view)
    def cached(*args, **kwargs):
        if COOKIE in request.cookies or set(request.args) - {"lang"}:
            return view(*args, **kwargs)
        pages = current_app.extensions.setdefault(EXTENSION, {})
        key = (request.endpoint or "", str(get_locale()))
        kept = pages.get(key)
        if kept is None:
            setattr(g, anonymous.PLACEHOLDING, True)
            try:
                body = view(*args, **kwargs)
            finally:
                setattr(g, anonymous.PLACEHOLDING, False)
            if not isinstance(body, str):  # an error or a redirect: not kept
                return body
            kept = body, anonymous.has_placeholders(body)
            with _lock:
                pages[key] = kept
        body, placeholders = kept
        return anonymous.fill(body) if placeholders else body

    return cached
