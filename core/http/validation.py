"""Collects every invalid field of a JSON body, where msgspec stops at the first."""

from __future__ import annotations

import types
import typing
from typing import Any, get_args, get_origin

import msgspec

from core.errors import FieldError


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
    try:
        msgspec.convert(value, tp, strict=True)
    except msgspec.ValidationError as exc:
        return [FieldError(path or "body", _message(exc))]
    return []


def _collect_struct(
    value: dict[str, Any], struct: type[msgspec.Struct], path: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    hints = typing.get_type_hints(struct, include_extras=True)
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
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
