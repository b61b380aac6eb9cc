"""Users, API keys and the sign-in throttle's counters."""

from piccolo.columns import JSON, BigInt, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.columns import id_column, stamp_column, version_column


class User(Table, tablename="users"):
    id = id_column()
    # Stored in its canonical form (ASCII lower case, `rules.canonical_username`), and unique
    # case-insensitively in the database too (index `users_username_lower`).
    username = Varchar(length=64, unique=True, null=False)
    password_hash = Text(null=False)
    role = Varchar(length=16, null=False)
    customer_id = Varchar(length=36, null=True, default=None, index=True)
    active = Boolean(default=True, null=False)
    # Every access token carries the version it was issued under; bumping it (new password,
    # role or customer, deactivation) ends every token issued before.
    credential_version = Integer(default=1, null=False)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class ApiKey(Table, tablename="api_keys"):
    id = id_column()
    name = Varchar(length=100, null=False)
    prefix = Varchar(length=16, null=False)
    key_hash = Varchar(length=64, unique=True, null=False)
    scopes = JSON(null=False)
    created_by = Varchar(length=36, null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class SignInThrottle(Table, tablename="sign_in_throttle"):
    """Failed sign-ins of one username or one client address (`core.identity.throttle`).

    `id` is `u:` or `a:` and an HMAC of the username or address, so a password typed into
    the username field is never stored. `failures` counts attempts since the last delay,
    `locks` the delays so far (each doubles the next), `locked_until_ms` ends the current
    delay and `seen_ms` is the last attempt or the end of the last delay (epoch milliseconds).
    """

    id = Varchar(length=80, primary_key=True)
    failures = Integer(default=0, null=False)
    locks = Integer(default=0, null=False)
    locked_until_ms = BigInt(default=0, null=False)
    seen_ms = BigInt(default=0, null=False, index=True)
