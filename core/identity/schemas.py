"""API types of identity: users, tokens, API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from core.identity.permissions import Role
from core.identity.rules import canonical_username

Username = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@+\-]+$")]
Password = Annotated[str, Meta(min_length=4, max_length=256)]
Id = Annotated[str, Meta(min_length=1, max_length=36)]


class TokenRequest(Struct, forbid_unknown_fields=True):
    """A sign-in; `username` is folded to its canonical lower case as it is decoded, so every
    reader of it (the look-up, a throttle keyed by username) sees one spelling per account."""

    username: Annotated[str, Meta(max_length=64)]
    password: Annotated[str, Meta(max_length=256)]

    def __post_init__(self) -> None:
        self.username = canonical_username(self.username)


class Token(Struct):
    access_token: str
    expires_in: int
    role: Role
    token_type: str = "bearer"


class Me(Struct):
    """The caller, and which events it may see (`core/events/visibility.py`)."""

    username: str
    role: Role
    customer_id: str | None
    scopes: list[str]
    event_types: Annotated[
        list[str],
        Meta(description="Prefixes of the event types it may read (`erp.` is every event)."),
    ]
    own_event_types: Annotated[
        list[str],
        Meta(description="Those of `event_types` it sees only about its own `customer_id`."),
    ]


class User(Struct):
    id: str
    username: str
    role: Role
    customer_id: str | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class UserCreate(Struct, forbid_unknown_fields=True):
    """A new user; `username` is case-insensitive and stored in lower case (`Bob` is `bob`)."""

    username: Username
    password: Password
    role: Role
    customer_id: Id | None = None

    def __post_init__(self) -> None:
        self.username = canonical_username(self.username)


class UserUpdate(Struct, forbid_unknown_fields=True):
    password: Password | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    customer_id: Id | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


Scope = Annotated[str, Meta(pattern=r"^[a-z_]+:(read|write)$")]


class ApiKeyCreate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=40)]


class ApiKey(Struct):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    revoked_at: datetime | None
    version: int
    created_at: datetime


class ApiKeyCreated(Struct):
    """A new key: `key` is shown this once and never again."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    key: str
    version: int
    created_at: datetime


def to_user(row: dict[str, Any]) -> User:
    return msgspec.convert(row, User, from_attributes=False, strict=False)
