#!/usr/bin/env bash
# stop-rgw.sh DIR — stop the gateway, OSD and monitor that start-rgw.sh DIR started, by
# the PIDs it recorded (never by name). Waits up to 15 s, then SIGKILLs what is left.
# The data directory is kept (pass --clean as a second argument to remove DIR's cluster
# state as well).
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [--clean]" >&2; exit 2; }
DIR=$1
PIDF=$DIR/pids
[ -f "$PIDF" ] || { echo "stop-rgw: nothing recorded in $PIDF" >&2; exit 0; }

ours() {   # is PID still one of our Ceph daemons (guards PID reuse), still running?
	local st tasks
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	case "$st" in
	*"(ceph-mon) "*|*"(ceph-osd) "*|*"(radosgw) "*) ;;
	*) return 1 ;;
	esac
	# A zombie leader whose other threads still run is not gone yet.
	case "$st" in *") Z "*) ;; *) return 0 ;; esac
	tasks=$(ls "/proc/$1/task" 2>/dev/null | wc -l)
	[ "$tasks" -gt 1 ]
}
# Reverse start order: radosgw, osd, mon.
pids=$(tac "$PIDF")
for p in $pids; do ours "$p" && kill -TERM "$p" 2>/dev/null; done
for _ in $(seq 1 30); do
	left=""
	for p in $pids; do ours "$p" && left="$left $p"; done
	[ -z "$left" ] && break
	sleep 0.5
done
for p in $left; do ours "$p" && kill -KILL "$p" 2>/dev/null; done
rm -f "$PIDF" "$DIR/env"
if [ "${2:-}" = --clean ]; then
	rm -rf "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$DIR/run" "$DIR/keyring" "$DIR/monmap"
fi
echo "stop-rgw: stopped${left:+ (killed:$left)}"
