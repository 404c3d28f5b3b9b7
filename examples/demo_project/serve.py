"""Serve the demo project with gevent's WSGI server: ``python serve.py [PORT]``.

gevent's monkey-patching comes first, before anything else is imported, so that sockets, sleeps
and Django's thread-locals are cooperative. Then whenever a request waits on I/O, the gevent hub
runs the event handlers: a view's handlers start as soon as it has answered. Prints
``listening on http://127.0.0.1:PORT`` (PORT 0, the default, lets the system choose) and serves
until SIGTERM or SIGINT, then handles what is still queued and exits.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    import gevent
    from django.core.wsgi import get_wsgi_application
    from gevent.pywsgi import WSGIServer

    server = WSGIServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), get_wsgi_application(), log=None)
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, server.stop)
    server.start()
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
    # Leaving main() ends the interpreter, which first handles every event still queued.
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
