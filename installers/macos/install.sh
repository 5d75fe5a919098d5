#!/bin/sh
# Install the homediag agent on macOS as a launchd daemon.
#
#   sudo ./install.sh [--code CODE --cloud URL] [options]
#
# What it does (installers/README.md has the whole story):
#   - a hidden system user and group _homediag (alias homediag; no shell, no home);
#   - the agent in its own virtual environment, /usr/local/homediag/venv, owned by root;
#   - configuration /etc/homediag/agent.toml (kept when it exists);
#   - state /usr/local/var/homediag (0700, owned by _homediag); logs /Library/Logs/homediag;
#   - /Library/LaunchDaemons/net.homediag.agent.plist, loaded and started;
#   - with --code and --cloud, enrollment (run as _homediag, so its files are its own).
#
# Options:
#   --source SPEC      a wheel, an sdist or a source tree of homediag (default: `homediag` from the index)
#   --find-links DIR   look for wheels in DIR as well
#   --no-index         do not use a package index (with --find-links)
#   --python PATH      Python >= 3.11 (default: the newest of python.org's and Homebrew's); Apple's
#                      /usr/bin/python3 is too old
#   --cloud URL        the cloud to enroll with (with --code)
#   --code CODE        the one-time pairing code (with --cloud)
#   --upgrade          replace the installed agent; configuration, identity and outbox are kept
#   -h, --help         this text
set -eu

PREFIX=/usr/local/homediag
VENV=$PREFIX/venv
CONF_DIR=/etc/homediag
STATE_DIR=/usr/local/var/homediag
LOG_DIR=/Library/Logs/homediag
LABEL=net.homediag.agent
PLIST=/Library/LaunchDaemons/$LABEL.plist
BIN_LINK=/usr/local/bin/homediag-agent
USER_NAME=_homediag
ALIAS=homediag
HERE=$(cd "$(dirname "$0")" && pwd)

SOURCE=homediag
FIND_LINKS=
NO_INDEX=
PYTHON=
CLOUD=
CODE=
UPGRADE=

say() { printf 'homediag: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
need_arg() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value"; fi; }

while [ $# -gt 0 ]; do
    case "$1" in
        --source) need_arg "$@"; SOURCE=$2; shift 2 ;;
        --find-links) need_arg "$@"; FIND_LINKS=$2; shift 2 ;;
        --no-index) NO_INDEX=yes; shift ;;
        --python) need_arg "$@"; PYTHON=$2; shift 2 ;;
        --cloud) need_arg "$@"; CLOUD=$2; shift 2 ;;
        --code) need_arg "$@"; CODE=$2; shift 2 ;;
        --upgrade) UPGRADE=yes; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option $1" ;;
    esac
done

[ "$(uname -s)" = Darwin ] || die "this installer is for macOS; see installers/linux for Linux"
[ "$(id -u)" -eq 0 ] || die "run with sudo (it creates a system user and a launchd daemon)"
if { [ -n "$CODE" ] && [ -z "$CLOUD" ]; } || { [ -z "$CODE" ] && [ -n "$CLOUD" ]; }; then
    die "--code and --cloud go together"
fi
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }
if [ -e "$SOURCE" ]; then SOURCE=$(absolute "$SOURCE"); fi
if [ -n "$FIND_LINKS" ]; then FIND_LINKS=$(absolute "$FIND_LINKS"); fi
cd /

if [ -e "$VENV" ] && [ -z "$UPGRADE" ]; then die "already installed; use --upgrade"; fi
if [ -n "$UPGRADE" ] && [ ! -e "$VENV" ]; then die "nothing to upgrade; install first"; fi
if [ -n "$CODE" ] && [ -e "$STATE_DIR/enrollment.json" ]; then
    die "$STATE_DIR already holds an enrollment; uninstall (without --keep-identity) to enroll anew"
fi

# --- the interpreter -----------------------------------------------------------------------------
if [ -z "$PYTHON" ]; then
    for candidate in \
        /Library/Frameworks/Python.framework/Versions/3.13/bin/python3 \
        /Library/Frameworks/Python.framework/Versions/3.12/bin/python3 \
        /Library/Frameworks/Python.framework/Versions/3.11/bin/python3 \
        /opt/homebrew/bin/python3.13 /opt/homebrew/bin/python3.12 /opt/homebrew/bin/python3.11 \
        /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/local/bin/python3.11; do
        if [ -x "$candidate" ]; then PYTHON=$candidate; break; fi
    done
fi
if [ -z "$PYTHON" ] || [ ! -x "$PYTHON" ]; then
    die "no Python >= 3.11 found (python.org or Homebrew); give one with --python"
fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "$PYTHON is older than Python 3.11"

# --- the user ------------------------------------------------------------------------------------
if ! dscl . -read "/Users/$USER_NAME" >/dev/null 2>&1; then
    # A free id below 500: hidden from the login window, like Apple's own daemons' users.
    id_free() { ! dscl . -search /Users UniqueID "$1" | grep -q . && ! dscl . -search /Groups PrimaryGroupID "$1" | grep -q .; }
    NEW_ID=
    for candidate in $(seq 300 499); do
        if id_free "$candidate"; then NEW_ID=$candidate; break; fi
    done
    [ -n "$NEW_ID" ] || die "no free system uid between 300 and 499"
    say "creating system user $USER_NAME ($NEW_ID)"
    dscl . -create "/Groups/$USER_NAME"
    dscl . -create "/Groups/$USER_NAME" RecordName "$USER_NAME" "$ALIAS"
    dscl . -create "/Groups/$USER_NAME" PrimaryGroupID "$NEW_ID"
    dscl . -create "/Groups/$USER_NAME" Password '*'
    dscl . -create "/Users/$USER_NAME"
    dscl . -create "/Users/$USER_NAME" RecordName "$USER_NAME" "$ALIAS"
    dscl . -create "/Users/$USER_NAME" UniqueID "$NEW_ID"
    dscl . -create "/Users/$USER_NAME" PrimaryGroupID "$NEW_ID"
    dscl . -create "/Users/$USER_NAME" UserShell /usr/bin/false
    dscl . -create "/Users/$USER_NAME" NFSHomeDirectory /var/empty
    dscl . -create "/Users/$USER_NAME" RealName "homediag agent"
    dscl . -create "/Users/$USER_NAME" Password '*'
    dscl . -create "/Users/$USER_NAME" IsHidden 1
fi

# --- files ---------------------------------------------------------------------------------------
install -d -m 0755 -o root -g wheel "$PREFIX" "$CONF_DIR" "$(dirname "$BIN_LINK")"
install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$STATE_DIR"
install -d -m 0750 -o "$USER_NAME" -g admin "$LOG_DIR"
chown -R "$USER_NAME:$USER_NAME" "$STATE_DIR"

NEW=$PREFIX/venv.new
rm -rf "$NEW"
trap 'rm -rf "$NEW"' EXIT
say "creating the virtual environment ($("$PYTHON" -V 2>&1))"
"$PYTHON" -m venv "$NEW"
set -- --no-cache-dir --disable-pip-version-check --no-compile --quiet
[ -n "$NO_INDEX" ] && set -- "$@" --no-index
[ -n "$FIND_LINKS" ] && set -- "$@" --find-links "$FIND_LINKS"
say "installing ${SOURCE}[agent]"
"$NEW/bin/python" -I -m pip install "$@" "${SOURCE}[agent]"
for file in "$NEW"/bin/* "$NEW/pyvenv.cfg"; do
    if [ ! -f "$file" ] || [ -L "$file" ]; then continue; fi
    if grep -Iq "$NEW" "$file"; then
        sed "s|$NEW|$VENV|g" "$file" >"$file.tmp" && cat "$file.tmp" >"$file" && rm -f "$file.tmp"
    fi
done
"$NEW/bin/python" -I -m compileall -q -j 0 -s "$NEW" -p "$VENV" \
    -x '/site-packages/(pip|setuptools|pkg_resources|_distutils_hack)/' "$NEW/lib" >/dev/null
chown -R root:wheel "$NEW"
chmod -R go-w "$NEW"

if [ -n "$UPGRADE" ]; then
    launchctl bootout "system/$LABEL" 2>/dev/null || true
    mv "$VENV" "$PREFIX/venv.old"
    mv "$NEW" "$VENV"
    rm -rf "$PREFIX/venv.old"
else
    mv "$NEW" "$VENV"
fi
trap - EXIT
ln -sfn "$VENV/bin/homediag-agent" "$BIN_LINK"

if [ ! -e "$CONF_DIR/agent.toml" ]; then
    sed "s|^state_dir = .*|state_dir = \"$STATE_DIR\"|" "$HERE/../linux/agent.toml" >"$CONF_DIR/agent.toml"
    chmod 0644 "$CONF_DIR/agent.toml"
fi
install -m 0644 -o root -g wheel "$HERE/$LABEL.plist" "$PLIST"
plutil -lint "$PLIST" >/dev/null

if [ -n "$CODE" ]; then
    say "enrolling with $CLOUD"
    sudo -u "$USER_NAME" "$VENV/bin/python" -I -m agent --config "$CONF_DIR/agent.toml" \
        enroll --cloud "$CLOUD" --code "$CODE"
fi

if [ -e "$STATE_DIR/enrollment.json" ]; then
    launchctl bootout "system/$LABEL" 2>/dev/null || true
    launchctl bootstrap system "$PLIST"
    launchctl enable "system/$LABEL"
    say "started $LABEL (logs in $LOG_DIR; homediag-agent status)"
else
    say "not enrolled yet: sudo -u $USER_NAME homediag-agent enroll --cloud URL --code CODE," \
        "then sudo launchctl bootstrap system $PLIST"
fi
