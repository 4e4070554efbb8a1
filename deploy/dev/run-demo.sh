#!/usr/bin/env bash
# The main job: a demo centre on SQLite, its server, and the kiosk, waiting-room display, counter
# app and counter panel windows, all on this machine. Data lives in ./data (override with
# HANGDOI_DATA_DIR). Stop with Ctrl+C.
source "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"
ensure_app_packages
ensure_venv
export HANGDOI_DATA_DIR="${HANGDOI_DATA_DIR:-$ROOT/data}"
export HANGDOI_HOST="${HANGDOI_HOST:-127.0.0.1}"
export HANGDOI_PORT="${HANGDOI_PORT:-8000}"
SERVER_URL="http://$HANGDOI_HOST:$HANGDOI_PORT"
"$VENV/bin/hangdoi" demo
CREDENTIALS="$HANGDOI_DATA_DIR/demo-credentials.json"
say "tài khoản và mã thiết bị (logins and device tokens): $CREDENTIALS"
token() { "$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["devices"][sys.argv[2]])' "$CREDENTIALS" "$1"; }

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$VENV/bin/hangdoi" server &
PIDS+=($!)
for _ in $(seq 1 100); do
    "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$SERVER_URL/api/v1/health" 2>/dev/null && break
    sleep 0.2
done
say "máy chủ (server): $SERVER_URL — API: $SERVER_URL/docs"

if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    export QT_QPA_PLATFORM=offscreen
    export HANGDOI_SNAPSHOT_DIR="$HANGDOI_DATA_DIR/screens"
    say "máy này không có màn hình (no screen): các cửa sổ được vẽ ngầm và lưu ảnh mỗi 3 giây vào"
    say "  $HANGDOI_SNAPSHOT_DIR/{kiosk,display,counter,counter-panel}.png — mở bằng trình xem ảnh bất kỳ để xem."
    say "  (the windows are drawn offscreen and saved every 3 s as PNG files there: open them to see the screens)"
fi
# The voice pack is built with espeak-ng the first time the display starts (a second or so).
HANGDOI_KIOSK_TOKEN="$(token kiosk)" HANGDOI_KIOSK_PRINTER="${HANGDOI_KIOSK_PRINTER:-none}" \
    "$VENV/bin/hangdoi" kiosk --windowed --server "$SERVER_URL" &
PIDS+=($!)
HANGDOI_DISPLAY_TOKEN="$(token display)" "$VENV/bin/hangdoi" display --windowed --server "$SERVER_URL" &
PIDS+=($!)
# The counter app remembers its counter in the demo's data folder, not in the user's home.
HANGDOI_COUNTER_STATE_FILE="$HANGDOI_DATA_DIR/counter-state.json" \
    "$VENV/bin/hangdoi" counter --windowed --server "$SERVER_URL" &
PIDS+=($!)
HANGDOI_COUNTER_TOKEN="$(token counter_panel_1)" "$VENV/bin/hangdoi" counter --panel --windowed --server "$SERVER_URL" &
PIDS+=($!)
say "máy lấy số, màn hình phòng chờ, ứng dụng quầy và màn hình quầy 1 đang chạy"
say "  (kiosk, waiting-room display, counter app and the panel of counter 1 are running)."
say "  ứng dụng quầy: đăng nhập lan.nt / demo12345, chọn Quầy số 1; Hoàn thành mở cửa sổ đánh giá."
say "trang web (web pages), mở bằng trình duyệt (open in a browser):"
say "  quản trị, tổng quan, báo cáo (admin console, live dashboard, reports): $SERVER_URL/admin"
say "    đăng nhập (sign in) quantri / demo12345"
say "  màn hình chờ cho TV chỉ có trình duyệt (waiting-room board for a browser TV):"
say "    $SERVER_URL/board#token=$(token display)"
say "  trang đánh giá trên máy tính bảng của quầy 1 (rating page for a tablet at counter 1):"
say "    $SERVER_URL/rating#token=$(token counter_panel_1)"
say "  trang theo dõi phiếu (a ticket's status page): quét mã QR trên phiếu, hoặc status_url khi lấy số qua API"
say "  không có màn hình? gọi số qua API (no screen? call numbers through the API), ví dụ:"
say "  curl -s -X POST $SERVER_URL/api/v1/auth/login -H 'content-type: application/json' \\"
say "    -d '{\"username\":\"lan.nt\",\"password\":\"demo12345\",\"counter_id\":1}'"
say "  rồi POST $SERVER_URL/api/v1/counters/1/call-next với Authorization: Bearer <token>. Dừng: Ctrl+C."
wait -n "${PIDS[@]}"
