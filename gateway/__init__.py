"""The gateway: the single URL heads use, in front of core and NATS."""
