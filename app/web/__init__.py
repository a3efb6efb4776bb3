"""Web plumbing shared by the blueprints: the settings and database per request, CSRF, sessions,
headers, rate limits, error pages, languages, proof of work, and the HTTP side of uploads.

May import app.domain and crypto; never a blueprint (tests/test_layers.py).
"""
