"""One CSRF protection for every form; views that check their own token say so with `exempt`.

Flask-WTF's token lives in the session. The report form and the uploads it starts take a signed
token instead (app/web/anonymous.py), so that page gives no visitor a cookie before they use it."""

from flask import current_app, g, request
from flask_wtf import CSRFProtect

from . import anonymous


class Protect(CSRFProtect):
    def protect(self, apply_exemptions: bool = False) -> None:
        # Exempt views first: reading the form here would read a streamed body before its view
        # is ready for the files in it.
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        exempt = apply_exemptions and (not request.endpoint or self._is_exempt())
        if not exempt and anonymous.applies() and anonymous.form_token_valid(self._get_csrf_token()):
            g.csrf_valid = True
            return
        super().protect(apply_exemptions)


csrf = Protect()
