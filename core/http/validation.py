"""Collects every invalid field of a JSON body, where msgspec stops at the first."""

from __future__ import annotations

import array
import functools
import itertools
import re
import types
import typing
from decimal import Decimal
from typing import Any, get_args, get_origin

import msgspec
from litestar import Request

from core.errors import FieldError, Invalid, Malformed, NotFound
from core.http.pagination import decode_cursor

DECIMAL_AS_NUMBER = 'Expected a decimal string, like "19.90"'
# The one form of a decimal the API takes and gives: digits, and a point with digits after it
# (the document says so too, core/http/openapi.py). Python's Decimal would also read "1e3",
# " 1", "NaN" or "1_000"; a client reading the document cannot know that, so none is taken.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL = re.compile(DECIMAL_PATTERN)
# The deepest body the API takes is 3 levels (an order, its lines, a line); 32 leaves room for
# any that comes, and keeps far below where a recursive walk (msgspec's decoder, ours, and
# Litestar's) runs out of stack: about 1,000 levels, a 2 KB body.
MAX_JSON_DEPTH = 32
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1, +1, -1, -1 as signed


def _unwrap(tp: Any) -> Any:
    """`Annotated[T, …]`, `T | None` and `T | UnsetType` → T, when T is the only real type."""
    if get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (typing.Union, types.UnionType):
        real = [a for a in get_args(tp) if a not in (type(None), msgspec.UnsetType)]
        if len(real) == 1:
            return _unwrap(real[0])
    return tp


def _struct_type(tp: Any) -> type[msgspec.Struct] | None:
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, msgspec.Struct) else None


def _list_item_type(tp: Any) -> Any | None:
    tp = _unwrap(tp)
    return get_args(tp)[0] if get_origin(tp) in (list, tuple) and get_args(tp) else None


def _message(exc: msgspec.ValidationError) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.x`": keep the first half.
    return str(exc).split(" - at `", 1)[0]


def collect(value: Any, tp: Any, path: str = "") -> list[FieldError]:
    """Every field of `value` that does not fit type `tp`, with its path."""
    if (struct := _struct_type(tp)) is not None and isinstance(value, dict):
        return _collect_struct(value, struct, path)
    if (item := _list_item_type(tp)) is not None and isinstance(value, list):
        errors = []
        for i, element in enumerate(value):
            errors += collect(element, item, f"{path}[{i}]")
        if not errors:
            errors = _convert(value, tp, path)
        return errors
    return _convert(value, tp, path)


def _convert(value: Any, tp: Any, path: str) -> list[FieldError]:
    # msgspec takes a JSON number for a `Decimal`; the contract wants money as a string.
    if _unwrap(tp) is Decimal and not (isinstance(value, str) and _DECIMAL.match(value)):
        return [FieldError(path or "body", DECIMAL_AS_NUMBER)]
    try:
        msgspec.convert(value, tp, strict=True)
    except msgspec.ValidationError as exc:
        return [FieldError(path or "body", _message(exc))]
    return []


@functools.cache
def _shape(
    struct: type[msgspec.Struct],
) -> tuple[dict[str, Any], dict[str, msgspec.structs.FieldInfo]]:
    """A struct's resolved type hints and its fields by their JSON name, worked out once per
    struct type (request bodies are a fixed set of classes): resolving the hints of every
    body on every request was some 5 % of core's CPU per order (py-spy, issue 13)."""
    hints = typing.get_type_hints(struct, include_extras=True)
    return hints, {f.encode_name: f for f in msgspec.structs.fields(struct)}


def _collect_struct(
    value: dict[str, Any], struct: type[msgspec.Struct], path: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    hints, fields = _shape(struct)
    prefix = f"{path}." if path else ""
    if struct.__struct_config__.forbid_unknown_fields:
        errors += [FieldError(prefix + k, "Unknown field") for k in value if k not in fields]
    for name, info in fields.items():
        if name not in value:
            if info.required:
                errors.append(FieldError(prefix + name, "Field required"))
            continue
        tp = hints.get(info.name, info.type)
        if value[name] is None and _accepts_none(tp):
            continue
        errors += collect(value[name], tp, prefix + name)
    return errors


def _accepts_none(tp: Any) -> bool:
    if get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp is None or (
        get_origin(tp) in (typing.Union, types.UnionType) and type(None) in get_args(tp)
    )


NUL = "Must not contain the NUL character (\\u0000)"


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, without decoding it (brackets in
    strings do not count); 0 when it has too few brackets to nest deeper than the limit.
    Linear time, in C but for one `max` over the brackets."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep: most bodies stop here
    # Without escaped backslashes, then escaped quotes, every quote left opens or closes a
    # string, so every other piece between quotes is outside the strings.
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[::2])
    brackets = outside.translate(_BRACKET_STEPS, _NOT_BRACKETS)
    return max(itertools.accumulate(array.array("b", brackets)), default=0)


def check_depth(body: bytes) -> None:
    """400 when a JSON body nests deeper than `MAX_JSON_DEPTH`, before anything decodes it."""
    if json_depth(body) > MAX_JSON_DEPTH:
        raise Malformed(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")


def _nul_errors(value: Any, path: str) -> list[FieldError]:
    """Every string (or object key) in a decoded JSON value that holds a NUL character."""
    if isinstance(value, str):
        return [FieldError(path or "body", NUL)] if "\x00" in value else []
    errors: list[FieldError] = []
    if isinstance(value, dict):
        prefix = f"{path}." if path else ""
        for key, item in value.items():
            if "\x00" in key:
                errors.append(FieldError(prefix + key, NUL))
            else:
                errors += _nul_errors(item, prefix + key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            errors += _nul_errors(item, f"{path}[{i}]")
    return errors


async def check_request(request: Request[Any, Any, Any]) -> None:
    """`before_request`: refuse what the routes' types let through but the API must not take.

    - A NUL character in a query parameter or any string of the body (422), or in the path
      (404): PostgreSQL cannot store or compare it (a 500 there), and no text of the ERP has
      a use for it.
    - A value of another JSON type than the document says (`"quantity": "2"`, `"confirm":
      "true"`, `"sellable": 0`): Litestar converts bodies leniently, the contract says strictly.
    - A decimal sent as a JSON number, or as a string of another form than `DECIMAL_PATTERN`:
      msgspec takes both, while the document (and the contract) say decimal strings.
    - A body nested deeper than `MAX_JSON_DEPTH` (400, before anything decodes it).
    - A `cursor` the API did not issue (400), on every list, whatever path its service takes.
    Every invalid field of the body is named then; a body that is not JSON is left to
    Litestar's own decoding (400), which runs after this.
    """
    if any(isinstance(v, str) and "\x00" in v for v in request.path_params.values()):
        # Ids are opaque: one with a NUL is simply one that does not exist.
        raise NotFound("Nothing at this path: no id holds a NUL character.")
    errors = _query_errors(request)
    param = request.route_handler.parsed_fn_signature.parameters.get("data")
    body = await request.body() if param is not None else b""
    check_depth(body)
    if param is not None and body:
        errors += _body_errors(body, param.annotation)
    if errors:
        raise Invalid("Some fields are invalid.", errors=errors)


def _query_errors(request: Request[Any, Any, Any]) -> list[FieldError]:
    """Query parameters holding a NUL; else 400 when the `cursor` is not one we issued."""
    errors = [
        FieldError(name, NUL)
        for name, value in request.query_params.multi_items()
        if "\x00" in name or "\x00" in value
    ]
    if not errors:
        decode_cursor(request.query_params.get("cursor"))
    return errors


def _body_errors(body: bytes, annotation: Any) -> list[FieldError]:
    """NULs anywhere in a JSON body, and every field that does not fit its type strictly."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return []  # Litestar answers 400 malformed
    nul = _nul_errors(raw, "")
    typed = collect(raw, annotation)
    nul_fields = {e.field for e in nul}
    return nul + [e for e in typed if e.field not in nul_fields]
