#!/bin/sh
# Install the homediag agent on a Linux PC or gateway with systemd.
#
#   sudo ./install.sh [--code CODE --cloud URL] [options]
#
# What it does (installers/README.md has the whole story):
#   - a system user and group `homediag` (no login shell, no home directory);
#   - the agent in its own virtual environment, /opt/homediag/venv, owned by root;
#   - configuration /etc/homediag/agent.toml (kept when it exists);
#   - state /var/lib/homediag (0700, owned by homediag): identity key, enrollment, outbox;
#   - /etc/systemd/system/homediag-agent.service: runs as homediag with only CAP_NET_RAW and
#     CAP_NET_ADMIN, in systemd's sandbox;
#   - with --code and --cloud, enrollment (run as the homediag user, so its files are its own).
#
# Options:
#   --source SPEC      a wheel, an sdist or a source tree of homediag (default: `homediag` from the index)
#   --find-links DIR   look for wheels in DIR as well (pip's --find-links)
#   --no-index         do not use a package index (offline: with --find-links)
#   --python PATH      the interpreter the venv is made from (default: /usr/bin/python3, Python >= 3.11)
#   --cloud URL        the cloud to enroll with (with --code)
#   --code CODE        the one-time pairing code (with --cloud)
#   --upgrade          replace the installed agent; configuration, identity and outbox are kept
#   --root DIR         install into DIR as if it were / (a staging or throw-away root); implies --no-systemd
#   --no-systemd       do not call systemctl (no running systemd, a container, an image build)
#   --no-start         install and enable, but do not start the service
#   -h, --help         this text
set -eu

PREFIX=/opt/homediag
CONF_DIR=/etc/homediag
STATE_DIR=/var/lib/homediag
UNIT_DIR=/etc/systemd/system
UNIT=homediag-agent.service
BIN_LINK=/usr/local/bin/homediag-agent
USER_NAME=homediag
HERE=$(cd "$(dirname "$0")" && pwd)

ROOT=
SOURCE=homediag
FIND_LINKS=
NO_INDEX=
PYTHON=
CLOUD=
CODE=
UPGRADE=
SYSTEMD=yes
START=yes

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
        --root) need_arg "$@"; ROOT=$(cd "$2" && pwd) || die "--root $2 does not exist"; shift 2 ;;
        --no-systemd) SYSTEMD=; shift ;;
        --no-start) START=; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option $1" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (it creates a system user and a system service)"
# Paths given relative to here are made absolute, then everything runs from /: `python -m`
# puts the working directory first on sys.path, and a source tree there would pass for installed.
absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }
[ -e "$SOURCE" ] && SOURCE=$(absolute "$SOURCE")
[ -n "$FIND_LINKS" ] && FIND_LINKS=$(absolute "$FIND_LINKS")
[ -n "$PYTHON" ] && case "$PYTHON" in */*) PYTHON=$(absolute "$PYTHON") ;; esac
cd /
if { [ -n "$CODE" ] && [ -z "$CLOUD" ]; } || { [ -z "$CODE" ] && [ -n "$CLOUD" ]; }; then
    die "--code and --cloud go together"
fi
[ "$ROOT" = / ] && ROOT=
# A staged root has no systemd of its own to talk to.
[ -n "$ROOT" ] && SYSTEMD=
if [ -n "$SYSTEMD" ] && [ ! -d /run/systemd/system ]; then
    die "systemd is not running here; use --no-systemd (and start the agent your own way)"
fi

# Paths as seen from here (R...) and as the installed system sees them (PREFIX...).
R_PREFIX=$ROOT$PREFIX
R_CONF=$ROOT$CONF_DIR
R_STATE=$ROOT$STATE_DIR
R_UNIT=$ROOT$UNIT_DIR/$UNIT
VENV=$PREFIX/venv

if [ -e "$R_PREFIX/venv" ] && [ -z "$UPGRADE" ]; then
    die "already installed in $R_PREFIX; use --upgrade to replace the agent (identity and outbox are kept)"
fi
if [ -n "$UPGRADE" ] && [ ! -e "$R_PREFIX/venv" ]; then
    die "nothing to upgrade in $R_PREFIX; install first"
fi
if [ -n "$CODE" ] && [ -e "$R_STATE/enrollment.json" ]; then
    die "$R_STATE already holds an enrollment; uninstall (without --keep-identity) to enroll anew"
fi

# --- the interpreter -----------------------------------------------------------------------------
if [ -z "$PYTHON" ]; then
    for candidate in /usr/bin/python3 "$(command -v python3 || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then PYTHON=$candidate; break; fi
    done
fi
if [ -z "$PYTHON" ] || [ ! -x "$PYTHON" ]; then die "no python3 found; give one with --python"; fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "$PYTHON is older than Python 3.11"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || die "$PYTHON cannot make a venv (Debian: apt-get install python3-venv)"

# --- the user ------------------------------------------------------------------------------------
passwd_field() { # passwd_field FIELD: a field of the homediag line in (ROOT)/etc/passwd
    awk -F: -v user="$USER_NAME" -v field="$1" '$1 == user { print $field }' "$ROOT/etc/passwd"
}
if [ -n "$ROOT" ]; then
    if [ ! -f "$ROOT/etc/passwd" ] || [ ! -f "$ROOT/etc/group" ]; then
        die "$ROOT has no etc/passwd and etc/group"
    fi
fi
# useradd and friends, in the throw-away root when there is one (they chroot into it).
in_root() {
    tool=$1
    shift
    if [ -n "$ROOT" ]; then "$tool" --root "$ROOT" "$@"; else "$tool" "$@"; fi
}
if [ -z "$(passwd_field 1)" ]; then
    NOLOGIN=/bin/false
    for shell in /usr/sbin/nologin /sbin/nologin; do
        if [ -x "$ROOT$shell" ]; then NOLOGIN=$shell; break; fi
    done
    say "creating system user $USER_NAME"
    in_root useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell "$NOLOGIN" --comment "homediag agent" "$USER_NAME"
fi
AGENT_UID=$(passwd_field 3)
AGENT_GID=$(passwd_field 4)
if [ -z "$AGENT_UID" ] || [ -z "$AGENT_GID" ]; then die "cannot read the uid of $USER_NAME"; fi

# --- directories ---------------------------------------------------------------------------------
install -d -m 0755 -o 0 -g 0 "$R_PREFIX" "$R_CONF" "$(dirname "$R_UNIT")" "$(dirname "$ROOT$BIN_LINK")"
install -d -m 0700 "$R_STATE"
# Kept state (an upgrade, or a reinstall after `uninstall.sh --keep-identity`) becomes the agent's.
chown -R "$AGENT_UID:$AGENT_GID" "$R_STATE"
chmod 0700 "$R_STATE"

# --- the virtual environment ---------------------------------------------------------------------
# Built beside the running one and swapped in only when complete, so a failed upgrade leaves the
# installed agent as it was. Paths inside the venv are rewritten to its final place (/opt/...),
# which also makes a --root install a true staging of the real one.
NEW=$R_PREFIX/venv.new
rm -rf "$NEW"
trap 'rm -rf "$NEW"' EXIT
say "creating the virtual environment ($("$PYTHON" -V 2>&1))"
"$PYTHON" -m venv "$NEW"
set -- --no-cache-dir --disable-pip-version-check --no-compile --quiet
[ -n "$NO_INDEX" ] && set -- "$@" --no-index
[ -n "$FIND_LINKS" ] && set -- "$@" --find-links "$FIND_LINKS"
say "installing ${SOURCE}[agent]"
"$NEW/bin/python" -I -m pip install "$@" "${SOURCE}[agent]"
"$NEW/bin/python" -I -c 'import agent, protocol' || die "the agent does not import after installing"

# Rewrite the build path in scripts, activate files and pyvenv.cfg to the final one.
for file in "$NEW"/bin/* "$NEW/pyvenv.cfg"; do
    if [ ! -f "$file" ] || [ -L "$file" ]; then continue; fi
    if grep -Iq "$NEW" "$file"; then
        sed "s|$NEW|$VENV|g" "$file" >"$file.tmp" && cat "$file.tmp" >"$file" && rm -f "$file.tmp"
    fi
done
# Byte-code is compiled now, with the final paths: the agent cannot write into /opt at run time.
# (pip and setuptools came compiled with the venv and are the installer's, not the agent's.)
"$NEW/bin/python" -I -m compileall -q -j 0 -s "$NEW" -p "$VENV" \
    -x '/site-packages/(pip|setuptools|pkg_resources|_distutils_hack)/' "$NEW/lib" >/dev/null
chown -R 0:0 "$NEW"
chmod -R go-w "$NEW"

if [ -n "$UPGRADE" ] && [ -n "$SYSTEMD" ] && systemctl is-active --quiet "$UNIT"; then
    say "stopping $UNIT for the upgrade"
    systemctl stop "$UNIT"
fi
if [ -e "$R_PREFIX/venv" ]; then
    mv "$R_PREFIX/venv" "$R_PREFIX/venv.old"
    mv "$NEW" "$R_PREFIX/venv"
    rm -rf "$R_PREFIX/venv.old"
else
    mv "$NEW" "$R_PREFIX/venv"
fi
trap - EXIT
ln -sfn "$VENV/bin/homediag-agent" "$ROOT$BIN_LINK"

# --- configuration -------------------------------------------------------------------------------
if [ ! -e "$R_CONF/agent.toml" ]; then
    say "writing $CONF_DIR/agent.toml"
    install -m 0644 -o 0 -g 0 "$HERE/agent.toml" "$R_CONF/agent.toml"
fi

# --- the service ---------------------------------------------------------------------------------
install -m 0644 -o 0 -g 0 "$HERE/homediag-agent.service" "$R_UNIT"

# --- enrollment ----------------------------------------------------------------------------------
if [ -n "$CODE" ]; then
    say "enrolling with $CLOUD"
    # As the agent's own user, so the identity key it makes is its own and never root's.
    (setpriv --reuid "$AGENT_UID" --regid "$AGENT_GID" --clear-groups \
        env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
        "$R_PREFIX/venv/bin/python" -I -m agent --config "$R_CONF/agent.toml" --state-dir "$R_STATE" \
        enroll --cloud "$CLOUD" --code "$CODE")
fi

if [ -n "$SYSTEMD" ]; then
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT"
    if [ -n "$START" ] && [ -e "$R_STATE/enrollment.json" ]; then
        systemctl restart "$UNIT"
        say "started $UNIT (journalctl -u $UNIT; homediag-agent status)"
    elif [ -n "$START" ]; then
        say "not enrolled yet: sudo -u $USER_NAME homediag-agent enroll --cloud URL --code CODE," \
            "then systemctl start $UNIT"
    fi
fi
say "installed in ${ROOT:-/}: $VENV, $CONF_DIR/agent.toml, $STATE_DIR, $UNIT_DIR/$UNIT"
