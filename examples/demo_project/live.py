"""Serve the demo project over ASGI with uvicorn, websockets included: ``python live.py [PORT]``.

The live orders page is ``/live/``: it subscribes to the ``orders`` group through the
``/ws/events/`` websocket (``shop/consumers.py``) and shows each order as it is placed and
shipped, broadcast by ``shop/observers.py``'s ``LiveOrders`` once its transaction commits. Prints
``listening on http://127.0.0.1:PORT`` (PORT 0, the default, lets the system choose) and serves
until SIGTERM or SIGINT. No monkey-patching: sync views run in threads of their own, where each
request's events are handled when it finishes.
"""

from __future__ import annotations

import os
import socket
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    import uvicorn

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    listener.listen(128)  # connections wait in the backlog until uvicorn accepts them
    config = uvicorn.Config("demo.asgi:application", lifespan="off", log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    print(f"listening on http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    server.run(sockets=[listener])
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
