"""Request ids the stack makes are uuid4 hex, as `common.request_ids` says; a client's
well-formed one is kept, a malformed one replaced."""

from __future__ import annotations

import uuid

from common.request_ids import new_request_id, request_id


def test_a_made_id_is_a_uuid4_in_hex() -> None:
    made = {new_request_id() for _ in range(1000)}
    assert len(made) == 1000
    for rid in made:
        parsed = uuid.UUID(hex=rid)
        assert (parsed.hex, parsed.version, parsed.variant) == (rid, 4, uuid.RFC_4122)


def test_a_clients_id_is_kept_when_well_formed_else_replaced() -> None:
    assert request_id([(b"x-request-id", b"abc.DEF_1-2")]) == "abc.DEF_1-2"
    replaced = request_id([(b"x-request-id", b"bad id!")])
    assert uuid.UUID(hex=replaced).version == 4
    assert uuid.UUID(hex=request_id([])).version == 4
