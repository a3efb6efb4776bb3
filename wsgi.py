import sys

from app import create_app
from app.domain.settings import ConfigError

try:
    app = create_app()
except ConfigError as problem:
    # One sentence that says what to do, not a traceback.
    sys.exit(f"meldpunt: {problem}")
