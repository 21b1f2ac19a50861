"""Backups of a live hub's database: ``samspil backup --to FILE [--db URL]``.

* **SQLite** — SQLite's online backup API copies the database as of one moment (one read
  transaction, taken in a single step) while the hub goes on serving: in WAL mode a reader
  never blocks the writer, and nothing committed after the copy began is in it. The copy
  is written beside ``FILE``, checked with ``PRAGMA integrity_check``, flushed to disk,
  given mode 0600 and only then renamed to ``FILE``, so ``FILE`` is always a whole backup.
  Restore: stop the hub, put the file where its database was (removing any
  ``-wal``/``-shm`` files left beside the old one), start it.
* **PostgreSQL** — ``pg_dump --format=custom`` (a consistent snapshot, also taken while the
  hub serves), to a temporary name and renamed the same way; the password goes to
  ``pg_dump`` in its environment, never on its command line. Restore with
  ``pg_restore --no-owner --dbname=URL FILE`` into an empty database.

A backup holds every child's data: encrypt it and keep it no longer than the data may be
kept (README, "Operating Samspil"). Errors are :class:`BackupError` with a ``code``; none
prints the database password.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from coordinator.errors import BackupError

__all__ = ["Backup", "BackupError", "backup", "integrity_check", "sqlite_path"]

PG_DUMP_TIMEOUT = 3600.0


@dataclass(frozen=True, slots=True)
class Backup:
    """What :func:`backup` wrote."""

    path: Path
    kind: str
    """``sqlite`` or ``postgresql``."""
    size: int


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for any other database."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise BackupError("the database URL cannot be read", code="invalid-database-url") from None
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up", code="no-database")
    return Path(url.database)


def backup(database_url: str, target: Path) -> Backup:
    """Back up the database at ``database_url`` to ``target`` (replaced when it exists)."""
    target = target.resolve()
    if target.is_dir():
        raise BackupError(f"{target} is a folder; name the backup file", code="invalid-target")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist", code="invalid-target")
    source = sqlite_path(database_url)
    if source is not None:
        _backup_sqlite(source, target)
        kind = "sqlite"
    else:
        _backup_postgres(database_url, target)
        kind = "postgresql"
    return Backup(target, kind, target.stat().st_size)


def integrity_check(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` of a SQLite file: ``["ok"]`` when it is sound."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
    finally:
        connection.close()


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial")


def _backup_sqlite(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"there is no SQLite database at {source}", code="no-database")
    if source.resolve() == target:
        raise BackupError("the backup cannot replace the database itself", code="invalid-target")
    partial = _partial(target)
    _private_empty(partial)
    try:
        # mode=rw: never create an empty database where the hub's should be
        live = sqlite3.connect(f"file:{source}?mode=rw", uri=True, timeout=30.0)
        try:
            copy = sqlite3.connect(partial)
            try:
                live.backup(copy)  # all pages in one step: the database as of one moment
                # one self-contained file (the hub turns WAL on again when it opens it)
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            live.close()
        verdict = integrity_check(partial)
        if verdict != ["ok"]:
            raise BackupError(
                f"the copy failed its integrity check ({len(verdict)} problems)",
                code="backup-corrupt",
            )
        _seal(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(
            f"SQLite could not copy the database ({type(exc).__name__})", code="backup-failed"
        ) from exc
    finally:
        for leftover in (partial, *(partial.with_name(partial.name + x) for x in _SIDECARS)):
            leftover.unlink(missing_ok=True)


_SIDECARS = ("-wal", "-shm", "-journal")


def _private_empty(path: Path) -> None:
    """An empty file only its owner may read, before anything of the database is in it."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _backup_postgres(database_url: str, target: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not installed (PostgreSQL's client tools)", code="pg-dump-missing"
        )
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BackupError(
            f"Samspil backs up SQLite and PostgreSQL, not {url.get_backend_name()}",
            code="unsupported-database",
        )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    partial = _partial(target)
    _private_empty(partial)  # pg_dump truncates it and keeps the mode
    try:
        try:
            done = subprocess.run(  # noqa: S603 - pg_dump found on PATH, arguments as a list
                [pg_dump, "--format=custom", f"--file={partial}", f"--dbname={plain}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=PG_DUMP_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BackupError(
                f"pg_dump did not finish within {PG_DUMP_TIMEOUT:g}s", code="backup-failed"
            ) from None
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no message"])[0][:200]
            raise BackupError(f"pg_dump failed: {first}", code="backup-failed")
        _seal(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _seal(partial: Path, target: Path) -> None:
    """Mode 0600, on disk, then renamed into place (and the rename on disk too)."""
    os.chmod(partial, 0o600)
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, target)
    with contextlib.suppress(OSError):
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
