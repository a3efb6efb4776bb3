"""One CSRF protection for every form; views that check their own token say so with `exempt`."""

from flask_wtf import CSRFProtect

csrf = CSRFProtect()
