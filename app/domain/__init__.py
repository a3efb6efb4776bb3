"""What a report is and what may happen to it: storage, uploads, the CVD workflow, deadlines,
accounts, export and notification.

Nothing here imports Flask or Werkzeug (tests/test_layers.py keeps it so). Settings arrive as an
argument (`Settings`), failures leave as `DomainError` subclasses, and the web layer turns those
into responses in one place (app/web/errors.py). The CLI, the benches and the tests use this
package without a Flask app.
"""
