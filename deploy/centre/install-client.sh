#!/usr/bin/env bash
# Turns a Debian 12 machine into one screen of a commune centre: the kiosk, the waiting-room TV,
# an officer's counter PC, or the panel above a counter. It installs the Debian packages and
# hangdoi (/opt/hangdoi/venv), creates the screen's local user, writes the app's settings file,
# and makes the machine start the app full screen by itself at power-on: getty logs the user in
# on tty1, ~/.bash_profile starts X with /opt/hangdoi/deploy/centre/xsession, and the user's
# systemd runs the app (and starts it again if it ever stops). Run as root from a copy of the
# source; running it again (to upgrade, or to add the panel to a counter PC) is safe.
# Cài một máy trạm của Trung tâm (máy lấy số, màn hình phòng chờ, máy quầy, màn hình trên quầy).
#
#   sudo bash deploy/centre/install-client.sh kiosk|display|counter|panel SERVER_URL [options]
#
#   SERVER_URL        the centre's server, e.g. http://192.168.1.10:8000
#   --token TOKEN     the device token (hangdoi device add …); asked if missing (kiosk, display,
#                     panel). Asked is better: a command line is visible to every user of the machine.
#   --admin-pin PIN   the kiosk's admin PIN, 4 to 12 digits (to leave full screen); asked if missing
#   --printer SPEC    the kiosk's printer: file:/dev/usb/lp0, usb:0x0416:0x5011, network:IP:9100,
#                     serial:/dev/ttyUSB0[:9600] or none; asked if missing
#   --paper-mm 80|58  the kiosk's paper width (default 80)
#   --user NAME       the screen's local user (default manhinh)
#   --no-autologin    a PC that already has a desktop and its own sign-in (an officer's PC): no
#                     autologin and no X packages; the app starts when this user signs in
#   --settings-only   only write the settings file (e.g. another printer); nothing else changes.
#                     With DESTDIR=/some/dir the file goes under it, and root is not needed.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$SRC/deploy/centre"
PREFIX=/opt/hangdoi
# HANGDOI_VENV: another hangdoi environment to check the settings with (the automated test's).
VENV="${HANGDOI_VENV:-$PREFIX/venv}"
DESTDIR="${DESTDIR:-}"
USER_UNITS=(hangdoi-session.target hangdoi-kiosk.service hangdoi-display.service hangdoi-counter.service
    hangdoi-panel.service hangdoi-hide-cursor.service)
# The Qt libraries the apps need on a screen (deploy/dev/bootstrap.sh has the same list).
QT_PACKAGES=(libegl1 libgl1 libx11-6 libxkbcommon0 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3
    libgssapi-krb5-2 libpulse0 libxrandr2 libxext6 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
    libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0
    libxcb-xkb1 libxkbcommon-x11-0)

ROLE=""
SERVER_URL=""
TOKEN=""
ADMIN_PIN=""
PRINTER=""
PAPER_MM=""
SCREEN_USER=manhinh
AUTOLOGIN=yes
SETTINGS_ONLY=no

say() { printf '\033[1minstall-client:\033[0m %s\n' "$*"; }
die() { printf 'install-client: %s\n' "$*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=install-common.sh
. "$HERE/install-common.sh"

positional=()
while [ $# -gt 0 ]; do
    case "$1" in
        --token) TOKEN="${2:?}"; shift 2 ;;
        --admin-pin) ADMIN_PIN="${2:?}"; shift 2 ;;
        --printer) PRINTER="${2:?}"; shift 2 ;;
        --paper-mm) PAPER_MM="${2:?}"; shift 2 ;;
        --user) SCREEN_USER="${2:?}"; shift 2 ;;
        --no-autologin) AUTOLOGIN=no; shift ;;
        --settings-only) SETTINGS_ONLY=yes; shift ;;
        -h | --help) sed -n '2,24p' "${BASH_SOURCE[0]}"; exit 0 ;;
        -*) die "không hiểu tham số / unknown option: $1" ;;
        *) positional+=("$1"); shift ;;
    esac
done
[[ "$SCREEN_USER" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "tên tài khoản không hợp lệ / invalid user name: $SCREEN_USER"
[ ${#positional[@]} -eq 2 ] || die "cần hai tham số: kiosk|display|counter|panel SERVER_URL (xem --help)"
ROLE="${positional[0]}"
SERVER_URL="${positional[1]%/}"

# What each role runs and where its settings live (the apps read ~/.config/hangdoi/<app>.toml).
case "$ROLE" in
    kiosk) APP=kiosk; UNIT=hangdoi-kiosk.service; NEEDS_TOKEN=yes ;;
    display) APP=display; UNIT=hangdoi-display.service; NEEDS_TOKEN=yes ;;
    counter) APP=counter; UNIT=hangdoi-counter.service; NEEDS_TOKEN=no ;;
    # The panel is `hangdoi counter --panel`: the counter app's settings file, with a counter_panel token.
    panel) APP=counter; UNIT=hangdoi-panel.service; NEEDS_TOKEN=yes ;;
    *) die "vai trò không hợp lệ / unknown role: $ROLE (kiosk, display, counter hoặc panel)" ;;
esac
case "$SERVER_URL" in
    http://?* | https://?*) ;;
    *) die "địa chỉ máy chủ phải bắt đầu bằng http:// hoặc https://, ví dụ http://192.168.1.10:8000" ;;
esac
if [ -n "$PAPER_MM" ] && [ "$PAPER_MM" != 80 ] && [ "$PAPER_MM" != 58 ]; then
    die "--paper-mm phải là 80 hoặc 58"
fi

# --- The settings file --------------------------------------------------------------------------

home_of() { getent passwd "$1" | cut -d: -f6; }

# current_value KEY: the value the settings file already has for KEY, or nothing.
current_value() {
    [ -f "$SETTINGS_FILE" ] || return 0
    python3 - "$SETTINGS_FILE" "$1" <<'PY' 2>/dev/null || true
import sys, tomllib
value = tomllib.load(open(sys.argv[1], "rb")).get(sys.argv[2], "")
print(value if isinstance(value, str | int) else "")
PY
}

# ask_secret PROMPT: reads a line from the terminal without showing it.
ask_secret() {
    local answer
    read -r -s -p "$1" answer </dev/tty
    printf '\n' >/dev/tty
    printf '%s' "$answer"
}

can_ask() { [ -t 0 ] && [ -r /dev/tty ]; }

collect_settings() {
    if [ "$NEEDS_TOKEN" = yes ] && [ -z "$TOKEN" ] && [ -z "$(current_value token)" ]; then
        can_ask || die "thiếu mã thiết bị: --token (tạo bằng: hangdoi-admin device add … trên máy chủ)"
        TOKEN="$(ask_secret "Mã thiết bị (device token) cho $ROLE: ")"
        [ -n "$TOKEN" ] || die "chưa nhập mã thiết bị"
    fi
    if [ "$ROLE" = kiosk ]; then
        if [ -z "$ADMIN_PIN" ] && [ -z "$(current_value admin_pin)" ]; then
            can_ask || die "thiếu mã PIN quản trị của máy lấy số: --admin-pin (4 đến 12 chữ số)"
            ADMIN_PIN="$(ask_secret "Mã PIN quản trị của máy lấy số (4–12 chữ số): ")"
            [ "$(ask_secret "Nhập lại mã PIN: ")" = "$ADMIN_PIN" ] || die "hai lần nhập mã PIN không khớp"
        fi
        if [ -n "$ADMIN_PIN" ] && ! [[ "$ADMIN_PIN" =~ ^[0-9]{4,12}$ ]]; then
            die "mã PIN quản trị phải gồm 4 đến 12 chữ số (bàn phím số trên màn hình chỉ có chữ số)"
        fi
        if [ -z "$PRINTER" ] && [ -z "$(current_value printer)" ] && can_ask; then
            say "máy in phiếu (README.md, phần máy in):"
            for node in /dev/usb/lp*; do
                [ -e "$node" ] && say "  máy in USB đã nhận (usblp): file:$node"
            done
            if command -v lsusb >/dev/null; then
                lsusb | sed 's/^/  USB: /'
            fi
            read -r -p "Máy in (file:/dev/usb/lp0, usb:VID:PID, network:IP:9100; Enter = không có): " PRINTER </dev/tty
            PRINTER="${PRINTER:-none}"
        fi
    fi
}

# write_settings_file: the values into a copy of the file, checked, then put in place, so a
# refused value never replaces a working file.
write_settings_file() {
    local new="$SETTINGS_FILE.new"
    rm -f "$new"
    if [ -f "$SETTINGS_FILE" ]; then
        install -m 0600 "$SETTINGS_FILE" "$new"
    fi
    # Values on standard input, never on a command line (README.md: tokens are secrets).
    {
        printf 'server_url=%s\n' "$SERVER_URL"
        printf 'token=%s\n' "$TOKEN"
        if [ "$ROLE" = kiosk ]; then
            printf 'admin_pin=%s\n' "$ADMIN_PIN"
            printf 'printer=%s\n' "$PRINTER"
            printf 'paper_mm=%s\n' "$PAPER_MM"
        fi
    } | python3 "$HERE/write_settings.py" "$new" || { rm -f "$new"; die "không ghi được $SETTINGS_FILE"; }
    if ! check_settings "$new"; then
        rm -f "$new"
        die "tệp cấu hình chưa dùng được, không thay đổi gì / the app would refuse these settings"
    fi
    chown "$SCREEN_USER:$(id -gn "$SCREEN_USER")" "$new"
    mv -f "$new" "$SETTINGS_FILE"
    say "đã ghi cấu hình / settings written: $SETTINGS_FILE (quyền 0600)"
}

# check_settings FILE: the app's own settings classes read the file, as the app will at start.
check_settings() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "chưa có $VENV: bỏ qua bước kiểm tra cấu hình (settings not checked)"
        return 0
    fi
    "$VENV/bin/python" - "$ROLE" "$APP" "$1" <<'PY'
import os, sys
role, app, path = sys.argv[1:]
# Exactly what the app will read: this file, with no HANGDOI_<APP>_ variable of the installer's shell.
for key in [k for k in os.environ if k.startswith(f"HANGDOI_{app.upper()}_")]:
    del os.environ[key]
os.environ[f"HANGDOI_{app.upper()}_CONFIG"] = path
from pydantic import ValidationError
problems = []
try:
    if app == "kiosk":
        from kiosk.main import printer_config
        from kiosk.settings import KioskSettings
        settings = KioskSettings()
        try:
            printer = printer_config(settings).describe()
        except ValueError as error:
            problems.append(str(error))
            printer = "?"
        if not settings.admin_pin:
            problems.append("thiếu admin_pin: máy lấy số toàn màn hình không chạy khi chưa có mã PIN")
        print(f"máy lấy số: máy chủ {settings.server_url}, máy in {printer}, khổ giấy {settings.paper_mm} mm")
    elif app == "display":
        from display.settings import DisplaySettings
        settings = DisplaySettings()
        print(f"màn hình phòng chờ: máy chủ {settings.server_url}")
    else:
        from counter.settings import CounterSettings
        settings = CounterSettings()
        print(f"quầy: máy chủ {settings.server_url}")
except ValidationError as error:
    print(f"Lỗi: giá trị không hợp lệ trong {path}:\n{error}", file=sys.stderr)
    sys.exit(1)
if role != "counter" and not settings.token:
    problems.append("thiếu token (mã thiết bị)")
for problem in problems:
    print(f"Lỗi: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

settings_step() {
    local home
    getent passwd "$SCREEN_USER" >/dev/null || die "không có tài khoản $SCREEN_USER"
    home="$(home_of "$SCREEN_USER")"
    SETTINGS_DIR="$DESTDIR$home/.config/hangdoi"
    SETTINGS_FILE="$SETTINGS_DIR/$APP.toml"
    collect_settings
    install -d -m 0700 -o "$SCREEN_USER" -g "$(id -gn "$SCREEN_USER")" "$SETTINGS_DIR"
    write_settings_file
}

if [ "$SETTINGS_ONLY" = yes ]; then
    [ "$(id -u)" -eq 0 ] || [ -n "$DESTDIR" ] || die "cần chạy bằng root / run as root (sudo)"
    settings_step
    exit 0
fi

# --- The whole machine --------------------------------------------------------------------------

[ "$(id -u)" -eq 0 ] || die "cần chạy bằng root / run as root (sudo)"
[ -z "$DESTDIR" ] || die "DESTDIR chỉ dùng với --settings-only"
command -v apt-get >/dev/null || die "cần Debian (apt-get) / needs Debian"

# 1. Debian packages: Python, Qt's libraries, and what this role needs.
packages=(python3 python3-venv ca-certificates dbus-user-session "${QT_PACKAGES[@]}")
if [ "$AUTOLOGIN" = yes ]; then
    # A minimal X: the server with its input and video drivers, the Mesa drivers and the wrapper
    # that lets X start from a console on any graphics card (Debian recommends both), startx, and
    # xset/xrandr.
    packages+=(xserver-xorg xserver-xorg-legacy libgl1-mesa-dri xinit x11-xserver-utils)
fi
case "$ROLE" in
    # libusb for usb:VID:PID printers, lsusb to find those numbers, unclutter to hide the pointer.
    kiosk) packages+=(libusb-1.0-0 usbutils unclutter-xfixes) ;;
    # espeak-ng and sox build the voice pack; PipeWire plays it (Qt speaks PulseAudio's protocol).
    display) packages+=(unclutter-xfixes espeak-ng sox pipewire-pulse wireplumber pulseaudio-utils) ;;
esac
apt_install "${packages[@]}"

# 2. The screen's user: a normal local account with no password (nobody signs in as it by hand;
#    getty logs it in on tty1). The kiosk's user may use the printer: lp for /dev/usb/lp0 and the
#    USB printers of 60-hangdoi-printers.rules, dialout for serial printers.
if [ "$AUTOLOGIN" = no ] && ! getent passwd "$SCREEN_USER" >/dev/null; then
    # --no-autologin is for an existing account that someone signs in to with its own password.
    die "không có tài khoản $SCREEN_USER: với --no-autologin hãy dùng tài khoản có sẵn của cán bộ (--user)"
fi
if ! getent passwd "$SCREEN_USER" >/dev/null; then
    say "tạo tài khoản / creating user $SCREEN_USER"
    useradd --create-home --user-group --shell /bin/bash --comment "Màn hình hangdoi" "$SCREEN_USER"
fi
SCREEN_GROUP="$(id -gn "$SCREEN_USER")"
SCREEN_HOME="$(home_of "$SCREEN_USER")"
if [ "$ROLE" = kiosk ]; then
    usermod -a -G lp,dialout "$SCREEN_USER"
fi

# 3. hangdoi itself, and this folder next to it.
install_hangdoi
# startx runs the session file itself: executable whatever the copy of the source lost (a FAT stick).
chmod 0755 "$PREFIX/deploy/centre/xsession"

# 4. The settings file (asks for what is missing).
settings_step

# 5. The apps as systemd user units, enabled for this user only: they start with its graphical
#    session. The files live in /etc/systemd/user (root's), the links in the user's home.
install -d -m 0755 /etc/systemd/user
for unit in "${USER_UNITS[@]}"; do
    install -m 0644 "$HERE/$unit" "/etc/systemd/user/$unit"
done
wants="$SCREEN_HOME/.config/systemd/user/graphical-session.target.wants"
for dir in "$SCREEN_HOME/.config" "$SCREEN_HOME/.config/systemd" "$SCREEN_HOME/.config/systemd/user" "$wants"; do
    install -d -o "$SCREEN_USER" -g "$SCREEN_GROUP" -m 0755 "$dir"
done
enabled=("$UNIT")
# The pointer is hidden where nobody uses a mouse; an officer needs one.
if [ "$ROLE" = kiosk ] || [ "$ROLE" = display ]; then
    enabled+=(hangdoi-hide-cursor.service)
fi
for unit in "${enabled[@]}"; do
    ln -sfn "/etc/systemd/user/$unit" "$wants/$unit"
    chown -h "$SCREEN_USER:$SCREEN_GROUP" "$wants/$unit"
done
say "đã bật / enabled for $SCREEN_USER: ${enabled[*]}"

# 6. The kiosk's printer: the udev rule, applied to printers already plugged in.
if [ "$ROLE" = kiosk ]; then
    install -m 0644 "$HERE/60-hangdoi-printers.rules" /etc/udev/rules.d/60-hangdoi-printers.rules
    if command -v udevadm >/dev/null; then
        udevadm control --reload || true
        udevadm trigger --subsystem-match=usb --subsystem-match=usbmisc || true
    fi
fi

# 7. The display's voice pack, built now rather than at the first start (and any problem seen now).
if [ "$ROLE" = display ] && [ ! -f "$SCREEN_HOME/.local/share/hangdoi/voice/vi/pack.json" ]; then
    say "tạo gói giọng đọc / building the voice pack (espeak-ng)"
    pack="$SCREEN_HOME/.local/share/hangdoi/voice/vi"
    (cd "$SCREEN_HOME" && runuser -u "$SCREEN_USER" -- "$VENV/bin/hangdoi" voice build --out "$pack") ||
        say "CHÚ Ý: chưa tạo được gói giọng đọc; màn hình sẽ thử lại khi khởi động (README.md)"
fi

# 8. Starting by itself at power-on.
if [ "$AUTOLOGIN" = yes ]; then
    # getty logs the user in on tty1; its ~/.bash_profile starts X with the hangdoi session.
    install -d -m 0755 /etc/systemd/system/getty@tty1.service.d
    sed "s/@USER@/$SCREEN_USER/" "$HERE/autologin.conf.in" >/etc/systemd/system/getty@tty1.service.d/autologin.conf
    install -m 0644 -o root -g root "$HERE/bash_profile" "$SCREEN_HOME/.bash_profile"
    # The X server never blanks the screen or lets the TV sleep.
    install -d -m 0755 /etc/X11/xorg.conf.d
    install -m 0644 "$HERE/10-hangdoi-screen.conf" /etc/X11/xorg.conf.d/10-hangdoi-screen.conf
    systemctl daemon-reload
    systemctl enable getty@tty1.service >/dev/null 2>&1 || true
else
    # An existing desktop: start the session target when the user signs in. GNOME starts
    # graphical-session.target itself; other desktops (Xfce, MATE, LXQt) need this.
    install -d -m 0755 /etc/xdg/autostart
    install -m 0644 "$HERE/hangdoi-session.desktop" /etc/xdg/autostart/hangdoi-session.desktop
fi

say "xong / done: $ROLE cho tài khoản $SCREEN_USER, máy chủ $SERVER_URL"
if [ "$ROLE" = kiosk ]; then
    say "  thử máy in / test print: runuser -u $SCREEN_USER -- $VENV/bin/hangdoi kiosk --test-print"
fi
if [ "$AUTOLOGIN" = yes ]; then
    say "  khởi động lại máy để bắt đầu / reboot to start: sudo reboot"
else
    say "  đăng xuất rồi đăng nhập lại bằng $SCREEN_USER để ứng dụng tự chạy (sign out and in again)"
fi
