# shellcheck shell=bash
# Sourced by install-server.sh and install-client.sh: the steps both take the same way. They set
# say, SRC, HERE, PREFIX and VENV before sourcing this.

# apt_install PKG...: installs those of the Debian packages that are not installed yet.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "cài gói Debian / installing: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# install_hangdoi: hangdoi from the source copy into $VENV, a plain (not editable) install so the
# source copy can go away, and this folder (guides, units, scripts, the X session) next to it for
# later runs.
install_hangdoi() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "tạo môi trường Python / creating $VENV"
        install -d -m 0755 "$PREFIX"
        python3 -m venv "$VENV"
    fi
    say "cài hangdoi vào / installing hangdoi into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SRC"
    install -d -m 0755 "$PREFIX/deploy/centre"
    cp -a "$HERE/." "$PREFIX/deploy/centre/"
}
