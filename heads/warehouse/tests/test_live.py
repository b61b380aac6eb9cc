"""The event stream resumes after a drop with `Last-Event-ID`: nothing is missed, nothing
comes twice."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import live
from conftest import Admin
from forwarder import Forwarder


async def _token(gateway: str) -> str:
    async with httpx.AsyncClient(base_url=gateway) as http:
        answer = await http.post(
            "/api/v1/auth/token", json={"username": "warehouse", "password": "demo"}
        )
        return str(answer.json()["access_token"])


async def _until(check: Any, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def test_the_stream_resumes_after_a_drop_with_nothing_missed(
    gateway: str, admin: Admin
) -> None:
    # given the stream of sales-order events read through a link the test can cut
    link = Forwarder(gateway)
    await link.start()
    states: list[bool] = []
    seen: list[dict[str, Any]] = []

    async def read() -> None:
        stream = live.follow(link.url, await _token(gateway), "erp.sales_order.", None,
                             states.append)  # fmt: skip
        async for event in stream:
            seen.append(event)

    reader = asyncio.create_task(read())
    try:
        await _until(lambda: states == [True])
        product = await admin.product({"A-01-02": 4})
        before = await admin.order([(product, 1)])
        await _until(lambda: any(e["subject"] == before["id"] for e in seen))
        # when the link drops, an order is placed meanwhile, and the link comes back
        await link.stop()
        await _until(lambda: states[-1] is False)
        during = await admin.order([(product, 1)])
        await link.start()
        await _until(lambda: states[-1] is True)
        # then the events of the order placed during the drop arrive, none of them twice
        await _until(lambda: any(
            e["subject"] == during["id"] and e["type"] == "erp.sales_order.confirmed" for e in seen
        ))  # fmt: skip
        sequences = [e["sequence"] for e in seen]
        assert sequences == sorted(set(sequences))
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await link.stop()
