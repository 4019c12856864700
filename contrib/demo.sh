#!/bin/bash
# smbfuse quick start: a private Samba on 127.0.0.1, mounted with smbfuse.
#
#   contrib/demo.sh [MOUNTPOINT]   install deps, build, start the demo server,
#                                  mount its share (default /tmp/smbfuse-demo/mnt)
#   contrib/demo.sh stop           unmount and stop the demo server
#   contrib/demo.sh status
#
# Environment: SMBFUSE_DEMO_DIR (default /tmp/smbfuse-demo), SMBFUSE_BUILD_DIR
# (default build/), SMBFUSE (binary to mount with, default the one built).
#
# The demo server runs as its own smbd with its own smb.conf, port and
# directories under /tmp/smbfuse-demo; it touches no system Samba setup.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO_DIR=${SMBFUSE_DEMO_DIR:-/tmp/smbfuse-demo}
STATE=$DEMO_DIR/state.json
SERVER=(python3 "$ROOT/contrib/demo_server.py")
BUILD=${SMBFUSE_BUILD_DIR:-$ROOT/build}
BIN=${SMBFUSE:-$BUILD/smbfuse}

# state_get KEY: one field of the state file.
state_get() {
	python3 -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' \
		"$STATE" "$1"
}

stop_demo() {
	if [[ -f $STATE ]]; then
		local mnt
		mnt=$(state_get mount)
		if [[ -n $mnt ]] && grep -qs " $mnt fuse" /proc/mounts; then
			fusermount3 -u "$mnt" || fusermount3 -uz "$mnt" || true
			echo "unmounted $mnt"
		fi
	fi
	"${SERVER[@]}" stop --state "$STATE"
}

case ${1:-} in
stop)
	stop_demo
	# leave no empty directories of ours behind
	rmdir "$DEMO_DIR/mnt" "$DEMO_DIR" 2>/dev/null || true
	exit 0
	;;
status)
	"${SERVER[@]}" status --state "$STATE"
	exit $?
	;;
-h | --help)
	sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit 0
	;;
esac

MNT=${1:-$DEMO_DIR/mnt}
mkdir -p "$DEMO_DIR" "$MNT"
MNT=$(cd "$MNT" && pwd)

# shellcheck source=contrib/install-deps.sh disable=SC1091
. "$ROOT/contrib/install-deps.sh"
echo "== dependencies"
smbfuse_install_deps
smbfuse_check_fuse

echo "== build"
if [[ ! -f $BUILD/meson-private/coredata.dat ]]; then
	meson setup "$BUILD" "$ROOT" </dev/null
fi
meson compile -C "$BUILD" smbfuse </dev/null

echo "== demo server"
if [[ -f $STATE ]]; then
	stop_demo >/dev/null
fi
if grep -qs " $MNT fuse" /proc/mounts; then
	echo "$MNT is already a FUSE mount; unmount it first: fusermount3 -u $MNT" >&2
	exit 1
fi
"${SERVER[@]}" start --state "$STATE" --mount "$MNT" --base "$DEMO_DIR"
PORT=$(state_get port)
USER_NAME=$(state_get user)
PASS=$(state_get password)

echo "== mount"
if ! "$BIN" "//127.0.0.1:$PORT/rw" "$MNT" -o "username=$USER_NAME,password=$PASS"; then
	echo "smbfuse failed to mount; stopping the demo server" >&2
	"${SERVER[@]}" stop --state "$STATE" >/dev/null
	exit 1
fi
for _ in $(seq 50); do
	grep -qs " $MNT fuse.smbfuse " /proc/mounts && break
	sleep 0.1
done

cat <<EOF

smbfuse mounted //127.0.0.1:$PORT/rw at:

    $MNT

$ ls -l $MNT
$(ls -l "$MNT")

Server-side files live in $(state_get tmpdir)/shares/rw
(user $USER_NAME, password in $STATE).

To unmount and stop the demo server:

    $0 stop

(or by hand: fusermount3 -u $MNT; python3 contrib/demo_server.py stop --state $STATE)
EOF
