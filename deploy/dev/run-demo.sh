#!/usr/bin/env bash
# The main job: a demo centre on SQLite and the server for it, on this machine.
# Data lives in ./data (override with HANGDOI_DATA_DIR). Stop with Ctrl+C.
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"
ensure_venv
export HANGDOI_DATA_DIR="${HANGDOI_DATA_DIR:-$ROOT/data}"
export HANGDOI_HOST="${HANGDOI_HOST:-127.0.0.1}"
export HANGDOI_PORT="${HANGDOI_PORT:-8000}"
"$VENV/bin/hangdoi" demo
say "tài khoản và mã thiết bị (logins and device tokens): $HANGDOI_DATA_DIR/demo-credentials.json"
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    say "máy này không có màn hình (no screen): mở trang /docs từ một máy khác qua đường hầm SSH,"
    say "  ví dụ: ssh -L $HANGDOI_PORT:127.0.0.1:$HANGDOI_PORT <máy này>, rồi mở http://127.0.0.1:$HANGDOI_PORT/docs"
fi
say "ứng dụng máy lấy số, màn hình phòng chờ và quầy sẽ chạy cùng máy chủ khi chúng được hoàn thành"
exec "$VENV/bin/hangdoi" server
