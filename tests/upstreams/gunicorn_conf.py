"""gunicorn_conf.py - logging hooks for tests/capture-upstreams.sh.

Loaded with `gunicorn -c tests/upstreams/gunicorn_conf.py --worker-class
gthread ...`.  It sets NO server option: keepalive stays at gunicorn's
default (2 s, gunicorn/config.py class Keepalive) and everything else too.
It only adds two log sources, as JSON lines appended to the file named by
$UPSTREAMS_GUNICORN_LOG:

  {"ev": "request", "port": P, "t": epoch}   post_request hook: after the
        response was written (the client's port from environ REMOTE_PORT)
  {"ev": "close", "port": P, "t": epoch, "idle_ms": ms, "expired": bool}
        every TConn.close() of the gthread worker; idle_ms is the time since
        the connection entered the keep-alive queue (conn.timeout - keepalive),
        expired tells whether its keep-alive deadline had passed, i.e. whether
        this is murder_keepalived() closing an idle connection.  The wrapper
        logs and then calls the original close(), so the timer is untouched.
  {"ev": "ready", ...}                       post_worker_init: version and the
        effective keepalive / worker class / threads
"""
import json
import os
import time

_LOG = os.environ.get("UPSTREAMS_GUNICORN_LOG", "/dev/stderr")


def _log(**obj):
    fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(obj) + "\n").encode())
    finally:
        os.close(fd)


def post_request(worker, req, environ, resp):
    _log(ev="request", port=int(environ.get("REMOTE_PORT") or 0),
         t=time.time(), path=environ.get("PATH_INFO", "") + "?" +
         environ.get("QUERY_STRING", ""), status=str(resp.status))


def post_worker_init(worker):
    import gunicorn
    from gunicorn.workers import gthread

    orig_close = gthread.TConn.close

    def close(self):
        now = time.time()
        idle_ms = expired = None
        if self.timeout is not None:
            idle_ms = round((now - (self.timeout - self.cfg.keepalive)) * 1000, 3)
            expired = now >= self.timeout
        port = self.client[1] if isinstance(self.client, (tuple, list)) else None
        _log(ev="close", port=port, t=now, idle_ms=idle_ms, expired=expired)
        orig_close(self)

    gthread.TConn.close = close
    _log(ev="ready", gunicorn=gunicorn.__version__,
         keepalive=worker.cfg.keepalive, worker_class=worker.cfg.worker_class_str,
         threads=worker.cfg.threads, worker=type(worker).__name__)
