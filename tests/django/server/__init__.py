"""A monkey-patched gevent WSGI server that the tests start in a subprocess."""
