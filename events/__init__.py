"""The event contract: the CloudEvents envelope and the event types. Imports nothing of ours."""

from events.envelope import CloudEvent, EventType

__all__ = ["CloudEvent", "EventType"]
