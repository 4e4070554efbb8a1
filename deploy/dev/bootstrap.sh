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
