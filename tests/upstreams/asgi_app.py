"""asgi_app.py - the ASGI app that uvicorn serves for tests/capture-upstreams.sh.

Run as `python3 -m uvicorn --log-config tests/upstreams/uvicorn-log.json
--log-level trace asgi_app:app` with NO keep-alive option, so
timeout_keep_alive keeps uvicorn's default (5 s, uvicorn/config.py).
Answers every request with "ok\n" (Content-Length 3) and appends one JSON
line per answered request to $UPSTREAMS_UVICORN_LOG, after the response
body was handed to the transport:
  {"ev": "request", "port": client port, "t": epoch, "path": ...}
uvicorn's own trace log ("HTTP connection made" / "HTTP connection lost",
with the client's ip:port) gives the closes.
"""
import json
import os
import time

_LOG = os.environ.get("UPSTREAMS_UVICORN_LOG", "/dev/stderr")


def _log(**obj):
    fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(obj) + "\n").encode())
    finally:
        os.close(fd)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                import uvicorn
                _log(ev="ready", uvicorn=uvicorn.__version__)
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body (empty here)
        msg = await receive()
        more = msg.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", b"3")]})
    await send({"type": "http.response.body", "body": b"ok\n"})
    _log(ev="request", port=scope["client"][1], t=time.time(),
         path=scope["path"] + "?" + scope["query_string"].decode())
