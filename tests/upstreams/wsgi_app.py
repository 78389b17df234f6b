"""wsgi_app.py - the WSGI app that gunicorn serves for tests/capture-upstreams.sh.

Answers every request with "ok\n" (Content-Length 3).  Logging lives in
gunicorn_conf.py, so this stays a plain WSGI callable.
"""


def app(environ, start_response):
    # drain a request body, if any (the client sends none)
    n = int(environ.get("CONTENT_LENGTH") or 0)
    if n:
        environ["wsgi.input"].read(n)
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", "3")])
    return [b"ok\n"]
