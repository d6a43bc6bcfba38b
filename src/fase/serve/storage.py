"""Accepted incidents in SQLite: idempotent by id, durable before the service answers.

One file (default ``RUN_DIR/serve/incidents.sqlite``) in WAL mode with
``synchronous=FULL``: :meth:`IncidentStore.insert` returns only after its transaction
is committed and the WAL is fsynced, so an incident the service acknowledged survives
``kill -9`` of the service (and a power loss). ``INSERT … ON CONFLICT(id) DO NOTHING``
makes re-posting harmless; the first version of an id is kept.

Each row also holds the incident's area (node index) and bin (on the service's
extended time axis, :mod:`fase.serve.timeline`), so a restart rebuilds the live count
record with one ``GROUP BY``. The ``service_meta`` table holds the run's fingerprint
(node ids, first bin, bin width, zone); a database is refused by another run.

Schema::

    incidents(id TEXT PRIMARY KEY, occurred_at_ns INTEGER  -- UTC ns since the epoch
              lat REAL, lon REAL, crime_type TEXT NULL, area INTEGER, bin INTEGER,
              received_at TEXT)                               -- UTC ISO 8601
    service_meta(key TEXT PRIMARY KEY, value TEXT)
    retractions(id TEXT, occurred_at_ns INTEGER, lat REAL, lon REAL, crime_type TEXT NULL,
                area INTEGER, bin INTEGER, received_at TEXT, retracted_at TEXT, reason TEXT)

A retraction (:meth:`IncidentStore.retract`) moves an incident's row from ``incidents``
to ``retractions`` in one transaction, with the time and the reason: the record forgets
it, the log keeps it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from fase.errors import FaseInputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    occurred_at_ns INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    crime_type TEXT,
    area INTEGER NOT NULL,
    bin INTEGER NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS service_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS retractions (
    id TEXT NOT NULL,
    occurred_at_ns INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    crime_type TEXT,
    area INTEGER NOT NULL,
    bin INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    retracted_at TEXT NOT NULL,
    reason TEXT NOT NULL
) STRICT;
"""
COLUMNS = "id, occurred_at_ns, lat, lon, crime_type, area, bin, received_at"
INSERT = (
    "INSERT INTO incidents (id, occurred_at_ns, lat, lon, crime_type, area, bin, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING"
)


@dataclass(frozen=True)
class StoredIncident:
    """An accepted incident: its instant (UTC ns), place, and where it counts (area, bin)."""

    id: str
    occurred_at_ns: int
    lat: float
    lon: float
    crime_type: str | None
    area: int
    bin: int


class IncidentStore:
    """The SQLite file of accepted incidents (module docstring); safe across threads.

    Args:
        path: the database file (created with its folder if absent).
        fingerprint: JSON-serialisable identity of the run; must match a stored one.
    """

    def __init__(self, path: str | Path, fingerprint: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._owner = self._claim()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._owner.close()
            raise FaseInputError(self.path, f"is not a usable SQLite database ({exc})") from exc
        self._check_fingerprint(json.dumps(fingerprint, sort_keys=True))

    def _claim(self) -> IO[bytes]:
        """An exclusive lock on ``<db>.lock`` for this store's lifetime: a second service
        on the same database is refused (its live record would diverge from this one's).
        The operating system drops the lock when the process ends, even on SIGKILL."""
        handle = open(self.path.with_name(self.path.name + ".lock"), "ab")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise FaseInputError(
                self.path,
                "is in use by another `fase serve`",
                "stop that service, or give this one its own database with --db",
            ) from None
        return handle

    def _check_fingerprint(self, expected: str) -> None:
        row = self._db.execute("SELECT value FROM service_meta WHERE key = 'run'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO service_meta VALUES ('run', ?)", (expected,))
        elif row[0] != expected:
            self.close()
            raise FaseInputError(
                self.path,
                "holds incidents of another run (different areas, bins or time zone)",
                "give this run its own database with --db",
            )

    def insert(self, incidents: Sequence[StoredIncident]) -> np.ndarray:
        """Store new incidents in one committed transaction.

        Returns:
            (P,) bool, True where the id was new (stored now), False where it was
            already stored (also earlier in the same batch).
        """
        received = dt.datetime.now(dt.UTC).isoformat()
        fresh = np.zeros(len(incidents), dtype=bool)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for i, incident in enumerate(incidents):
                    cursor = self._db.execute(INSERT, (*astuple(incident), received))
                    fresh[i] = cursor.rowcount == 1
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return fresh

    def retract(self, incident_id: str, reason: str) -> StoredIncident | None:
        """Move incident ``incident_id`` to the retractions log (one committed
        transaction); the incident as it was stored, or None if no such id is stored."""
        retracted_at = dt.datetime.now(dt.UTC).isoformat()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    f"SELECT {COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
                ).fetchone()
                if row is None:
                    self._db.execute("ROLLBACK")
                    return None
                self._db.execute(
                    f"INSERT INTO retractions ({COLUMNS}, retracted_at, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*row, retracted_at, reason),
                )
                self._db.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return StoredIncident(*row[:7])

    def stored_from(self, first_bin: int, limit: int) -> list[StoredIncident]:
        """Up to ``limit`` stored incidents in bins ≥ ``first_bin``, earliest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, occurred_at_ns, lat, lon, crime_type, area, bin FROM incidents "
                "WHERE bin >= ? ORDER BY occurred_at_ns, id LIMIT ?",
                (first_bin, limit),
            ).fetchall()
        return [StoredIncident(*row) for row in rows]

    def count(self) -> int:
        """Incidents stored."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0])

    def cell_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(area, bin, count) int64 arrays, one entry per (area, bin) holding incidents."""
        with self._lock:
            rows = self._db.execute(
                "SELECT area, bin, COUNT(*) FROM incidents GROUP BY area, bin"
            ).fetchall()
        table = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return table[:, 0], table[:, 1], table[:, 2]

    def close(self) -> None:
        """Close the connection (every insert is already committed) and release the database."""
        with self._lock:
            self._db.close()
            self._owner.close()
