#!/usr/bin/env bash
# Puts hangdoi in place on a Debian server for a province: the Python environment in /opt/hangdoi,
# the service user, the systemd units, the settings file, the nginx site. Run as root from a copy
# of the source; running it again (after an upgrade, or with other --ports) is safe.
# Cài hangdoi lên máy chủ Debian của tỉnh. Chạy bằng root; chạy lại nhiều lần cũng không sao.
#
#   sudo bash deploy/province/install.sh --server-name hangdoi.example.gov.vn \
#       [--ports 8001-8004] [--cert FULLCHAIN.pem --key PRIVKEY.pem] [--local-postgres] [--start]
#
#   --server-name   the name citizens' phones reach (several: quoted, space-separated)
#   --ports         the instances hangdoi@<port> on 127.0.0.1 (default 8001-8002); instances not
#                   listed any more are disabled
#   --cert, --key   TLS certificate (full chain) and key; default: Let's Encrypt's for the name if
#                   present, else a self-signed placeholder until you have one (README.md)
#   --local-postgres  install PostgreSQL here and create the role and database (setup-postgres.sh)
#   --start         (re)start nginx and every instance at the end
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$SRC/deploy/province"
PREFIX=/opt/hangdoi
VENV="$PREFIX/venv"
ETC=/etc/hangdoi
DATA=/var/lib/hangdoi
ACME_ROOT=/var/www/letsencrypt
SERVICE_USER=hangdoi
UNITS=(hangdoi@.service hangdoi-migrate.service hangdoi.target)

SERVER_NAME=""
PORTS="8001-8002"
CERT=""
KEY=""
LOCAL_POSTGRES=no
START=no

say() { printf '\033[1minstall:\033[0m %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --server-name) SERVER_NAME="${2:?}"; shift 2 ;;
        --ports) PORTS="${2:?}"; shift 2 ;;
        --cert) CERT="${2:?}"; shift 2 ;;
        --key) KEY="${2:?}"; shift 2 ;;
        --local-postgres) LOCAL_POSTGRES=yes; shift ;;
        --start) START=yes; shift ;;
        -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "không hiểu tham số / unknown option: $1" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "cần chạy bằng root / run as root (sudo)"
[ -n "$SERVER_NAME" ] || die "thiếu --server-name (tên miền, e.g. hangdoi.example.gov.vn)"
command -v apt-get >/dev/null || die "cần Debian (apt-get) / needs Debian"
if { [ -n "$CERT" ] && [ -z "$KEY" ]; } || { [ -z "$CERT" ] && [ -n "$KEY" ]; }; then
    die "--cert và --key phải đi cùng nhau / give both --cert and --key"
fi
# 1. Debian packages.
packages=(python3 python3-venv nginx openssl ca-certificates)
[ "$LOCAL_POSTGRES" = yes ] && packages+=(postgresql)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "cài gói Debian / installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# The ports, one a line, checked by the same code that renders nginx, before anything else changes.
PORT_LIST=()
mapfile -t PORT_LIST < <(PYTHONDONTWRITEBYTECODE=1 python3 - "$HERE" "$PORTS" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from render_nginx import parse_ports
try:
    print("\n".join(str(port) for port in parse_ports(sys.argv[2])))
except ValueError as error:
    print(f"install: --ports: {error}", file=sys.stderr)
PY
)
[ ${#PORT_LIST[@]} -gt 0 ] || die "--ports không hợp lệ / invalid --ports: $PORTS"
# The first name is the one in the public address and the certificate's default location.
first_name="${SERVER_NAME%% *}"

# 2. The service user: no shell, no password, home = the data directory.
if ! getent passwd "$SERVICE_USER" >/dev/null; then
    say "tạo tài khoản dịch vụ / creating system user $SERVICE_USER"
    useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
install -d -o root -g "$SERVICE_USER" -m 0750 "$ETC"
install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0750 "$DATA"

# 3. The Python environment: a plain (not editable) install, so the source copy can go away.
if [ ! -x "$VENV/bin/python" ]; then
    say "tạo môi trường Python / creating $VENV"
    install -d -m 0755 "$PREFIX"
    python3 -m venv "$VENV"
fi
say "cài hangdoi vào / installing hangdoi into $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SRC"
# This folder (README, templates, scripts) next to the installed program, for later runs.
install -d -m 0755 "$PREFIX/deploy/province"
cp -a "$HERE/." "$PREFIX/deploy/province/"
install -m 0755 "$HERE/hangdoi-admin" /usr/local/sbin/hangdoi-admin

# 4. The database (only with --local-postgres; otherwise see README.md).
database_line=""
if [ "$LOCAL_POSTGRES" = yes ]; then
    systemctl enable --now postgresql >/dev/null 2>&1 || true
    database_line="$(bash "$HERE/setup-postgres.sh")"
fi

# 5. Settings: written once, never overwritten (it holds the password and your changes).
if [ ! -f "$ETC/hangdoi.env" ]; then
    say "tạo tệp cấu hình / creating $ETC/hangdoi.env"
    install -o root -g "$SERVICE_USER" -m 0640 "$HERE/hangdoi.env.example" "$ETC/hangdoi.env"
    sed -i "s#^HANGDOI_PUBLIC_BASE_URL=.*#HANGDOI_PUBLIC_BASE_URL=https://$first_name#" "$ETC/hangdoi.env"
fi
# A fresh password from setup-postgres.sh goes into the file; an existing one stays as it is.
if [[ "$database_line" == HANGDOI_DATABASE_URL=*://*:*@* && "$database_line" != *"<"* ]]; then
    sed -i "s#^HANGDOI_DATABASE_URL=.*#$database_line#" "$ETC/hangdoi.env"
fi
if grep -q "CHANGE-ME" "$ETC/hangdoi.env"; then
    say "CHÚ Ý / NOTE: đặt HANGDOI_DATABASE_URL trong $ETC/hangdoi.env (set the database URL)"
fi

# 6. systemd: the units, the target, one enabled instance per port.
for unit in "${UNITS[@]}"; do
    install -m 0644 "$HERE/$unit" "/etc/systemd/system/$unit"
done
systemctl daemon-reload
systemctl enable hangdoi.target hangdoi-migrate.service >/dev/null
for port in "${PORT_LIST[@]}"; do
    systemctl enable "hangdoi@$port.service" >/dev/null
done

# 7. TLS certificate: given, else Let's Encrypt's, else a self-signed placeholder so nginx starts
#    (and can answer certbot's challenge on port 80).
if [ -z "$CERT" ]; then
    if [ -f "/etc/letsencrypt/live/$first_name/fullchain.pem" ]; then
        CERT="/etc/letsencrypt/live/$first_name/fullchain.pem"
        KEY="/etc/letsencrypt/live/$first_name/privkey.pem"
    else
        CERT="$ETC/tls/selfsigned.crt"
        KEY="$ETC/tls/selfsigned.key"
        if [ ! -f "$CERT" ]; then
            say "CHÚ Ý / NOTE: chưa có chứng chỉ, tạo chứng chỉ tự ký tạm thời (temporary self-signed certificate)"
            install -d -o root -g root -m 0700 "$ETC/tls"
            openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$first_name" \
                -addext "subjectAltName=DNS:$first_name" -keyout "$KEY" -out "$CERT" 2>/dev/null
            chmod 0600 "$KEY"
        fi
    fi
fi
{ [ -f "$CERT" ] && [ -f "$KEY" ]; } || die "không thấy chứng chỉ / certificate not found: $CERT, $KEY"

# 8. nginx: render the site, check the whole configuration, then reload.
install -d -m 0755 "$ACME_ROOT"
python3 "$HERE/render_nginx.py" --server-name "$SERVER_NAME" --ports "$PORTS" --cert "$CERT" --key "$KEY" \
    --acme-root "$ACME_ROOT" --output /etc/nginx/sites-available/hangdoi
ln -sfn /etc/nginx/sites-available/hangdoi /etc/nginx/sites-enabled/hangdoi
nginx -t -q || die "nginx -t thất bại / nginx configuration check failed"
systemctl enable nginx >/dev/null
systemctl reload-or-restart nginx

# Instances no longer listed: stopped only now that nginx sends them nothing more.
for wanted in /etc/systemd/system/hangdoi.target.wants/hangdoi@*.service; do
    [ -e "$wanted" ] || continue
    port="${wanted##*/hangdoi@}"; port="${port%.service}"
    if ! printf '%s\n' "${PORT_LIST[@]}" | grep -qx "$port"; then
        say "tắt phiên bản / disabling hangdoi@$port"
        systemctl disable --now "hangdoi@$port.service" >/dev/null
    fi
done

# 9. Start, or say how to.
if [ "$START" = yes ]; then
    say "khởi động / starting hangdoi.target"
    systemctl restart hangdoi.target
    systemctl --no-pager --lines=0 status 'hangdoi@*' || true
else
    say "xong / done. Tiếp theo / next:"
    say "  1. kiểm tra $ETC/hangdoi.env (HANGDOI_DATABASE_URL, HANGDOI_WORKERS)"
    say "  2. systemctl start hangdoi.target"
    say "  3. hangdoi-admin init --admin-username admin"
    say "  4. curl https://$first_name/api/v1/health"
fi
