"""Backups of the database while the server runs, and bringing one back.

SQLite: SQLite's online backup API copies every page inside one read transaction, so the copy is
one consistent moment even while kiosks and counters keep writing (WAL lets them). The copy is
checked (PRAGMA integrity_check) and made self-contained (no -wal file) before it takes its
final name, so a half-written file never looks like a backup.

PostgreSQL: pg_dump in its custom format, which is one consistent snapshot too; pg_restore
brings it back in one transaction (all of it or nothing).

Restoring replaces today's data with the backup's: it refuses while a server uses the database,
and first keeps a copy of the database as it is ("before-restore-…"), so a wrong restore can
itself be undone. A server holds a shared lock on a lock file beside the database for as long as
it runs (the kernel drops it even after a kill -9); a restore takes it exclusively, so it cannot
start while a server runs, and a server started during a restore waits for it to finish.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy.engine import URL, make_url

from server.config import Settings
from server.storage.database import is_postgres, is_sqlite
from server.storage.migrate import upgrade

SQLITE_SUFFIX = ".sqlite3"
POSTGRES_SUFFIX = ".pgdump"
PREFIX = "hangdoi-"
BEFORE_RESTORE_PREFIX = "before-restore-"
# Tables every hangdoi database has; a file without them is not one of our backups.
REQUIRED_TABLES = {"alembic_version", "centre", "ticket", "event"}


class BackupError(Exception):
    """A backup or a restore that cannot be done; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class Summary:
    """What a database holds, to show after a backup or a restore."""

    centres: int
    tickets: int
    events: int
    last_event_at: str | None

    def describe(self) -> str:
        last = f", sự kiện cuối lúc {self.last_event_at}" if self.last_event_at else ""
        return f"{self.centres} Trung tâm, {self.tickets} phiếu số, {self.events} sự kiện{last}"


def backup_name(settings: Settings, now: datetime | None = None) -> str:
    moment = (now or datetime.now()).astimezone()
    suffix = POSTGRES_SUFFIX if is_postgres(settings.database_url) else SQLITE_SUFFIX
    return f"{PREFIX}{moment:%Y%m%d-%H%M%S}{suffix}"


def default_dir(settings: Settings) -> Path:
    return settings.data_dir / "backups"


def target_path(settings: Settings, out: str | None) -> Path:
    """--out is a folder (the default: the data folder's backups/) or a file name with the suffix.
    Two backups in the same second get "-2", "-3"… rather than one replacing the other."""
    if out is not None:
        path = Path(out).expanduser()
        if path.suffix in (SQLITE_SUFFIX, POSTGRES_SUFFIX) and not path.is_dir():
            return path
        folder = path
    else:
        folder = default_dir(settings)
    name = backup_name(settings)
    target = folder / name
    stem, suffix = name.rsplit(".", 1)
    count = 1
    while target.exists():
        count += 1
        target = folder / f"{stem}-{count}.{suffix}"
    return target


@contextmanager
def _private_files() -> Iterator[None]:
    """Files made meanwhile are the user's alone (0600): a backup holds password and token
    hashes, whoever runs the command and wherever it writes."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def backup(settings: Settings, out: str | None = None, keep: int | None = None) -> tuple[Path, Summary, list[Path]]:
    """Write a consistent copy of the database; with `keep`, delete all but the `keep` newest
    backups in the same folder. Returns the file, what it holds, and what was deleted."""
    with _private_files():
        return _backup(settings, out, keep)


def _backup(settings: Settings, out: str | None, keep: int | None) -> tuple[Path, Summary, list[Path]]:
    target = target_path(settings, out)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        if is_sqlite(settings.database_url):
            _sqlite_backup(_sqlite_file(settings), partial)
            summary = _sqlite_summary(partial)
        elif is_postgres(settings.database_url):
            _pg_dump(settings.database_url, partial)
            summary = _postgres_summary(settings.database_url)
        else:
            raise BackupError(f"không sao lưu được loại cơ sở dữ liệu {make_url(settings.database_url).get_backend_name()}.")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    removed = _prune(target.parent, target.suffix, keep) if keep is not None else []
    return target, summary, removed


def restore(settings: Settings, source: Path) -> tuple[Path, Summary]:
    """Replace the database with a backup, and bring its schema up to this release's. Refuses
    while a server uses the database; keeps a copy of the current database first. Returns that
    copy's path and what the restored database holds."""
    source = source.expanduser().absolute()
    if not source.is_file():
        raise BackupError(f"không tìm thấy tệp sao lưu {source} (hãy ghi đường dẫn đầy đủ của tệp).")
    with _private_files(), _no_server(settings):
        kept, summary = _restore(settings, source)
        # Within the lock: a server that systemd starts meanwhile waits, and does not migrate too.
        upgrade(settings.database_url)
        return kept, summary


def _restore(settings: Settings, source: Path) -> tuple[Path, Summary]:
    if is_sqlite(settings.database_url):
        if source.suffix != SQLITE_SUFFIX:
            raise BackupError(f"{source.name} không phải bản sao lưu SQLite của hangdoi (cần tệp {SQLITE_SUFFIX}).")
        _check_sqlite_backup(source)
        database = _sqlite_file(settings)
        kept = default_dir(settings) / f"{BEFORE_RESTORE_PREFIX}{backup_name(settings).removeprefix(PREFIX)}"
        kept.parent.mkdir(parents=True, exist_ok=True)
        if database.exists():
            _sqlite_backup(database, kept)
        _sqlite_restore(source, database)
        summary = _sqlite_summary(database)
    elif is_postgres(settings.database_url):
        if source.suffix != POSTGRES_SUFFIX:
            raise BackupError(f"{source.name} không phải bản sao lưu PostgreSQL của hangdoi (cần tệp {POSTGRES_SUFFIX}).")
        _check_pg_dump(source)
        kept = default_dir(settings) / f"{BEFORE_RESTORE_PREFIX}{backup_name(settings).removeprefix(PREFIX)}"
        kept.parent.mkdir(parents=True, exist_ok=True)
        _pg_dump(settings.database_url, kept)
        _pg_restore(settings.database_url, source)
        summary = _postgres_summary(settings.database_url)
    else:
        raise BackupError(f"không khôi phục được loại cơ sở dữ liệu {make_url(settings.database_url).get_backend_name()}.")
    return kept, summary


STOP_FIRST = "Hãy dừng máy chủ trước khi khôi phục (ví dụ: sudo systemctl stop hangdoi-server), rồi chạy lại lệnh này."


def server_lock_path(settings: Settings) -> Path:
    """Beside the SQLite file (whatever the data folder); in the data folder for PostgreSQL."""
    if is_sqlite(settings.database_url):
        database = _sqlite_file(settings)
        return database.with_name(database.name + ".server-lock")
    return settings.data_dir / "server.lock"


def hold_server_lock(settings: Settings) -> IO[str]:
    """Taken by `hangdoi server` for its whole life (keep the returned file open). Shared: the
    instances of a province server share it; waits while a restore runs."""
    path = server_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(path, "a")  # noqa: SIM115  (held open until the process ends)
    fcntl.flock(lock, fcntl.LOCK_SH)
    return lock


@contextmanager
def _no_server(settings: Settings) -> Iterator[None]:
    """Hold the server lock exclusively: no server of this machine runs, and none starts, while
    the restore replaces the data. On PostgreSQL, servers on other machines show as connections."""
    path = server_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"máy chủ hangdoi đang chạy và dùng cơ sở dữ liệu này. {STOP_FIRST}") from None
        if is_postgres(settings.database_url):
            others = _postgres_connections(settings.database_url)
            if others:
                raise BackupError(
                    f"có {others} kết nối khác đang dùng cơ sở dữ liệu (máy chủ hangdoi ở máy khác, hoặc psql). {STOP_FIRST}"
                )
        yield


_NAME = re.compile(rf"{PREFIX}(\d{{8}}-\d{{6}})(?:-(\d+))?")


def _name_key(path: Path, suffix: str) -> tuple[str, int] | None:
    """hangdoi-20261123-121500.sqlite3 → ("20261123-121500", 1); its same-second twin "-2" → 2."""
    match = _NAME.fullmatch(path.name.removesuffix(suffix)) if path.name.endswith(suffix) else None
    return (match[1], int(match[2] or 1)) if match else None


def _prune(folder: Path, suffix: str, keep: int) -> list[Path]:
    """Delete all but the `keep` newest of our backups (by the time in their names) in a folder.
    Copies kept before a restore are never deleted here."""
    if keep < 1:
        raise BackupError("--keep phải từ 1 trở lên.")
    # By the name, not the file's date: a copy brought back from a USB stick has a new one.
    ours = sorted((key, p) for p in folder.iterdir() if p.is_file() and (key := _name_key(p, suffix)) is not None)
    doomed = [path for _key, path in ours[:-keep]]
    for path in doomed:
        path.unlink()
    return doomed


# --- SQLite -------------------------------------------------------------------------------------


def _sqlite_file(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
    return Path(database)


def _sqlite_backup(database: Path, target: Path) -> None:
    if not database.exists():
        raise BackupError(f"không có cơ sở dữ liệu {database}.")
    target.unlink(missing_ok=True)
    source = sqlite3.connect(database, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # pages=-1: every page in one step, inside one read transaction: one consistent moment,
        # while the server keeps writing to the WAL.
        source.backup(copy, pages=-1)
        # A backup is one self-contained file: no -wal or -shm beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        problems = copy.execute("PRAGMA integrity_check").fetchall()
        if problems != [("ok",)]:
            raise BackupError(f"bản sao vừa tạo bị lỗi ({_problems(problems)}); hãy kiểm tra ổ đĩa và chạy lại.")
        copy.commit()
    finally:
        copy.close()
        source.close()
    with open(target, "rb") as written:
        os.fsync(written.fileno())


def _problems(rows: list[tuple[str, ...]]) -> str:
    """SQLite's integrity_check findings, the first three, as one line."""
    return "; ".join(str(row[0]) for row in rows[:3])


def _check_sqlite_backup(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = connection.execute("PRAGMA integrity_check").fetchall()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path.name} không phải bản sao lưu hợp lệ ({error}).") from error
    if problems != [("ok",)]:
        raise BackupError(f"{path.name} bị hỏng ({_problems(problems)}); không khôi phục.")
    missing = REQUIRED_TABLES - tables
    if missing:
        raise BackupError(f"{path.name} không phải bản sao lưu của hangdoi (thiếu bảng {', '.join(sorted(missing))}).")


def _sqlite_restore(source: Path, database: Path) -> None:
    """Copy the backup's pages into the database file through SQLite itself, so its -wal and
    -shm files stay consistent with the new content."""
    database.parent.mkdir(parents=True, exist_ok=True)
    backup_connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    target = sqlite3.connect(database, timeout=30)
    try:
        backup_connection.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=WAL")
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        target.close()
        backup_connection.close()


def _sqlite_summary(path: Path) -> Summary:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        centres, tickets, events = (
            connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("centre", "ticket", "event")
        )
        last = connection.execute("SELECT max(at) FROM event").fetchone()[0]
    finally:
        connection.close()
    return Summary(centres, tickets, events, _local(last))


# --- PostgreSQL -----------------------------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it (a password
    on a command line is visible to every user of the machine in `ps`)."""
    parsed: URL = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"không tìm thấy lệnh {name}: hãy cài gói Debian postgresql-client (apt install postgresql-client).")
    return found


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [f"mã lỗi {result.returncode}"])[-1]
        raise BackupError(f"{what} không thành công: {reason}")


def _pg_dump(url: str, target: Path) -> None:
    conninfo, env = _libpq(url)
    target.unlink(missing_ok=True)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", conninfo], env, "pg_dump")
    with open(target, "rb") as written:
        os.fsync(written.fileno())


def _check_pg_dump(path: Path) -> None:
    result = subprocess.run([_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{path.name} không phải bản sao lưu PostgreSQL hợp lệ.")
    missing = {table for table in REQUIRED_TABLES if f" TABLE public {table} " not in result.stdout}
    if missing:
        raise BackupError(f"{path.name} không phải bản sao lưu của hangdoi (thiếu bảng {', '.join(sorted(missing))}).")


def _pg_restore(url: str, source: Path) -> None:
    """Today's schema goes and the backup's comes back, in one transaction (all or nothing).
    Dropping the whole schema, rather than pg_restore --clean dropping what the backup holds, also
    removes tables a later release added: the migrations that follow then find what they expect.
    The backup is first turned into SQL whole, so a broken file never meets the database."""
    conninfo, env = _libpq(url)
    handle, name = tempfile.mkstemp(prefix="hangdoi-restore-", suffix=".sql")  # private: 0600
    os.close(handle)
    script = Path(name)
    try:
        _run([_tool("pg_restore"), "--no-owner", "--no-privileges", f"--file={script}", str(source)], env, "pg_restore")
        _run(
            [
                _tool("psql"),
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--dbname={conninfo}",
                "--command=DROP SCHEMA public CASCADE",
                "--command=CREATE SCHEMA public",
                f"--file={script}",
            ],
            env,
            "khôi phục (psql)",
        )
    finally:
        script.unlink(missing_ok=True)


def _postgres_connections(url: str) -> int:
    import psycopg

    conninfo, env = _libpq(url)
    with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchone()
    return int(row[0]) if row else 0


def _postgres_summary(url: str) -> Summary:
    import psycopg

    conninfo, env = _libpq(url)
    with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as connection:
        centres, tickets, events = (
            connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("centre", "ticket", "event")
        )
        last = connection.execute("SELECT max(at) FROM event").fetchone()[0]  # type: ignore[index]
    return Summary(centres, tickets, events, _local(last))


def _local(stored: datetime | str | None) -> str | None:
    """A stored time (naive UTC, server.storage.types) as this machine's local time."""
    if stored is None:
        return None
    moment = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
    return moment.replace(tzinfo=UTC).astimezone().strftime("%d/%m/%Y %H:%M:%S")
