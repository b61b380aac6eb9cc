"""Errors of identity."""

from __future__ import annotations

from core.errors import Invalid


class NotGrantable(Invalid):
    """A scope or role the caller may not hand out (422 `not_grantable`, each one named)."""

    code, title = "not_grantable", "Not grantable"
