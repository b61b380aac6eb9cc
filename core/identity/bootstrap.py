"""Creating users outside the API: the first admin, and the demo logins."""

from __future__ import annotations

from core.errors import Duplicate
from core.identity import schemas, service
from core.identity.permissions import Role
from core.identity.principal import SYSTEM
from core.identity.tables import User


async def ensure_user(
    username: str, password: str, role: str, customer_id: str | None = None
) -> bool:
    """Create the user unless one with this username (in any case) exists; True when created."""
    data = schemas.UserCreate(username, password, Role(role), customer_id)  # folds the name
    if await User.exists().where(User.username == data.username):
        return False
    try:
        await service.create_user(data, by=SYSTEM)
    except Duplicate:  # another process created it in between
        return False
    return True


async def ensure_admin(password: str, username: str = "admin") -> bool:
    """Create the first admin when there is no admin yet (`ERP_ADMIN_PASSWORD`)."""
    if await User.exists().where(User.role == Role.admin.value):
        return False
    return await ensure_user(username, password, Role.admin.value)
