"""Import the ASGI application, which dispatches, and only then start uvicorn on it.

``python -m tests.lifecycle.project.uvicorn_first``: the start-up events are dispatched in the
main thread before uvicorn's event loop runs there, as in a ``serve.py`` that builds the
application and calls ``uvicorn.run``. (``uvicorn module:app`` imports the module inside its loop.)
"""

from __future__ import annotations

import uvicorn

from .asgi import application

if __name__ == "__main__":
    uvicorn.run(application, host="127.0.0.1", port=0, lifespan="off", log_level="info")
