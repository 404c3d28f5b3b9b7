"""A load client for when ``wrk`` is missing: ``python -m benchmarks.e2e.load URL [options]``.

Options: ``--connections N --duration S --pause MS``. Keeps N HTTP/1.1 keep-alive connections
busy for S seconds, each sending ``POST /rows/`` as soon as its previous answer arrived, or MS
milliseconds after it (closed loop, as ``wrk`` does), and prints the line ``wrk`` prints with
``benchmarks/e2e/post.lua``: ``E2E-RESULT {json}``, latencies in microseconds. It runs its
connections on gevent in one process, which is slower than ``wrk``: check that it is not the
bottleneck (the server's process should be the one at 100% CPU).
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import gevent  # noqa: E402

BODY = b'{"note": "bench"}'
HEADERS = {"Content-Type": "application/json"}


@dataclass
class Tally:
    """What the connections saw."""

    latencies_us: list[float] = field(default_factory=list)
    """One entry per answered request, 2xx or not."""
    non_2xx: int = 0
    errors: int = 0
    """Connections that failed (refused, reset, timed out); each reconnects."""


def connection_loop(host: str, port: int, deadline: float, pause: float, tally: Tally) -> None:
    """Send requests one after another on one connection until ``deadline``, ``pause`` seconds apart."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            connection.request("POST", "/rows/", BODY, HEADERS)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            tally.errors += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
            continue
        tally.latencies_us.append((time.perf_counter() - started) * 1e6)
        if not 200 <= response.status < 300:
            tally.non_2xx += 1
        if pause:
            gevent.sleep(pause)
    connection.close()


def percentile(ordered: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``ordered`` (sorted, not empty) lies, by nearest rank."""
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def main() -> None:
    """Parse the arguments, run the load, print the result line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url", help="the server's root, e.g. http://127.0.0.1:8000")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--pause", type=float, default=0.0, help="milliseconds between an answer and the next request")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "http" or url.hostname is None or url.port is None:
        parser.error(f"the URL must be http://HOST:PORT, not {args.url!r}")
    tally = Tally()
    started = time.monotonic()
    deadline = started + args.duration
    gevent.joinall(
        [
            gevent.spawn(connection_loop, url.hostname, url.port, deadline, args.pause / 1000, tally)
            for _ in range(args.connections)
        ]
    )
    duration = time.monotonic() - started
    ordered = sorted(tally.latencies_us) or [0.0]
    result = {
        "requests": len(tally.latencies_us),
        "duration_us": duration * 1e6,
        "p50_us": percentile(ordered, 0.50),
        "p90_us": percentile(ordered, 0.90),
        "p99_us": percentile(ordered, 0.99),
        "max_us": ordered[-1],
        "mean_us": sum(ordered) / len(ordered),
        "connect_errors": 0,
        "read_errors": tally.errors,
        "write_errors": 0,
        "non_2xx": tally.non_2xx,
        "timeouts": 0,
    }
    print("E2E-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
