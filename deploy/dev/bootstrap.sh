# Sourced by run-demo.sh and run-tests.sh: finds Python >= 3.11, installs the Debian packages
# that are missing (only those), and keeps a virtual environment in .venv up to date.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"

say() {
    if [ -t 1 ]; then printf '\033[1mhangdoi:\033[0m %s\n' "$*"; else printf 'hangdoi: %s\n' "$*"; fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "cần quyền root để cài gói Debian: $* (needs root to install Debian packages)"; return 1
    fi
}

# apt_install PKG...: installs those of the packages that are not installed yet.
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { say "thiếu gói ${missing[*]} và không có apt-get để cài"; return 1; }
    say "cài gói Debian: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_app_packages [test]: the Debian libraries Qt needs (also offscreen), sound for the voice,
# espeak-ng and sox to build the voice pack, libusb for USB printers; with "test", the tools the
# tests read printed tickets with (zbarimg, tesseract with Vietnamese) and the browser the web
# rating page is tested in (chromium, driven by the playwright package; no browser download),
# what the province deployment test runs: nginx, openssl, psql and systemd-analyze, and what the
# centre deployment test checks its scripts and units with: shellcheck and unclutter (xfixes).
ensure_app_packages() {
    local packages=(libegl1 libgl1 libx11-6 libxkbcommon0 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3
        libgssapi-krb5-2 libpulse0 libxrandr2 libxext6 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
        libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0
        libxcb-xkb1 libxkbcommon-x11-0 espeak-ng sox libusb-1.0-0)
    if [ "${1:-}" = "test" ]; then
        packages+=(zbar-tools tesseract-ocr tesseract-ocr-vie chromium nginx openssl postgresql-client systemd
            shellcheck unclutter-xfixes)
    fi
    apt_install "${packages[@]}"
}

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    say "cần Python 3.11 trở lên (needs Python >= 3.11)"; return 1
}

# ensure_venv [EXTRA]: .venv with hangdoi installed (editable), plus the optional extra (e.g. test).
ensure_venv() {
    local extra="${1:-}" python stamp spec
    python="$(find_python)"
    # Debian's own python3 ships venv and ensurepip separately.
    if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
        apt_install python3-venv
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        say "tạo môi trường ảo $VENV"
        "$python" -m venv "$VENV"
    fi
    spec="$ROOT"; [ -n "$extra" ] && spec="$ROOT[$extra]"
    # Reinstall only when pyproject.toml changed since the last install of this extra (an install
    # with the test extra includes the main packages).
    stamp="$VENV/.installed-${extra:-main}"
    if [ -z "$extra" ] && [ -f "$VENV/.installed-test" ] && [ "$VENV/.installed-test" -nt "$ROOT/pyproject.toml" ]; then
        return 0
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        say "cài các gói Python (pip install -e .${extra:+[$extra]})"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$spec"
        touch "$stamp"
    fi
}

# ensure_postgres: the PostgreSQL tests need a server. Use HANGDOI_TEST_POSTGRES_URL if set, else
# the one on 127.0.0.1:5432 (trust auth, database test); if none answers, start a throwaway one
# (Debian's postgresql package, a cluster in a temporary folder on port 55432, stopped on exit).
PG_THROWAWAY=""
PG_BINDIR=""
PG_AS=()
postgres_answers() {
    "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys
import psycopg
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database, connect_timeout=3).close()
PY
}
ensure_postgres() {
    local url="${HANGDOI_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
    if postgres_answers "$url"; then export HANGDOI_TEST_POSTGRES_URL="$url"; return 0; fi
    say "PostgreSQL không trả lời tại $url: khởi động một máy chủ tạm (starting a throwaway PostgreSQL)"
    PG_BINDIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$PG_BINDIR" ]; then
        apt_install postgresql || true
        PG_BINDIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    fi
    if [ -z "$PG_BINDIR" ]; then
        say "không cài được PostgreSQL: các bài kiểm tra PostgreSQL sẽ báo lỗi (CI) hoặc bị bỏ qua"; return 0
    fi
    PG_THROWAWAY="$(mktemp -d /tmp/hangdoi-pg.XXXXXX)"
    # initdb refuses to run as root: as root, run the cluster as Debian's postgres user.
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_THROWAWAY"; PG_AS=(runuser -u postgres --); fi
    trap stop_postgres EXIT
    if "${PG_AS[@]}" "$PG_BINDIR/initdb" -D "$PG_THROWAWAY/data" -A trust -U postgres >/dev/null &&
        "${PG_AS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_THROWAWAY/data" -l "$PG_THROWAWAY/log" -w \
            -o "-p 55432 -k $PG_THROWAWAY -c listen_addresses=127.0.0.1" start >/dev/null; then
        export HANGDOI_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:55432/postgres"
    else
        say "không khởi động được PostgreSQL tạm (xem $PG_THROWAWAY/log)"
    fi
}
stop_postgres() {
    [ -n "$PG_THROWAWAY" ] || return 0
    "${PG_AS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_THROWAWAY/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_THROWAWAY"
}
