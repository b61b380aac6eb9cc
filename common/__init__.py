"""Plumbing shared by core, events, gateway and stack: settings, database URLs, the JSON log
schema, request ids, problem documents, the NATS connection, and the event-type and visibility
rules that both core and the gateway apply.

It imports nothing of `core/`, `events/`, `gateway/` or `stack/`, so each of them may import it.
"""
