"""The event log: published events, oldest first, for catching up and audit."""
