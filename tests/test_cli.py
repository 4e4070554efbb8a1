"""The `hangdoi` command: init, demo, user add, device add, and configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from server.config import Settings
from server.storage import tables
from server.storage.database import make_engine


def hangdoi(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANGDOI_")}
    env["HANGDOI_DATA_DIR"] = str(data_dir)
    result = subprocess.run(
        [sys.executable, "-c", "from server.cli import main; raise SystemExit(main())", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def officers(data_dir: Path) -> list[tables.Officer]:
    engine = make_engine(f"sqlite:///{data_dir / 'hangdoi.sqlite3'}")
    with Session(engine) as session:
        rows = list(session.exec(select(tables.Officer)).all())
    engine.dispose()
    return rows


def test_init_migrates_and_creates_the_first_admin(tmp_path: Path) -> None:
    out = hangdoi(tmp_path, "init", "--admin-username", "tinh", "--admin-password", "mat-khau-tinh").stdout
    assert "Đã tạo quản trị viên cấp tỉnh: tinh" in out
    again = hangdoi(tmp_path, "init", "--admin-password", "x").stdout
    assert "Đã có quản trị viên" in again
    rows = officers(tmp_path)
    assert [(o.username, o.role, o.centre_id) for o in rows] == [("tinh", "admin", None)]


def test_init_without_a_terminal_generates_and_prints_a_password(tmp_path: Path) -> None:
    out = hangdoi(tmp_path, "init").stdout
    password = out.split("Mật khẩu (hãy đổi sau khi đăng nhập): ")[1].split()[0]
    assert len(password) >= 12


def test_demo_creates_a_realistic_centre_once(tmp_path: Path) -> None:
    out = hangdoi(tmp_path, "demo").stdout
    assert "lan.nt" in out and "Nguyễn Thị Lan" in out and "kiosk" in out
    credentials = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert credentials["devices"]["kiosk"].startswith("hdd_")
    assert oct((tmp_path / "demo-credentials.json").stat().st_mode)[-3:] == "600"
    assert "không tạo lại" in hangdoi(tmp_path, "demo").stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'hangdoi.sqlite3'}")
    with Session(engine) as session:
        fields = session.exec(select(tables.ProcedureField)).all()
        counters = session.exec(select(tables.Counter)).all()
        links = session.exec(select(tables.CounterField)).all()
        devices = session.exec(select(tables.Device)).all()
    engine.dispose()
    assert [f.name for f in fields][:3] == ["Hộ tịch", "Chứng thực", "Đất đai"] and len(fields) == 7
    assert next((f.number_start, f.number_end) for f in fields) == (1001, 1999)
    assert len(counters) == 5
    served = [link.field_id for link in links]
    assert any(served.count(f.id) > 1 for f in fields), "counters overlap on some field"
    assert sorted(d.kind for d in devices) == ["counter_panel"] * 5 + ["display", "kiosk"]
    panels = {d.name: d.counter_id for d in devices if d.kind == "counter_panel"}
    assert panels == {f"Màn hình quầy {c.number}": c.id for c in counters}
    assert credentials["devices"]["counter_panel_3"].startswith("hdd_")


def test_user_add_and_device_add(tmp_path: Path) -> None:
    hangdoi(tmp_path, "demo")
    out = hangdoi(tmp_path, "user", "add", "binh.lv", "--full-name", "Lê Văn Bình", "--centre-id", "1", "--password", "12345678")
    assert "Đã tạo tài khoản binh.lv" in out.stdout
    assert any(o.username == "binh.lv" and o.full_name == "Lê Văn Bình" for o in officers(tmp_path))
    duplicate = hangdoi(
        tmp_path, "user", "add", "binh.lv", "--full-name", "X", "--centre-id", "1", "--password", "12345678", check=False
    )
    assert duplicate.returncode == 2 and "đã có người dùng" in duplicate.stderr
    no_centre = hangdoi(tmp_path, "user", "add", "an.nv", "--full-name", "X", "--password", "12345678", check=False)
    assert no_centre.returncode == 2 and "--centre-id" in no_centre.stderr
    device = hangdoi(
        tmp_path, "device", "add", "counter_panel", "--name", "Màn hình quầy 2", "--centre-id", "1", "--counter-id", "2"
    )
    token = device.stdout.split("hãy lưu lại): ")[1].strip()
    assert token.startswith("hdd_")
    missing = hangdoi(tmp_path, "device", "add", "counter_panel", "--name", "X", "--centre-id", "1", check=False)
    assert missing.returncode == 2 and "gắn với một quầy" in missing.stderr
    wrong_centre = hangdoi(tmp_path, "device", "add", "kiosk", "--name", "X", "--centre-id", "9", check=False)
    assert wrong_centre.returncode == 2 and "không có Trung tâm số 9" in wrong_centre.stderr


def test_server_command_serves_the_api(tmp_path: Path) -> None:
    from bench._server import running_server

    with running_server() as server:
        answer = httpx.get(f"{server.base_url}/api/v1/health", timeout=10)
        assert answer.json()["status"] == "ok"
        docs = httpx.get(f"{server.base_url}/docs", timeout=10)
        assert docs.status_code == 200


def test_settings_from_environment_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HANGDOI_"):
            monkeypatch.delenv(name)
    config = tmp_path / "hangdoi.toml"
    config.write_text('port = 9100\ntimezone = "Asia/Bangkok"\npublic_base_url = "https://laythutu.example.vn/"\n')
    monkeypatch.setenv("HANGDOI_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.port == 9100 and settings.timezone == "Asia/Bangkok"
    assert settings.public_base_url == "https://laythutu.example.vn"
    assert settings.database_url == f"sqlite:///{tmp_path / 'hangdoi.sqlite3'}"
    monkeypatch.setenv("HANGDOI_PORT", "8200")  # the environment wins over the file
    monkeypatch.setenv("HANGDOI_DATABASE_URL", "postgresql+psycopg://localhost/hangdoi")
    settings = Settings()
    assert settings.port == 8200 and settings.database_url.startswith("postgresql")
    assert Settings().host == "127.0.0.1"
    monkeypatch.setenv("HANGDOI_TIMEZONE", "Nowhere/Nothing")
    with pytest.raises(ValueError, match="unknown time zone"):
        Settings()


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("HANGDOI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HANGDOI_CONFIG", str(tmp_path / "missing.toml"))
    settings = Settings()
    assert settings.timezone == "Asia/Ho_Chi_Minh" and settings.port == 8000
    assert settings.public_base_url == "http://127.0.0.1:8000"


def test_the_apps_refuse_to_start_without_their_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no kiosk.toml or display.toml
    kiosk = hangdoi(tmp_path, "kiosk", "--windowed", check=False)
    assert kiosk.returncode == 2 and "thiếu mã thiết bị" in kiosk.stderr
    display = hangdoi(tmp_path, "display", "--windowed", check=False)
    assert display.returncode == 2 and "thiếu mã thiết bị" in display.stderr
    bad_printer = hangdoi(tmp_path, "kiosk", "--printer", "parallel:1", check=False)
    assert bad_printer.returncode == 2 and bad_printer.stderr.startswith("Lỗi:")


def test_kiosk_test_print_sends_a_ticket_to_the_printer(tmp_path: Path) -> None:
    from tests.escpos_raster import decode
    from tests.fake_printer import FakePrinter

    with FakePrinter() as printer:
        result = hangdoi(tmp_path, "kiosk", "--test-print", "--printer", printer.spec)
        assert "Đã in phiếu thử" in result.stdout
        job = decode(printer.wait_for_jobs(1)[0])
    assert job.image is not None and job.cut


def test_voice_build_makes_a_complete_pack(tmp_path: Path) -> None:
    from display.voicepack import VoicePack

    result = hangdoi(tmp_path, "voice", "build", "--out", str(tmp_path / "voice"))
    assert "Đã tạo gói giọng đọc" in result.stdout
    assert VoicePack.load(tmp_path / "voice").missing() == []


def test_several_workers_are_refused_on_sqlite_with_a_clear_reason(tmp_path: Path) -> None:
    """The in-process hub cannot reach other processes: SQLite runs one server process."""
    result = hangdoi(tmp_path, "server", "--port", "1", "--workers", "4", check=False)
    assert result.returncode == 2
    assert "cần PostgreSQL" in result.stderr and "HANGDOI_DATABASE_URL" in result.stderr
    zero = hangdoi(tmp_path, "server", "--port", "1", "--workers", "0", check=False)
    assert zero.returncode == 2 and "từ 1 trở lên" in zero.stderr
    assert not (tmp_path / "hangdoi.sqlite3").exists(), "refused before touching the database"


def test_an_unreachable_database_is_reported_plainly(tmp_path: Path) -> None:
    env_url = "postgresql+psycopg://hangdoi:bi-mat@127.0.0.1:1/hangdoi"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANGDOI_")}
    env.update({"HANGDOI_DATA_DIR": str(tmp_path), "HANGDOI_DATABASE_URL": env_url})
    result = subprocess.run(
        [sys.executable, "-c", "from server.cli import main; raise SystemExit(main())", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "Lỗi: không dùng được cơ sở dữ liệu postgresql+psycopg://hangdoi:***@127.0.0.1:1/hangdoi" in result.stderr
    assert "bi-mat" not in result.stderr and "Traceback" not in result.stderr
