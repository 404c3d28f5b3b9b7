"""Run the test server: ``python -m tests.django.server.serve [--migrate]``.

Monkey-patches first, before anything else is imported, as a gevent deployment does. Prints the
port it listens on (on 127.0.0.1, chosen by the system) and serves until it is terminated.
With ``TEST_SERVER_GC=off`` the garbage collector is off, so that a connection nobody closed
stays open instead of being closed by chance when its objects are collected.
"""

from gevent import monkey

monkey.patch_all()

import gc  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


def main() -> None:
    if os.environ.get("TEST_SERVER_GC") == "off":
        gc.disable()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django.server.settings")
    import django

    django.setup()
    if "--migrate" in sys.argv:
        from django.core.management import call_command

        call_command("migrate", run_syncdb=True, verbosity=0)
    from django.core.wsgi import get_wsgi_application
    from gevent.pywsgi import WSGIServer

    server = WSGIServer(("127.0.0.1", 0), get_wsgi_application(), log=None)
    server.start()
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
