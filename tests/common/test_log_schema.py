"""One log schema for every process (`common.logs`): the same keys from core, the gateway, the
relay, the dispatcher and `erp up`'s marks."""

from __future__ import annotations

import json
import logging
import sys

from common.logs import JsonFormatter, line, request_id_var

KEYS = {"time", "level", "logger", "msg", "pid"}


def record(name: str, msg: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, None, None)
    made.__dict__.update(extra)
    return made


def test_every_writer_gives_the_same_keys() -> None:
    # given a record with extra fields, an events-style record with `fields`, and a mark
    access = record("core.access", "request", method="GET", status=200)
    relay = record("events.relay", "batch published", fields={"count": 3})
    mark = json.loads(line("INFO", "erp.supervisor", "run starts", run=1))
    # when they are formatted
    lines = [json.loads(JsonFormatter().format(r)) for r in (access, relay)]
    # then each has the schema's keys, and its own fields beside them
    for entry in [*lines, mark]:
        assert set(entry) >= KEYS, entry
        assert entry["time"].endswith("Z") and len(entry["time"]) == 24
    assert (lines[0]["method"], lines[0]["level"], lines[1]["count"]) == ("GET", "WARNING", 3)
    assert mark["run"] == 1


def test_the_request_id_and_the_traceback_have_their_keys() -> None:
    token = request_id_var.set("rid-1")
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("gateway", "unhandled error", msg_field="kept")
        failed.exc_info = sys.exc_info()
        entry = json.loads(JsonFormatter().format(failed))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "rid-1"
    assert "ValueError: boom" in entry["exc"]


def test_a_field_never_replaces_a_key_of_the_schema() -> None:
    entry = json.loads(JsonFormatter().format(record("x", "real", fields={"msg": "fake"})))
    assert entry["msg"] == "real"
