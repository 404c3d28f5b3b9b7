"""Serve the toolbar's page: ``python -m tests.django.toolbarapp.serve``.

Monkey-patched gevent, as a deployment is; static files (the toolbar's) served too. The page's
events are those of :mod:`tests.django.toolbarapp.demo`. Prints the port it listens on (on
127.0.0.1, chosen by the system) and serves until it is terminated.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.django.toolbarapp.settings"
    import django

    django.setup()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application
    from gevent.pywsgi import WSGIServer

    from . import demo, views

    views.scenario = demo.place_order
    server = WSGIServer(("127.0.0.1", 0), StaticFilesHandler(get_wsgi_application()), log=None)
    server.start()
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
