#!/bin/sh
# Remove the homediag agent that install.sh put here: the service, the virtual environment, the
# configuration, the state and the homediag user.
#
#   sudo ./uninstall.sh [--keep-identity] [--root DIR] [--no-systemd]
#
# Options:
#   --keep-identity   keep /var/lib/homediag (identity key, enrollment, outbox), handed to root
#                     (0700), so a later install.sh carries on as the same agent
#   --root DIR        remove from DIR as if it were / (implies --no-systemd)
#   --no-systemd      do not call systemctl
#   -h, --help        this text
set -eu

PREFIX=/opt/homediag
CONF_DIR=/etc/homediag
STATE_DIR=/var/lib/homediag
UNIT_DIR=/etc/systemd/system
UNIT=homediag-agent.service
BIN_LINK=/usr/local/bin/homediag-agent
USER_NAME=homediag

ROOT=
KEEP_IDENTITY=
SYSTEMD=yes

say() { printf 'homediag: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --keep-identity) KEEP_IDENTITY=yes; shift ;;
        --root)
            if [ $# -lt 2 ] || [ -z "$2" ]; then die "--root needs a value"; fi
            ROOT=$(cd "$2" && pwd) || die "--root $2 does not exist"
            shift 2
            ;;
        --no-systemd) SYSTEMD=; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option $1" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "run as root"
[ "$ROOT" = / ] && ROOT=
[ -n "$ROOT" ] && SYSTEMD=
[ -d /run/systemd/system ] || SYSTEMD=

if [ -n "$SYSTEMD" ]; then
    systemctl disable --now --quiet "$UNIT" 2>/dev/null || true
fi
rm -f "$ROOT$UNIT_DIR/$UNIT"
rm -rf "$ROOT$UNIT_DIR/$UNIT.d"
[ -n "$SYSTEMD" ] && systemctl daemon-reload

# Only our own link: an administrator's homediag-agent elsewhere on PATH is not ours to remove.
if [ -L "$ROOT$BIN_LINK" ] && [ "$(readlink "$ROOT$BIN_LINK")" = "$PREFIX/venv/bin/homediag-agent" ]; then
    rm -f "$ROOT$BIN_LINK"
fi
rm -rf "$ROOT$PREFIX" "$ROOT$CONF_DIR"

if [ -n "$KEEP_IDENTITY" ]; then
    if [ -d "$ROOT$STATE_DIR" ]; then
        # The user goes away; its uid may be handed out again, so the state must not stay its own.
        chown -R 0:0 "$ROOT$STATE_DIR"
        chmod 0700 "$ROOT$STATE_DIR"
        say "kept $STATE_DIR (identity and outbox), now owned by root"
    fi
else
    rm -rf "$ROOT$STATE_DIR"
fi

# userdel and groupdel, in the throw-away root when there is one (they chroot into it).
in_root() {
    tool=$1
    shift
    if [ -n "$ROOT" ]; then "$tool" --root "$ROOT" "$@"; else "$tool" "$@"; fi
}
if awk -F: -v user="$USER_NAME" '$1 == user { found = 1 } END { exit !found }' "$ROOT/etc/passwd"; then
    in_root userdel "$USER_NAME"
fi
# userdel removes the user's own group only where USERGROUPS_ENAB says so; make sure it is gone.
if awk -F: -v group="$USER_NAME" '$1 == group { found = 1 } END { exit !found }' "$ROOT/etc/group"; then
    in_root groupdel "$USER_NAME"
fi
say "removed the homediag agent from ${ROOT:-/}"
