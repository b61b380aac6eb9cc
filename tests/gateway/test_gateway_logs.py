"""Credentials in URLs never reach a log line: the redaction, on the records uvicorn writes."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter

from gateway.logs import JsonFormatter, RedactCredentials, redact

SECRET = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2ln"


@pytest.mark.parametrize(
    "text",
    [
        f"/api/v1/events/stream?access_token={SECRET}",
        f"/api/v1/events/stream?types=erp.product.*&access_token={SECRET}&after=3",
        f"/api/v1/x?access%5Ftoken={SECRET}",
        f"/api/v1/x?%61ccess_token={SECRET}",
        f"/api/v1/x?ACCESS_TOKEN={SECRET}",
        f"GET /api/v1/x?access_token={SECRET} HTTP/1.1",
        f"{{'query_string': b'access_token={SECRET}'}}",
    ],
)
def test_every_spelling_of_the_query_credential_is_redacted(text: str) -> None:
    hidden = redact(text)

    assert SECRET not in hidden
    assert "REDACTED" in hidden


def test_other_parameters_are_left_alone() -> None:
    text = "/api/v1/x?types=a&after=3&my_access_token_hint=4"

    assert redact(text) == text


def uvicorn_access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it (`httptools_impl` / `h11_impl`)."""
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1,
        '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip


def test_uvicorns_access_line_is_redacted_and_still_formats() -> None:
    record = uvicorn_access_record(f"/api/v1/events/stream?access_token={SECRET}&types=x")

    RedactCredentials().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)

    assert SECRET not in line
    assert "GET /api/v1/events/stream?access_token=REDACTED&types=x HTTP/1.1" in line
    assert "200" in line.rsplit("HTTP/1.1", 1)[1]


def test_extra_fields_of_a_json_line_are_redacted() -> None:
    record = logging.LogRecord("gateway", logging.INFO, __file__, 1, "request", None, None)
    record.url = f"http://core/api/v1/x?access_token={SECRET}"

    RedactCredentials().filter(record)

    assert SECRET not in JsonFormatter().format(record)
