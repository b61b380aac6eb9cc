"""The ERP core: business rules and data behind an HTTP API."""

import os

# Piccolo finds its engine through this module; set before any table is imported.
os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")
