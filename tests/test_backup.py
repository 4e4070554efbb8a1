"""`hangdoi backup` makes a consistent copy while the server runs and kiosks keep issuing, and
`hangdoi restore` brings it back (after keeping the database as it was), on SQLite and on
PostgreSQL, through the real command and a real server process."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from bench._server import Server, _cli, running_server
from tests.conftest import HO_TICH

pytestmark = pytest.mark.slow

CHUNG_THUC = 2


def hangdoi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cli(*args), env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


def database_url(server: Server) -> str:
    return server.env.get("HANGDOI_DATABASE_URL") or f"sqlite:///{server.data_dir / 'hangdoi.sqlite3'}"


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def check_consistent(url: str) -> dict[int, list[int]]:
    """A database that is one moment of the server: every ticket has its issue event and every
    event its ticket, the sequence has no gap and matches the centre, the day counters match the
    tickets. A copy torn between two commits breaks at least one of these. Returns each field's
    numbers."""
    tickets = rows(url, "SELECT id, issue_field_id, number FROM ticket ORDER BY id")
    issued = rows(url, "SELECT ticket_id FROM event WHERE kind = 'ticket.issued' ORDER BY ticket_id")
    assert [t[0] for t in tickets] == [e[0] for e in issued]
    seqs = [r[0] for r in rows(url, "SELECT seq FROM event WHERE centre_id = 1 ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert rows(url, "SELECT event_seq FROM centre WHERE id = 1") == [(len(seqs),)]
    numbers: dict[int, list[int]] = {}
    for _id, field_id, number in tickets:
        numbers.setdefault(int(field_id), []).append(int(number))  # type: ignore[call-overload]
    for field_id, issued_count in rows(url, "SELECT field_id, sum(issued_count) FROM field_day GROUP BY field_id"):
        assert len(numbers.get(int(field_id), [])) == issued_count  # type: ignore[call-overload]
    for field_id, got in numbers.items():
        first = field_id * 1000 + 1
        assert sorted(got) == list(range(first, first + len(got))), f"field {field_id}: a gap or a duplicate"
    return numbers


class Kiosks:
    """Two kiosks taking numbers as fast as the server answers, until stopped."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.acknowledged: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(f,)) for f in (HO_TICH, CHUNG_THUC)]

    def _run(self, field_id: int) -> None:
        headers = {"Authorization": f"Bearer {self.server.kiosk_token}"}
        with httpx.Client(base_url=f"{self.server.base_url}/api/v1", headers=headers, timeout=30) as kiosk:
            while not self._stop.is_set():
                answer = kiosk.post("/tickets", json={"field_id": field_id}, headers={"Idempotency-Key": str(uuid.uuid4())})
                assert answer.status_code == 201, answer.text
                self.acknowledged.append((field_id, answer.json()["ticket"]["number"]))

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, "the kiosks stopped issuing"
            time.sleep(0.02)

    def __enter__(self) -> Kiosks:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with running_server(db=request.param) as running:
        yield running


def test_backup_while_kiosks_issue_then_restore(server: Server, tmp_path: Path) -> None:
    url = database_url(server)
    with Kiosks(server) as kiosks:
        kiosks.wait_for(40)
        made = hangdoi(server.env, "backup", "--out", str(tmp_path))
        during = len(kiosks.acknowledged)
        kiosks.wait_for(during + 40)
    assert made.returncode == 0, made.stderr
    [backup_file] = list(tmp_path.iterdir())
    assert re.fullmatch(r"hangdoi-\d{8}-\d{6}\.(sqlite3|pgdump)", backup_file.name)
    assert f"Đã sao lưu vào {backup_file}" in made.stdout and "phiếu số" in made.stdout
    everything = check_consistent(url)
    total = sum(len(n) for n in everything.values())
    assert total == len(kiosks.acknowledged)

    # While the server runs, restoring is refused and changes nothing.
    refused = hangdoi(server.env, "restore", str(backup_file), "--yes")
    assert refused.returncode == 2
    assert "máy chủ hangdoi đang chạy" in refused.stderr and "dừng máy chủ" in refused.stderr
    assert sum(len(n) for n in check_consistent(url).values()) == total

    server.stop()
    restored = hangdoi(server.env, "restore", str(backup_file), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert "Đã khôi phục từ" in restored.stdout and "trước khi khôi phục" in restored.stdout
    # The database is the backup's moment: consistent, holding what had been issued by then and
    # nothing the kiosks got after the backup finished.
    numbers = check_consistent(url)
    count = sum(len(n) for n in numbers.values())
    assert 40 <= count <= during
    acknowledged_then = set(kiosks.acknowledged[:40])
    assert all(number in numbers[field_id] for field_id, number in acknowledged_then)

    # The database as it was before the restore was kept, with every ticket the kiosks got.
    [kept] = [p for p in (server.data_dir / "backups").iterdir() if p.name.startswith("before-restore-")]
    if kept.suffix == ".sqlite3":
        assert sqlite3.connect(kept).execute("SELECT count(*) FROM ticket").fetchone() == (total,)

    server.start()
    # Numbering carries on from the backup's last number.
    with httpx.Client(base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {server.kiosk_token}"}) as kiosk:
        answer = kiosk.post("/tickets", json={"field_id": HO_TICH})
    assert answer.status_code == 201, answer.text
    assert answer.json()["ticket"]["number"] == max(numbers[HO_TICH]) + 1


def test_backups_are_kept_to_the_number_asked(tmp_path: Path) -> None:
    with running_server() as server:
        folder = tmp_path / "backups"
        made: list[str] = []
        for _ in range(5):
            answer = hangdoi(server.env, "backup", "--out", str(folder), "--keep", "3")
            assert answer.returncode == 0, answer.stderr
            made.append(Path(re.search(r"Đã sao lưu vào (\S+)", answer.stdout)[1]).name)  # type: ignore[index]
        # Several in one second get "-2", "-3"…: the three made last stay, whatever their names.
        assert len(set(made)) == 5
        assert sorted(p.name for p in folder.iterdir()) == sorted(made[-3:])
        assert "Đã xóa bản sao lưu cũ" in answer.stdout


def test_restore_refuses_what_is_not_a_hangdoi_backup(tmp_path: Path) -> None:
    with running_server() as server:
        with httpx.Client(base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {server.kiosk_token}"}) as k:
            assert k.post("/tickets", json={"field_id": HO_TICH}).status_code == 201
        server.stop()
        url = database_url(server)
        before = check_consistent(url)

        garbage = tmp_path / "hangdoi-20261123-083000.sqlite3"
        garbage.write_bytes(b"not a database at all" * 100)
        other = tmp_path / "other.sqlite3"
        sqlite3.connect(other).execute("CREATE TABLE notes (text TEXT)").connection.commit()
        cases = {
            garbage: "không phải bản sao lưu hợp lệ",
            other: "không phải bản sao lưu của hangdoi (thiếu bảng alembic_version, centre, event, ticket)",
            tmp_path / "missing.sqlite3": "không tìm thấy tệp sao lưu",
            tmp_path / "dump.pgdump": "không phải bản sao lưu SQLite",
        }
        (tmp_path / "dump.pgdump").write_bytes(b"PGDMP")
        for path, reason in cases.items():
            answer = hangdoi(server.env, "restore", str(path), "--yes")
            assert answer.returncode == 2 and reason in answer.stderr, (path, answer.stderr)
        # Without a terminal and without --yes, nothing is replaced.
        unconfirmed = hangdoi(server.env, "restore", str(other))
        assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
        assert check_consistent(url) == before


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_a_backup_from_the_previous_release_comes_back_with_todays_schema(db: str, tmp_path: Path) -> None:
    from alembic import command

    from server.storage.migrate import alembic_config

    with running_server(db=db) as server:
        with httpx.Client(base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {server.kiosk_token}"}) as k:
            assert k.post("/tickets", json={"field_id": HO_TICH}).status_code == 201
        server.stop()
        url = database_url(server)
        # The database as the previous release left it (before migration 0004) … (SQLite
        # rebuilds a table to drop a column: without the server's foreign-key checks.)
        config = alembic_config(url)
        engine = create_engine(url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
        engine.dispose()
        old = hangdoi(server.env, "backup", "--out", str(tmp_path))
        assert old.returncode == 0, old.stderr
        [saved] = list(tmp_path.iterdir())
        # … backed up, the files private to the server's user (they hold password hashes) …
        assert saved.stat().st_mode & 0o777 == 0o600
        # … then this release migrated it and used its new tables.
        assert hangdoi(server.env, "migrate").returncode == 0
        rows(url, "SELECT 1")  # reachable
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO login_failure (username, address, at) VALUES ('x', 'y', '2026-11-23 01:00')"))
        engine.dispose()

        restored = hangdoi(server.env, "restore", str(saved), "--yes")
        assert restored.returncode == 0, restored.stderr
        assert rows(url, "SELECT version_num FROM alembic_version") == [("0004",)]
        assert rows(url, "SELECT count(*) FROM login_failure") == [(0,)]
        [kept] = [p for p in (server.data_dir / "backups").iterdir() if p.name.startswith("before-restore-")]
        assert kept.stat().st_mode & 0o777 == 0o600
        server.start()
        with httpx.Client(base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {server.kiosk_token}"}) as k:
            answer = k.post("/tickets", json={"field_id": HO_TICH})
        assert answer.status_code == 201 and answer.json()["ticket"]["label"] == "1002"


def test_keeping_goes_by_the_time_in_the_names(tmp_path: Path) -> None:
    from server.backup import _prune

    names = [
        "hangdoi-20261123-121459.sqlite3",
        "hangdoi-20261123-121500.sqlite3",
        "hangdoi-20261123-121500-2.sqlite3",  # two more in the same second
        "hangdoi-20261123-121500-3.sqlite3",
        "before-restore-20261120-080000.sqlite3",  # never deleted by --keep
        "notes.txt",
    ]
    for name in reversed(names):  # file dates the other way round: a copy back from a USB stick
        (tmp_path / name).write_text(name)
    removed = _prune(tmp_path, ".sqlite3", 2)
    assert sorted(p.name for p in removed) == ["hangdoi-20261123-121459.sqlite3", "hangdoi-20261123-121500.sqlite3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
