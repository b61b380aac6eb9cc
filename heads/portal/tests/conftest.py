"""The portal's tests run against a whole running stack: `ERP_GATEWAY_URL` names its gateway
(and, for the browser test, `ERP_PORTAL_URL` its portal); see README.md, Tests."""

from __future__ import annotations

from collections.abc import Iterator

import live
import pytest


@pytest.fixture(autouse=True)
def _stop_feeds() -> Iterator[None]:
    """Each AppTest session starts a live feed thread; end them after each test."""
    yield
    live.stop_all()
