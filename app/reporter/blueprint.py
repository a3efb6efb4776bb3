"""The reporter's blueprint object, on its own so the route modules can import it without
importing the package that imports them (no cycle)."""

from flask import Blueprint

bp = Blueprint("reporter", __name__)
