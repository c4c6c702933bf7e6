"""Entry point. The async library patches the standard library before anything else loads."""

import os

ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
    # psycopg2 waits cooperatively, so a slow query never stalls the other clients.
    import psycogreen.eventlet

    psycogreen.eventlet.patch_psycopg()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
    import psycogreen.gevent

    psycogreen.gevent.patch_psycopg()

from app import create_app  # noqa: E402
from app.extensions import socketio  # noqa: E402
from tenants import collector  # noqa: E402
from tenants.jobs import jobs_of  # noqa: E402

app = create_app()
if not app.config["REDIS_URL"]:
    jobs_of(app).start_in_process()  # one command: jobs and the clock run in this process
# Thousands of sockets' objects out of the collector's sight (tenants/collector.py).
collector.tune()

if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    app.logger.info("serving", extra={"url": f"http://{host}:{port}", "async_mode": ASYNC_MODE})
    options = {}
    if ASYNC_MODE == "eventlet":
        # eventlet serves at most 1,024 connections at once unless told otherwise; every open
        # socket holds one, so a worker meant for thousands of visitors needs a higher cap (and
        # a file-descriptor limit to match: ulimit -n / systemd LimitNOFILE).
        options["max_size"] = int(os.environ.get("MAX_CONNECTIONS", "1024"))
    elif ASYNC_MODE == "threading":
        # Werkzeug's server: Flask-SocketIO refuses it unless stdin is a terminal, so under
        # systemd, nohup or CI the worker would exit at once. Threading mode is the measured
        # alternative (docs/BENCHMARKS.md), not the production default: allow it explicitly.
        options["allow_unsafe_werkzeug"] = True
    socketio.run(app, host=host, port=port, log_output=False, **options)
