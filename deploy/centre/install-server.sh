#!/usr/bin/env bash
# Puts the hangdoi server of one commune centre on its mini-PC (Debian 12): the program in
# /opt/hangdoi/venv, the service user, the settings file, the SQLite database with its first
# administrator, the voice pack for browser boards, the server unit and the twice-daily backups.
# Run as root from a copy of the source; running it again (to upgrade) is safe and keeps the data.
# Cài máy chủ hangdoi cho một Trung tâm trên máy tính mini. Chạy bằng root; chạy lại cũng không sao.
#
#   sudo bash deploy/centre/install-server.sh [--address 192.168.1.10] [--admin-username admin]
#
#   --address         the mini-PC's fixed address on the LAN, printed in tickets' QR codes
#                     (default: its first IPv4 address now; set it fixed first, README.md)
#   --admin-username  the first administrator, created once (default admin); the password is
#                     asked, or generated and printed when there is no terminal
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$SRC/deploy/centre"
PREFIX=/opt/hangdoi
VENV="$PREFIX/venv"
ETC=/etc/hangdoi
DATA=/var/lib/hangdoi
SERVICE_USER=hangdoi
ADMIN=/usr/local/sbin/hangdoi-admin
PORT=8000
UNITS=(hangdoi-server.service hangdoi-backup.service hangdoi-backup.timer)
# Qt's libraries as the server uses them (no screen): `hangdoi voice build` imports the display's
# code. espeak-ng and sox make the voice pack the browser boards (/board) play.
PACKAGES=(python3 python3-venv ca-certificates libegl1 libgl1 libx11-6 libxkbcommon0 libglib2.0-0
    libfontconfig1 libfreetype6 libdbus-1-3 libgssapi-krb5-2 libpulse0 libxrandr2 libxext6 espeak-ng sox)

ADDRESS=""
ADMIN_USERNAME="admin"

say() { printf '\033[1minstall-server:\033[0m %s\n' "$*"; }
die() { printf 'install-server: %s\n' "$*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=install-common.sh
. "$HERE/install-common.sh"

while [ $# -gt 0 ]; do
    case "$1" in
        --address) ADDRESS="${2:?}"; shift 2 ;;
        --admin-username) ADMIN_USERNAME="${2:?}"; shift 2 ;;
        -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "không hiểu tham số / unknown option: $1" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "cần chạy bằng root / run as root (sudo)"
command -v apt-get >/dev/null || die "cần Debian (apt-get) / needs Debian"
if [ -z "$ADDRESS" ]; then
    ADDRESS="$(hostname -I 2>/dev/null | awk '{print $1}')"
    [ -n "$ADDRESS" ] || die "không tìm thấy địa chỉ IP của máy: dùng --address 192.168.1.10"
    say "địa chỉ máy chủ / server address: $ADDRESS (đặt địa chỉ cố định trước, xem README.md)"
fi
[[ "$ADDRESS" =~ ^[0-9A-Za-z.:-]+$ ]] || die "--address không hợp lệ / invalid: $ADDRESS"
BASE_URL="http://$ADDRESS:$PORT"

# 1. Debian packages.
apt_install "${PACKAGES[@]}"

# 2. The service user: no shell, no password, home = the data directory.
if ! getent passwd "$SERVICE_USER" >/dev/null; then
    say "tạo tài khoản dịch vụ / creating system user $SERVICE_USER"
    useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
install -d -o root -g "$SERVICE_USER" -m 0750 "$ETC"
install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0750 "$DATA"

# An upgrade: a backup first, with the version being replaced (older ones have no `backup`).
if [ -f "$DATA/hangdoi.sqlite3" ] && [ -x "$ADMIN" ] &&
    "$ADMIN" backup --help >/dev/null 2>&1; then
    say "sao lưu trước khi nâng cấp / backup before upgrading"
    "$ADMIN" backup
fi

# 3. The program, and this folder next to it.
install_hangdoi
install -m 0755 "$HERE/hangdoi-admin" "$ADMIN"

# 4. Settings: written once, never overwritten (your changes stay).
if [ ! -f "$ETC/hangdoi.env" ]; then
    say "tạo tệp cấu hình / creating $ETC/hangdoi.env"
    install -o root -g "$SERVICE_USER" -m 0640 "$HERE/hangdoi.env.example" "$ETC/hangdoi.env"
    sed -i "s#^HANGDOI_PUBLIC_BASE_URL=.*#HANGDOI_PUBLIC_BASE_URL=$BASE_URL#" "$ETC/hangdoi.env"
fi

# 5. systemd: the server and the backup timer. The server is stopped while the new version
#    brings the database up to date (step 6), then started again.
for unit in "${UNITS[@]}"; do
    install -m 0644 "$HERE/$unit" "/etc/systemd/system/$unit"
done
systemctl daemon-reload
systemctl stop hangdoi-server.service 2>/dev/null || true

# 6. The database and the first administrator (nothing happens if they exist already).
say "cơ sở dữ liệu / database: $DATA/hangdoi.sqlite3"
"$ADMIN" init --admin-username "$ADMIN_USERNAME"

# 7. The voice pack the browser boards (/board) play; the Qt display builds its own.
if [ ! -f "$DATA/voice/vi/pack.json" ]; then
    say "tạo gói giọng đọc / building the voice pack (espeak-ng)"
    "$ADMIN" voice build --out "$DATA/voice/vi" ||
        say "CHÚ Ý: chưa tạo được gói giọng đọc cho /board (README.md, phần giọng đọc)"
fi

systemctl enable hangdoi-server.service hangdoi-backup.timer >/dev/null
systemctl start hangdoi-server.service hangdoi-backup.timer

# 8. Wait for the server to answer (it migrates the database first).
healthy=no
for _ in $(seq 1 60); do
    if python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "http://127.0.0.1:$PORT/api/v1/health" 2>/dev/null; then
        healthy=yes
        break
    fi
    sleep 1
done
[ "$healthy" = yes ] || die "máy chủ chưa trả lời; xem: journalctl -u hangdoi-server -n 50"

say "xong / done: máy chủ chạy tại $BASE_URL"
say "Tiếp theo / next (README.md):"
say "  1. tường lửa / firewall: mở cổng $PORT/tcp cho mạng nội bộ, ví dụ với ufw:"
say "       ufw allow from 192.168.1.0/24 to any port $PORT proto tcp"
say "  2. trang quản trị / admin console: $BASE_URL/admin (tài khoản $ADMIN_USERNAME):"
say "       tạo Trung tâm, lĩnh vực, quầy, cán bộ"
say "  3. mã thiết bị / device tokens (hiện một lần, hãy lưu lại):"
say "       hangdoi-admin device add kiosk --name \"Máy lấy số\" --centre-id 1"
say "       hangdoi-admin device add display --name \"Màn hình phòng chờ\" --centre-id 1"
say "       hangdoi-admin device add counter_panel --name \"Màn hình quầy 1\" --centre-id 1 --counter-id 1"
say "  4. trên từng máy trạm / on each screen:"
say "       sudo bash deploy/centre/install-client.sh kiosk $BASE_URL"
say "  5. sao lưu / backups: systemctl list-timers hangdoi-backup.timer; ls $DATA/backups"
