"""The `hangdoi` command."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from server.config import Settings
from server.demo import DEMO_PASSWORD, create_demo
from server.services.admin import add_device
from server.services.auth import create_officer
from server.services.errors import QueueError
from server.storage import tables
from server.storage.database import is_sqlite, make_engine, writer
from server.storage.migrate import upgrade

# Websocket messages from clients are small JSON commands; anything larger is refused.
WS_MAX_MESSAGE_BYTES = 64 * 1024


class CliError(Exception):
    """A refusal to print as "Lỗi: …" with exit status 2."""


def _settings() -> Settings:
    return Settings()


@contextmanager
def _database() -> Iterator[tuple[Settings, Session]]:
    """The migrated database, in a write session (the server may be running at the same time)."""
    settings = _settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with Session(writer(engine)) as session:
            yield settings, session
    finally:
        engine.dispose()


def _password(given: str | None, what: str) -> tuple[str, bool]:
    """A password from the option, a prompt, or (no terminal) a generated one that is printed."""
    if given:
        return given, False
    if sys.stdin.isatty():
        while True:
            first = getpass.getpass(f"Mật khẩu cho {what}: ")
            if len(first) < 8:
                print("Mật khẩu cần ít nhất 8 ký tự.")
                continue
            if getpass.getpass("Nhập lại mật khẩu: ") == first:
                return first, False
            print("Hai lần nhập không khớp, xin nhập lại.")
    return secrets.token_urlsafe(12), True


def _require_centre(session: Session, centre_id: int | None) -> None:
    if centre_id is not None and session.get(tables.Centre, centre_id) is None:
        raise CliError(f"không có Trung tâm số {centre_id}.")


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    upgrade(settings.database_url)
    print(f"Cơ sở dữ liệu đã cập nhật: {settings.database_url}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    with _database() as (settings, session):
        print(f"Cơ sở dữ liệu sẵn sàng: {settings.database_url}")
        if session.exec(select(tables.Officer).where(tables.Officer.role == "admin")).first() is not None:
            print("Đã có quản trị viên; không tạo thêm.")
        else:
            password, generated = _password(args.admin_password, args.admin_username)
            create_officer(session, None, args.admin_username, args.admin_name, "admin", password)
            session.commit()
            print(f"Đã tạo quản trị viên cấp tỉnh: {args.admin_username}")
            if generated:
                print(f"  Mật khẩu (hãy đổi sau khi đăng nhập): {password}")
    return cmd_demo(args) if args.demo else 0


def cmd_demo(args: argparse.Namespace) -> int:
    password = getattr(args, "password", None) or DEMO_PASSWORD
    with _database() as (settings, session):
        demo = create_demo(session, password)
    credentials = settings.data_dir / "demo-credentials.json"
    if not demo.created:
        print(f"Trung tâm mẫu đã có (centre_id={demo.centre_id}); không tạo lại.")
        if credentials.exists():
            print(f"Mã thiết bị và tài khoản của Trung tâm mẫu: {credentials}")
        return 0
    print(f"Đã tạo Trung tâm mẫu (centre_id={demo.centre_id}).")
    print("Lĩnh vực (field_id, dãy số):")
    for field_id, code, name, start, end in demo.fields:
        print(f"  {field_id:>2}  {code:<4} {name:<32} {start}–{end}")
    print(f"Tài khoản cán bộ (mật khẩu chung: {password}):")
    for officer in demo.logins:
        where = f"quầy {officer['counter']}" if officer["counter"] else "quản trị"
        print(f"  {officer['username']:<10} {officer['full_name']:<22} {officer['role']:<8} {where}")
    print("Mã thiết bị:")
    for kind, token in demo.devices.items():
        print(f"  {kind:<16} {token}")
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.write_text(
        json.dumps(
            {"centre_id": demo.centre_id, "password": password, "officers": demo.logins, "devices": demo.devices},
            ensure_ascii=False,
            indent=2,
        )
    )
    os.chmod(credentials, 0o600)
    print(f"Đã lưu tài khoản và mã thiết bị vào {credentials} (chỉ người quản trị máy đọc được).")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    if args.role == "officer" and args.centre_id is None:
        raise CliError("cán bộ cần thuộc một Trung tâm (--centre-id).")
    with _database() as (_, session):
        if session.exec(select(tables.Officer).where(tables.Officer.username == args.username.lower())).first():
            raise CliError(f"tên đăng nhập {args.username} đã có người dùng.")
        _require_centre(session, args.centre_id)
        password, generated = _password(args.password, args.username)
        create_officer(session, args.centre_id, args.username, args.full_name, args.role, password, args.phone)
        session.commit()
    print(f"Đã tạo tài khoản {args.username} ({args.role}).")
    if generated:
        print(f"  Mật khẩu: {password}")
    return 0


def cmd_device_add(args: argparse.Namespace) -> int:
    with _database() as (_, session):
        _require_centre(session, args.centre_id)
        try:
            device, token = add_device(session, args.centre_id, args.kind, args.name, args.counter_id)
        except QueueError as error:
            raise CliError(error.message) from error
        session.commit()
        device_id = device.id
    print(f"Đã tạo thiết bị {args.name} (id={device_id}, loại {args.kind}).")
    print(f"Mã thiết bị (chỉ hiện một lần, hãy lưu lại): {token}")
    return 0


def cmd_server(args: argparse.Namespace) -> int:
    import uvicorn

    if args.host:
        os.environ["HANGDOI_HOST"] = args.host
    if args.port:
        os.environ["HANGDOI_PORT"] = str(args.port)
    if args.workers is not None:
        os.environ["HANGDOI_WORKERS"] = str(args.workers)
    settings = _settings()
    if settings.workers < 1:
        raise CliError("số tiến trình (--workers) phải từ 1 trở lên.")
    if settings.workers > 1 and is_sqlite(settings.database_url):
        raise CliError(
            "chạy nhiều tiến trình (--workers) cần PostgreSQL (HANGDOI_DATABASE_URL=postgresql+psycopg://…); "
            "với SQLite hãy chạy một tiến trình."
        )
    from server.backup import hold_server_lock

    # Held until the process ends: `hangdoi restore` refuses while it is, and makes this wait.
    _server_lock = hold_server_lock(settings)
    upgrade(settings.database_url)
    print(f"hangdoi: máy chủ tại http://{settings.host}:{settings.port}  (tài liệu API: /docs)", flush=True)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        # No permessage-deflate: events are under 1 KB, and compressing each one for every screen
        # costs 50 KB of memory per connection and a quarter of the fan-out's CPU
        # (bench/fanout.py --no-compression).
        ws_per_message_deflate=False,
        log_level=settings.log_level,
        workers=settings.workers,
        # Behind nginx on a province server; harmless on a centre's LAN.
        proxy_headers=True,
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from server import backup

    settings = _settings()
    try:
        path, summary, removed = backup.backup(settings, args.out, args.keep)
    except backup.BackupError as error:
        raise CliError(str(error)) from error
    print(f"Đã sao lưu vào {path} ({path.stat().st_size / 1_048_576:.1f} MB): {summary.describe()}.")
    for old in removed:
        print(f"  Đã xóa bản sao lưu cũ {old.name}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from server import backup

    settings = _settings()
    source = Path(args.file)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("khôi phục sẽ thay toàn bộ dữ liệu hiện tại; chạy lại với --yes để xác nhận.")
        print(f"Khôi phục sẽ thay toàn bộ dữ liệu hiện tại ({settings.database_url}) bằng {source}.")
        print("Các số thứ tự cấp sau thời điểm sao lưu sẽ bị mất và có thể được cấp lại.")
        if input("Gõ 'dong y' để tiếp tục: ").strip().lower() not in ("dong y", "đồng ý"):
            print("Đã hủy, không thay đổi gì.")
            return 1
    try:
        kept, summary = backup.restore(settings, source)
    except backup.BackupError as error:
        raise CliError(str(error)) from error
    print(f"Đã khôi phục từ {source}: {summary.describe()}.")
    print(f"Dữ liệu ngay trước khi khôi phục được giữ ở {kept} (khôi phục tệp đó nếu cần quay lại).")
    print("Hãy khởi động lại máy chủ; các màn hình và máy lấy số tự kết nối lại.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hangdoi", description="Hệ thống lấy số thứ tự cho Trung tâm Phục vụ hành chính công.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("server", help="chạy máy chủ")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="số tiến trình máy chủ (nhiều hơn 1 cần PostgreSQL)")
    p.set_defaults(func=cmd_server)

    p = sub.add_parser("migrate", help="cập nhật cấu trúc cơ sở dữ liệu")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("init", help="tạo cơ sở dữ liệu và quản trị viên đầu tiên")
    p.add_argument("--admin-username", default="admin")
    p.add_argument("--admin-name", default="Quản trị viên")
    p.add_argument("--admin-password")
    p.add_argument("--demo", action="store_true", help="tạo luôn Trung tâm mẫu")
    p.add_argument("--password", help="mật khẩu cho tài khoản mẫu (với --demo)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help="tạo Trung tâm mẫu với lĩnh vực, quầy, cán bộ và thiết bị")
    p.add_argument("--password", help="mật khẩu chung cho các tài khoản mẫu")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("backup", help="sao lưu cơ sở dữ liệu (được khi máy chủ đang chạy)")
    p.add_argument("--out", help="thư mục hoặc tên tệp đích (mặc định: thư mục dữ liệu/backups)")
    p.add_argument("--keep", type=int, help="chỉ giữ N bản sao lưu mới nhất trong thư mục đó")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="khôi phục cơ sở dữ liệu từ một bản sao lưu (máy chủ phải dừng)")
    p.add_argument("file", help="tệp sao lưu (.sqlite3 hoặc .pgdump)")
    p.add_argument("--yes", action="store_true", help="không hỏi lại")
    p.set_defaults(func=cmd_restore)

    user = sub.add_parser("user", help="tài khoản cán bộ").add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="tạo tài khoản")
    p.add_argument("username")
    p.add_argument("--full-name", required=True)
    p.add_argument("--role", choices=["admin", "officer"], default="officer")
    p.add_argument("--centre-id", type=int, help="bỏ trống cho quản trị viên cấp tỉnh")
    p.add_argument("--password")
    p.add_argument("--phone", default="")
    p.set_defaults(func=cmd_user_add)

    device = sub.add_parser("device", help="thiết bị").add_subparsers(dest="device_command", required=True)
    p = device.add_parser("add", help="tạo thiết bị và mã của nó")
    p.add_argument("kind", choices=["kiosk", "display", "counter_panel"])
    p.add_argument("--name", required=True)
    p.add_argument("--centre-id", type=int, required=True)
    p.add_argument("--counter-id", type=int)
    p.set_defaults(func=cmd_device_add)

    # The apps import Qt only when they start, so the server never needs it.
    from kiosk.settings import add_arguments as kiosk_arguments

    p = sub.add_parser("kiosk", help="máy lấy số (màn hình cảm ứng và máy in phiếu)")
    kiosk_arguments(p)
    p.set_defaults(func=cmd_kiosk)

    from display.settings import add_arguments as display_arguments

    p = sub.add_parser("display", help="màn hình gọi số ở phòng chờ, có đọc loa")
    display_arguments(p)
    p.set_defaults(func=cmd_display)

    from counter.settings import add_arguments as counter_arguments

    p = sub.add_parser("counter", help="ứng dụng quầy cho cán bộ (kèm màn hình đánh giá), hoặc --panel: màn hình trên quầy")
    counter_arguments(p)
    p.set_defaults(func=cmd_counter)

    voice = sub.add_parser("voice", help="gói giọng đọc").add_subparsers(dest="voice_command", required=True)
    p = voice.add_parser("build", help="tạo gói giọng đọc mặc định bằng espeak-ng")
    p.add_argument("--out", help="thư mục đích (mặc định: thư mục dữ liệu/voice/vi)")
    p.add_argument("--voice", default="vi", help="giọng espeak-ng (vi, vi-vn-x-central, vi-vn-x-south)")
    p.add_argument("--speed", type=int, default=150, help="tốc độ đọc (từ/phút)")
    p.set_defaults(func=cmd_voice_build)
    return parser


def cmd_kiosk(args: argparse.Namespace) -> int:
    from kiosk.main import run

    return run(args)


def cmd_display(args: argparse.Namespace) -> int:
    from display.main import run

    return run(args)


def cmd_counter(args: argparse.Namespace) -> int:
    from counter.main import run

    return run(args)


def cmd_voice_build(args: argparse.Namespace) -> int:
    from display.main import voice_build

    return voice_build(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        # PostgreSQL down, a wrong address or password: say so plainly (systemd restarts us).
        reason = (str(error.orig).strip().splitlines() or [repr(error.orig)])[0]
        url = make_url(_settings().database_url).render_as_string(hide_password=True)
        print(f"Lỗi: không dùng được cơ sở dữ liệu {url}: {reason}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
