"""The websocket consumer of the live orders page."""

from __future__ import annotations

from django_event_system.channels import EventConsumer


class LiveOrdersConsumer(EventConsumer):
    """Anyone may follow the shop's ``orders`` feed (a demo has no secrets); nothing else."""

    async def can_subscribe(self, group: str) -> bool:
        return group == "orders"
