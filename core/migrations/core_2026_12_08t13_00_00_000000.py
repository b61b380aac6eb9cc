"""`NOTIFY erp_users` whenever the users table changes, so core can remember tokens' principals.

Every core process keeps the principal of each access token it has checked until the token
expires or a user changes (`core.identity.principals`): these triggers tell every process,
at commit, that a user was added, changed, deleted, or that the table was truncated. The
payload is empty: a process forgets every remembered principal, whatever changed (changes to
users are rare; reads with a token are most requests).

PostgreSQL only: SQLite has no notifications between processes, and there core reads the
user's row on every request as before. Safe to run again (`CREATE OR REPLACE`, `DROP ... IF
EXISTS`).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-08T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "NOTIFY erp_users on every change to users (remembered principals)"

POSTGRES = (
    """CREATE OR REPLACE FUNCTION users_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('erp_users', '');
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS users_notify ON users",
    "CREATE TRIGGER users_notify AFTER INSERT OR UPDATE OR DELETE ON users"
    " FOR EACH STATEMENT EXECUTE FUNCTION users_notify()",
    "DROP TRIGGER IF EXISTS users_notify_truncate ON users",
    "CREATE TRIGGER users_notify_truncate AFTER TRUNCATE ON users"
    " FOR EACH STATEMENT EXECUTE FUNCTION users_notify()",
)


async def build() -> None:
    """On PostgreSQL: the function and the two statement-level triggers on users."""
    engine = engine_finder()
    if not isinstance(engine, PostgresEngine):
        return
    for sql in POSTGRES:
        await engine.run_ddl(sql)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(build)
    return manager
