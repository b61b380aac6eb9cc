"""The contract documents, pinned: an unintended change to the OpenAPI or AsyncAPI fails here.

To accept a change on purpose, refresh the snapshots and commit them with it:

    ERP_UPDATE_SNAPSHOTS=1 ./erp test tests/test_contract.py
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import events

SNAPSHOTS = Path(__file__).parent / "snapshots"
REFRESH = "ERP_UPDATE_SNAPSHOTS=1 ./erp test tests/test_contract.py"


@pytest.fixture(scope="module")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://core/api/v1") as c:
        yield c


def pretty(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check_snapshot(name: str, document: Any) -> None:
    """Compare with `tests/snapshots/<name>`; with ERP_UPDATE_SNAPSHOTS=1, write it instead."""
    path, text = SNAPSHOTS / name, pretty(document)
    if os.environ.get("ERP_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        pytest.fail(f"No snapshot {path}; make it with: {REFRESH}")
    expected = path.read_text()
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(),
            text.splitlines(),
            f"snapshot/{name}",
            f"served/{name}",
            lineterm="",
        )
        pytest.fail(
            f"The {name} document differs from its snapshot: a change of the public contract.\n"
            f"If it is intended, refresh and commit the snapshot: {REFRESH}\n\n" + "\n".join(diff),
            pytrace=False,
        )


async def test_the_openapi_document_matches_its_snapshot(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    check_snapshot("openapi.json", r.json())


async def test_the_asyncapi_document_matches_its_snapshot(client: httpx.AsyncClient) -> None:
    r = await client.get("/asyncapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    check_snapshot("asyncapi.json", r.json())


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, ref
        node = node[part]
    return node


async def test_asyncapi_30_describes_every_event_type(client: httpx.AsyncClient) -> None:
    # given: the document, served without a credential
    doc = (await client.get("/asyncapi.json")).json()
    # then: AsyncAPI 3.0, one channel per event type whose address is the NATS subject
    assert doc["asyncapi"] == "3.0.0" and doc["info"]["title"] and doc["info"]["version"]
    addresses = {c["address"]: c for c in doc["channels"].values()}
    assert set(addresses) == set(events.BY_TYPE)
    for ref in refs(doc):
        resolve(doc, ref)  # every $ref points at something
    for event_type, channel in addresses.items():
        assert "`ERP`" in channel["description"]
        (message_ref,) = channel["messages"].values()
        message = resolve(doc, message_ref["$ref"])
        assert message["name"] == event_type
        payload = resolve(doc, message["payload"]["$ref"])
        # the payload is the CloudEvent envelope whose `data` is the resource of that type
        assert payload["properties"]["type"] == {"enum": [event_type]}
        envelope = {"specversion", "id", "source", "type", "subject", "time", "data"}
        assert envelope <= set(payload["properties"]) | {"sequence", "datacontenttype"}
        assert {"id", "type", "subject", "time", "data"} <= set(payload["required"])
        data = resolve(doc, payload["properties"]["data"]["$ref"])
        assert data["title"] == events.DATA_TYPES[event_type].__name__
    for name, operation in doc["operations"].items():
        assert operation["action"] == "send", name
        channel = resolve(doc, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            assert resolve(doc, message["$ref"]) in channel["messages"].values()
    assert len(doc["operations"]) == len(events.BY_TYPE)


async def test_the_api_and_the_events_share_the_resource_schemas(
    client: httpx.AsyncClient,
) -> None:
    """The API serves the very types events carry: their schemas name the same fields."""
    openapi = (await client.get("/openapi.json")).json()["components"]["schemas"]
    asyncapi = (await client.get("/asyncapi.json")).json()["components"]["schemas"]
    for name in ("Product", "Customer", "SalesOrder", "PurchaseOrder", "Invoice"):
        assert set(openapi[name]["properties"]) == set(asyncapi[name]["properties"]), name
        assert sorted(openapi[name]["required"]) == sorted(asyncapi[name]["required"]), name
