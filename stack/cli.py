"""The `erp` command line: up, relay, webhooks, migrate, seed, check, create-admin, terminal,
test, bench."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

console = Console()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="erp",
        description="Run the headless ERP: the API, the gateway, events and demo data.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = commands.add_parser("up", help="start the whole stack in the foreground")
    up.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    commands.add_parser("relay", help="publish the outbox to NATS JetStream (in the foreground)")
    commands.add_parser("webhooks", help="deliver events to webhook subscribers (foreground)")
    commands.add_parser("migrate", help="apply pending database migrations")
    seed = commands.add_parser("seed", help="load the demo data unless the database has products")
    seed.add_argument("--large", action="store_true", help="a big dataset for benchmarks instead")
    seed.add_argument("--products", type=int, default=100_000, help="with --large")
    seed.add_argument("--moves", type=int, default=1_000_000, help="with --large")
    seed.add_argument("--orders", type=int, default=200_000, help="with --large: sales orders")
    seed.add_argument(
        "--events", type=int, default=1_000_000, help="with --large: the newest events kept"
    )
    commands.add_parser("check", help="verify the stock invariants over the whole database")
    admin = commands.add_parser("create-admin", help="create an admin user")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password", help="prompted for when omitted")
    terminal = commands.add_parser("terminal", help="open the warehouse terminal on the stack")
    terminal.add_argument("--gateway", help="a gateway URL (default: the one erp up printed)")
    commands.add_parser("test", help="run pytest on SQLite (and PostgreSQL if TEST_DATABASE_URL)")
    bench = commands.add_parser(
        "bench", help="measure the stack on PostgreSQL and SQLite (docs/performance.md)"
    )
    bench.add_argument("--quick", action="store_true", help="shorter phases: about two minutes")
    bench.add_argument("--out", type=Path, help="the JSON file of figures (default: a temp file)")
    bench.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server's URL for the scratch database (default: %(default)s)",
    )
    return parser


async def _migrate() -> None:
    from core import db

    await db.connect()
    try:
        await db.migrate()
    finally:
        await db.disconnect()


async def _create_admin(username: str, password: str) -> bool:
    from core import db
    from core.identity.bootstrap import ensure_user

    await db.connect()
    try:
        await db.migrate()
        return await ensure_user(username, password, "admin")
    finally:
        await db.disconnect()


async def _check() -> int:
    from core import audit, db

    await db.connect()
    try:
        async with db.unbounded():  # a whole-database audit may take longer than a request
            report = await audit.check()
    finally:
        await db.disconnect()
    counted = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    if report.ok:
        console.print(f"[green]All stock invariants hold[/] ({counted}).")
        return 0
    console.print(f"[red]{len(report.failures)} invariant(s) broken[/] ({counted}):")
    for failure in report.failures:
        console.print(f"  - {escape(failure)}")
    return 1


def _ask_password() -> str:
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Repeat it: "):
        raise SystemExit("The passwords differ.")
    return password


def _seed() -> int:
    from stack import demo
    from stack.env import resolve

    env = resolve()
    try:
        result = asyncio.run(demo.seed(env.home, console))
    except demo.SeedError as error:
        console.print(f"[red]Demo data failed: {escape(str(error))}[/]")
        return 1
    demo.report(result, console)
    return 0


def _seed_large(products: int, moves: int, orders: int, events: int) -> int:
    import time

    from stack.large import seed_large

    started = time.monotonic()
    result = asyncio.run(seed_large(products, moves, console, orders=orders, events=events))
    console.print(
        f"Loaded {result.products:,} products, {result.customers:,} customers,"
        f" {result.orders:,} sales orders, {result.invoices:,} invoices,"
        f" {result.purchase_orders:,} purchase orders, {result.moves:,} stock moves,"
        f" {result.levels:,} stock levels over {result.bins} bins and {result.events:,} events"
        f" in {time.monotonic() - started:.0f} s."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `erp` script."""
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["test"]:
        from stack import testrun

        # Everything after `test` goes to pytest untouched, options included.
        sys.exit(testrun.run(args_list[1:], console))
    args = _parser().parse_args(args_list)
    if args.command == "up":
        from stack import up

        code = up.run(load_demo=not args.no_demo, console=console)
        # Every child is stopped by now. A database thread orphaned by an interrupted seed would
        # keep a normal interpreter exit waiting forever, so leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if args.command == "bench":
        from stack.bench.run import run as bench

        return bench(args.quick, args.out, args.postgres, console)
    if args.command == "terminal":
        from stack import terminal as warehouse_terminal

        return warehouse_terminal.run(args.gateway, console)
    from stack.env import redact, resolve

    env = resolve()
    if args.command == "relay":
        from events.relay import main as relay

        return relay()
    if args.command == "webhooks":
        from events.webhooks import main as webhooks

        return webhooks()
    if args.command == "migrate":
        asyncio.run(_migrate())
        console.print(f"Migrations applied to {redact(env.database_url)}.")
    elif args.command == "seed" and args.large:
        sys.exit(_seed_large(args.products, args.moves, args.orders, args.events))
    elif args.command == "seed":
        sys.exit(_seed())
    elif args.command == "check":
        sys.exit(asyncio.run(_check()))
    elif args.command == "create-admin":
        password = args.password or _ask_password()
        created = asyncio.run(_create_admin(args.username, password))
        state = "created" if created else "already exists (unchanged)"
        console.print(f"Admin user {args.username!r} {state}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
