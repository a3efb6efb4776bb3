"""gunicorn settings shipped with Meldpunt. Start with: gunicorn -c gunicorn.conf.py wsgi:app

No access log: it would record every visitor's address, browser and the exact time. The error log
carries gunicorn's own messages (start, stop, worker problems), nothing about requests: our logger
class rewrites the lines in which gunicorn would name a client's address, a path or a header.
"""

import os

bind = os.environ.get("MELDPUNT_BIND", "127.0.0.1:5000")
# Threads, not processes, carry long uploads over slow Tor circuits; the heartbeat stays alive.
worker_class = "gthread"
workers = int(os.environ.get("MELDPUNT_WORKERS", "2"))
threads = int(os.environ.get("MELDPUNT_THREADS", "8"))
timeout = 120
accesslog = None
disable_redirect_access_to_syslog = True
errorlog = "-"
loglevel = "warning"
# gunicorn's own logger writes "Invalid request from ip=…: <the request line>" for a malformed
# request and the method and path of a request that failed; ours says what was wrong, without
# either, and writes no access log even if one is asked for (app/web/server_log.py).
logger_class = "app.web.server_log.ServerLog"
# Request lines can hold a passphrase-free but still identifying path; never print them.
capture_output = False
