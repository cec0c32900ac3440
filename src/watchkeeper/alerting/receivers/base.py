"""What every integration shares: its id, whether it wants resolved notifications."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DeliveryError(Exception):
    """Delivery failed; ``retry`` False means trying again cannot help (bad config)."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class Integration:
    """One destination of a receiver; subclasses implement ``send``."""

    kind = "integration"

    def __init__(self, integration_id: str, config: Mapping[str, Any]) -> None:
        self.id = integration_id
        self.config = dict(config)
        self.send_resolved = bool(self.config.get("send_resolved", True))
        self.timeout = float(self.config.get("timeout", 10))

    def wants(self, payload: Mapping[str, Any]) -> bool:
        """Resolved-only notifications go out only where send_resolved is on."""
        return payload.get("status") == "firing" or self.send_resolved

    def send(self, payload: Mapping[str, Any]) -> None:
        raise NotImplementedError
