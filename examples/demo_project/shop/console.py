"""How the shop's handlers report what they do: one line each on standard output."""

from __future__ import annotations


def say(who: str, text: str) -> None:
    """Print ``[who] text`` at once (the demo's driver reads the server's output line by line)."""
    print(f"[{who}]".ljust(12) + text, flush=True)
