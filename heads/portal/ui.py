"""What every page shares: the signed-in session, problems shown readably, cached lists with
keyset paging and CSV export, and the live refresh of fragments.

Session state keys: `auth` (token, username, role, scopes, expires_at), `notice` (a message
for the sign-in page), `last_event_id` (where a new feed resumes), `pager:*` (cursor stacks),
`writes` (this session's writes, part of cache keys); signing out clears them all.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import streamlit as st
from client import ApiProblem, Client, gateway_url
from live import Feed

CACHE_TTL = 20  # seconds a cached list page is reused (events invalidate it sooner)
REFRESH = 3  # seconds between live refreshes of fragments
F = TypeVar("F", bound=Callable[..., Any])


# --- the session -------------------------------------------------------------------------


def auth() -> dict[str, Any] | None:
    """The signed-in principal, or None."""
    return st.session_state.get("auth")


def sign_in(username: str, password: str) -> None:
    """Exchange the password for a token and remember who signed in (ApiProblem if refused)."""
    anonymous = Client(gateway_url())
    try:
        token = anonymous.sign_in(username, password)
    finally:
        anonymous.close()
    me = api(token["access_token"]).get("/me")
    st.session_state["auth"] = {
        "token": token["access_token"],
        "username": me["username"],
        "role": me["role"],
        "scopes": set(me["scopes"]),
        "expires_at": time.time() + int(token["expires_in"]),
    }
    st.session_state.pop("notice", None)


def sign_out(notice: str | None = None) -> None:
    """Forget the token, stop the live feed, and leave a message for the sign-in page."""
    current = st.session_state.pop("auth", None)
    if current:  # removing the cached entries stops the feed and closes the client
        # Streamlit keys an entry by the arguments as passed: the same two as `live_feed`.
        feed.clear(current["token"], st.session_state.get("feed_generation", 0))
        api.clear(current["token"])
    for key in list(st.session_state):  # nothing of this user stays for the next one
        del st.session_state[key]
    if notice:
        st.session_state["notice"] = notice


def may(scope: str) -> bool:
    """Whether the signed-in principal holds `scope` (e.g. `orders:write`)."""
    current = auth()
    return bool(current) and scope in current["scopes"]


def has_page(file: str) -> bool:
    """Whether the signed-in role's navigation has the page `file` (set by app.py)."""
    return file in st.session_state.get("pages", ())


def client() -> Client:
    """The signed-in session's client (ApiProblem 401 once the token has expired)."""
    current = auth()
    if not current or time.time() >= current["expires_at"]:
        raise ApiProblem(401, "Your session has expired", "Please sign in again.")
    return api(current["token"])


def expired(message: str = "Your session has expired. Please sign in again.") -> None:
    """Send the user back to sign-in with `message` (never returns)."""
    sign_out(message)
    st.rerun(scope="app")


@st.cache_resource(scope="session", show_spinner=False, on_release=lambda c: c.close())
def api(token: str) -> Client:
    """One HTTP client (connection pool) per session and token."""
    return Client(gateway_url(), token)


@st.cache_resource(scope="session", show_spinner=False, on_release=lambda f: f.stop())
def feed(token: str, generation: int = 0) -> Feed:
    """The session's live event feed, started once and stopped when the session ends.

    `generation` tells feeds of one token apart: a feed found stopped (its session signed out
    and in again within the token's second, or something stopped it) is replaced, not reused.
    """
    return Feed(gateway_url(), token, last_event_id=st.session_state.get("last_event_id")).start()


def live_feed() -> Feed | None:
    """The signed-in session's feed (None before sign-in); a refused stream ends the session."""
    current = auth()
    if not current:
        return None
    generation = st.session_state.get("feed_generation", 0)
    stream = feed(current["token"], generation)
    if stream.state == "stopped":
        st.session_state["feed_generation"] = generation + 1
        stream = feed(current["token"], generation + 1)
    if stream.refused is not None and stream.refused.status == 401:
        expired()
    st.session_state["last_event_id"] = stream.last_event_id
    return stream


def version(*prefixes: str) -> int:
    """A number that changes when an event of these type prefixes arrived or this session
    wrote something; part of the cache keys of lists, so either reads them anew."""
    stream = live_feed()
    return (stream.version(*prefixes) if stream else 0) + st.session_state.get("writes", 0)


def wrote() -> None:
    """Note a write of this session (lists are read anew, without waiting for its event)."""
    st.session_state["writes"] = st.session_state.get("writes", 0) + 1


# --- problems ----------------------------------------------------------------------------


def show_problem(problem: ApiProblem, *, signed_in: bool = True) -> None:
    """Show a refusal as short lines; when signed in, a 401 sends the user back to sign-in."""
    if problem.status == 401 and signed_in:
        expired()
    lines = problem.lines()
    body = "  \n".join(_plain(line) for line in lines[1:])
    st.error(f"**{_plain(lines[0])}**" + (f"  \n{body}" if body else ""), icon="⚠️")


@contextmanager
def attempt() -> Iterator[None]:
    """Run an API call; a refusal is shown where it happened instead of a traceback."""
    try:
        yield
    except ApiProblem as problem:
        show_problem(problem)


def live_fragment(func: F) -> F:
    """`st.fragment(run_every=REFRESH)` whose refusals are shown, not raised."""

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        with attempt():
            return func(*args, **kwargs)
        return None

    return st.fragment(run_every=REFRESH)(guarded)  # type: ignore[return-value]


def _plain(text: str) -> str:
    """Text shown as is in Markdown (server text must not become formatting)."""
    for char in "\\`*_[]<>#|$~":
        text = text.replace(char, "\\" + char)
    return text


# --- lists -------------------------------------------------------------------------------


def _user_key() -> str:
    """Whose cached lists these are: the gateway, the user, and this sign-in (so a token the
    gateway has not accepted is never answered from the cache)."""
    current = auth() or {}
    sign_in = hashlib.sha256(str(current.get("token")).encode()).hexdigest()[:16]
    return f"{gateway_url()}|{current.get('username')}|{current.get('role')}|{sign_in}"


@st.cache_data(ttl=CACHE_TTL, show_spinner=False, max_entries=1000)
def _cached_page(
    user: str,
    path: str,
    query: tuple[tuple[str, Any], ...],
    cursor: str | None,
    seen: int,
    _client: Client,
) -> tuple[list[Any], str | None]:
    """One page of a list, cached per user, query, cursor and events seen."""
    return _client.page(path, dict(query), cursor)


def page(
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    kinds: Sequence[str] = (),
    cursor: str | None = None,
) -> tuple[list[Any], str | None]:
    """A cached page of `path`; an event of one of the `kinds` prefixes refreshes it."""
    query = tuple(sorted((k, v) for k, v in (params or {}).items() if v not in (None, "")))
    return _cached_page(_user_key(), path, query, cursor, version(*kinds), client())


@st.cache_data(ttl=60, show_spinner=False, max_entries=100)
def _cached_all(user: str, path: str, cap: int, seen: int, _client: Client) -> list[Any]:
    return list(_client.walk(path, limit=cap))


def every(path: str, *, kinds: Sequence[str] = (), cap: int = 2000) -> list[Any]:
    """Every item of a small list (customers, suppliers, bins), cached; at most `cap`."""
    return _cached_all(_user_key(), path, cap, version(*kinds), client())


def pager(
    path: str, params: Mapping[str, Any] | None = None, *, key: str, kinds: Sequence[str] = ()
) -> list[Any]:
    """One page of a list with Previous / Next buttons; the cursors live in session state."""
    query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
    stack = st.session_state.setdefault(f"pager:{key}:{sorted(query.items())}", [None])
    items, next_cursor = page(path, query, kinds=kinds, cursor=stack[-1])
    left, middle, right = st.columns([1, 1, 4])
    left.button("← Previous", key=f"{key}-prev", disabled=len(stack) == 1, on_click=stack.pop)
    middle.button(
        "Next →",
        key=f"{key}-next",
        disabled=not next_cursor,
        on_click=stack.append,
        args=(next_cursor,),
    )
    right.caption(f"Page {len(stack)} · {len(items)} shown")
    return items


def table(
    rows: Sequence[Mapping[str, Any]], empty: str = "Nothing to show.", **options: Any
) -> None:
    """Rows as a table filling the width, or a short line when there are none."""
    if not rows:
        st.caption(empty)
        return
    options.setdefault("hide_index", True)
    options.setdefault("width", "stretch")
    st.dataframe(rows, **options)


def export_button(
    path: str,
    params: Mapping[str, Any],
    rows: Callable[[Any], Mapping[str, Any]],
    *,
    name: str,
    key: str,
) -> None:
    """A button that downloads the whole list (every page, current filters) as CSV."""
    api_client = client()
    query = {k: v for k, v in params.items() if v not in (None, "")}

    def build() -> str:
        return csv_text(rows(item) for item in api_client.walk(path, query))

    st.download_button(
        "Export CSV", build, file_name=f"{name}.csv", mime="text/csv", key=key, icon="⬇️"
    )


def csv_text(rows: Iterator[Mapping[str, Any]] | Sequence[Mapping[str, Any]]) -> str:
    """Rows (dicts with the same keys) as CSV text with a header line."""
    out = io.StringIO()
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow(row)
    return out.getvalue()


# --- formatting --------------------------------------------------------------------------


def money(amount: str | None, currency: str = "") -> str:
    """`"1234.50", "EUR"` → `"1,234.50 EUR"`: the server's decimal string with thousands
    separators, exact and with the currency's own number of decimals as the server sent it."""
    if amount in (None, ""):
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return f"{amount} {currency}".strip()
    return f"{value:,} {currency}".strip()


def when(stamp: str | None) -> str:
    """An RFC 3339 time as `YYYY-MM-DD HH:MM` (UTC)."""
    return stamp[:16].replace("T", " ") if stamp else "—"


def names(items: Sequence[Mapping[str, Any]], label: str = "name") -> dict[str, str]:
    """`{id: label}` for a list of resources."""
    return {str(i["id"]): str(i[label]) for i in items}
