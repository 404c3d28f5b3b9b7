"""The server of one variant: ``python -m benchmarks.e2e.serve`` (with ``E2E_VARIANT`` and ``E2E_DATABASE``).

gevent's monkey-patching comes first, before anything else is imported, so that sockets, sleeps
and Django's thread-locals are cooperative. Then it creates the SQLite table (WAL mode), serves
with gevent's WSGI server (``TCP_NODELAY`` on each connection) on a free loopback port, prints ``listening on http://127.0.0.1:PORT``
and serves until SIGTERM or SIGINT.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIHandler, WSGIServer  # noqa: E402


class FairWSGIHandler(WSGIHandler):
    """gevent's handler of one connection, yielding to the other connections between requests.

    On a keep-alive connection gevent reads the next request as soon as the last answer is sent;
    when the client has already sent it, the read does not block, so the greenlet never yields
    and a few connections are served while the others wait, for seconds under saturation. A
    ``sleep(0)`` before each request serves the connections in turn, as a thread pool or a
    front proxy would. It costs every variant the same.
    """

    def handle_one_request(self) -> Any:
        gevent.sleep(0)
        return super().handle_one_request()


class NoDelayWSGIServer(WSGIServer):
    """gevent's WSGI server, with Nagle's algorithm off on each connection, as gunicorn does.

    gevent writes a response's headers and its body in two ``send`` calls. With Nagle's
    algorithm on, the kernel holds the body until the client acknowledges the headers, which a
    client on a keep-alive connection delays by about 40 ms: every request would take 40 ms
    more, whatever the server does, and the figures would measure that.
    """

    def handle(self, sock: socket.socket, address: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)

    handler_class = FairWSGIHandler


def main() -> None:
    """Create the table, serve until a signal, print ``stopped``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.e2e.settings")
    import django

    django.setup()

    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    call_command("migrate", run_syncdb=True, verbosity=0)
    with connection.cursor() as cursor:
        # Persistent: every later connection to the file uses the write-ahead log.
        cursor.execute("PRAGMA journal_mode=WAL")
    connection.close()

    server = NoDelayWSGIServer(("127.0.0.1", 0), get_wsgi_application(), log=None)
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, server.stop)
    server.start()
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
