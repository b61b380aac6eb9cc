"""The offline queue: every write the terminal makes (a pick, a receipt, a transfer, a count, a
shipment) is first written here, on disk in the user's data folder, with the `Idempotency-Key`
made when it was scanned; then it is sent. When the gateway cannot be reached the action stays
`waiting` and is sent again later, in order, with the same key, so the server applies it
exactly once even if the app was closed and started again in between.

An action the server refuses (4xx) after it had been queued offline is a `conflict`: it stays in
the file, with the problem, until the user decides (send it again with a new key, or drop it).
An action refused on its first, immediate send is simply refused on the screen and dropped.

The file is one JSON document per gateway and user, replaced atomically on every change.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs

APP_NAME = "erp-warehouse"
State = Literal["new", "waiting", "conflict"]


def data_dir() -> Path:
    """The user's data folder for the terminal (XDG_DATA_HOME on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(slots=True)
class Action:
    """One write to send: `POST path` with `body` under `key`; `label` says it in words.

    `state`: `new` (not sent yet), `waiting` (a send found the gateway unreachable), `conflict`
    (refused on replay; `problem` holds the problem+json). `context` is for the screen that
    made it (e.g. the order id), never sent.
    """

    path: str
    body: dict[str, Any] | None
    label: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: float = field(default_factory=time.time)
    state: State = "new"
    problem: dict[str, Any] | None = None
    context: dict[str, Any] = field(default_factory=dict)


class Outbox:
    """The queue of one user at one gateway, persisted in `folder`."""

    def __init__(self, gateway: str, username: str, folder: Path | None = None) -> None:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", f"{gateway}_{username}").strip("_")
        self.folder = folder or data_dir()
        self.path = self.folder / f"outbox-{slug}.json"
        self.actions: list[Action] = self._load()

    def _load(self) -> list[Action]:
        if not self.path.is_file():
            return []
        rows = json.loads(self.path.read_text(encoding="utf-8"))
        return [Action(**row) for row in rows]

    def _save(self) -> None:
        """Write the whole queue to a temporary file, flush it to disk, then rename it over."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".outbox-", dir=self.folder)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump([asdict(a) for a in self.actions], out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def add(self, action: Action) -> Action:
        """Append an action (persisted before anything is sent)."""
        self.actions.append(action)
        self._save()
        return action

    def pending(self) -> list[Action]:
        """Actions still to send, oldest first (conflicts wait for a decision)."""
        return [a for a in self.actions if a.state in ("new", "waiting")]

    def conflicts(self) -> list[Action]:
        """Actions refused on replay, kept for a decision."""
        return [a for a in self.actions if a.state == "conflict"]

    @property
    def waiting(self) -> int:
        """How many actions wait to be sent (shown on every screen)."""
        return len(self.pending())

    def mark_waiting(self, action: Action) -> None:
        """The gateway could not be reached: keep the action, with its key, for a replay."""
        action.state = "waiting"
        self._save()

    def mark_conflict(self, action: Action, problem: dict[str, Any]) -> None:
        """Refused on replay: keep it with the problem until the user decides."""
        action.state, action.problem = "conflict", problem
        self._save()

    def remove(self, action: Action) -> None:
        """Applied (or dropped by the user): forget it."""
        self.actions = [a for a in self.actions if a.id != action.id]
        self._save()

    def retry(self, action: Action) -> None:
        """The user chose to send a conflicting action again: a new key (the old one would
        replay the refusal), back in the queue at its place."""
        action.state, action.problem, action.key = "waiting", None, str(uuid.uuid4())
        self._save()

    def find(self, action_id: str) -> Action | None:
        """The action with this id, if still queued."""
        return next((a for a in self.actions if a.id == action_id), None)
