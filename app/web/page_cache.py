"""Pages that are the same for every visitor in a language, rendered once per process.

The home page and the policy depend on the configuration and the language alone: rendering them
(Jinja, a few dozen translations, and for the policy its Markdown) was most of their time
(bench/pages_bench.py). A visitor without a session cookie and without other query parameters
than `lang` gets the body rendered for the first such visitor in their language; anyone else (a
session may carry a message to show once) gets a page rendered for them. The policy file is read
when first shown: a changed MELDPUNT_POLICY_DIR takes effect at the next restart
(docs/deployment.md)."""

import threading
from functools import wraps

from flask import current_app, request
from flask_babel import get_locale

from .sessions import COOKIE

EXTENSION = "meldpunt.pages"  # per app: its configuration is part of the page
_lock = threading.Lock()


def same_for_everyone(view):
    @wraps(view)
    def cached(*args, **kwargs):
        if COOKIE in request.cookies or set(request.args) - {"lang"}:
            return view(*args, **kwargs)
        pages = current_app.extensions.setdefault(EXTENSION, {})
        key = (request.endpoint or "", str(get_locale()))
        body = pages.get(key)
        if body is None:
            body = view(*args, **kwargs)
            if isinstance(body, str):  # a page, not an error or a redirect
                with _lock:
                    pages[key] = body
        return body

    return cached
