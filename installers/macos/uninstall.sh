#!/bin/sh
# Remove the homediag agent that install.sh put on this Mac: the daemon, the virtual environment,
# the configuration, the logs, the state and the _homediag user.
#
#   sudo ./uninstall.sh [--keep-identity]
#
# Options:
#   --keep-identity   keep /usr/local/var/homediag (identity key, enrollment, outbox), handed to
#                     root (0700), so a later install.sh carries on as the same agent
#   -h, --help        this text
set -eu

PREFIX=/usr/local/homediag
CONF_DIR=/etc/homediag
STATE_DIR=/usr/local/var/homediag
LOG_DIR=/Library/Logs/homediag
LABEL=net.homediag.agent
PLIST=/Library/LaunchDaemons/$LABEL.plist
BIN_LINK=/usr/local/bin/homediag-agent
USER_NAME=_homediag
KEEP_IDENTITY=

say() { printf 'homediag: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --keep-identity) KEEP_IDENTITY=yes; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option $1" ;;
    esac
done
[ "$(id -u)" -eq 0 ] || die "run with sudo"

launchctl bootout "system/$LABEL" 2>/dev/null || true
rm -f "$PLIST"
if [ -L "$BIN_LINK" ] && [ "$(readlink "$BIN_LINK")" = "$PREFIX/venv/bin/homediag-agent" ]; then
    rm -f "$BIN_LINK"
fi
rm -rf "$PREFIX" "$CONF_DIR" "$LOG_DIR"
if [ -n "$KEEP_IDENTITY" ]; then
    if [ -d "$STATE_DIR" ]; then
        chown -R root:wheel "$STATE_DIR"
        chmod 0700 "$STATE_DIR"
        say "kept $STATE_DIR (identity and outbox), now owned by root"
    fi
else
    rm -rf "$STATE_DIR"
fi
if dscl . -read "/Users/$USER_NAME" >/dev/null 2>&1; then dscl . -delete "/Users/$USER_NAME"; fi
if dscl . -read "/Groups/$USER_NAME" >/dev/null 2>&1; then dscl . -delete "/Groups/$USER_NAME"; fi
say "removed the homediag agent"
