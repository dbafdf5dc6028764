# common.sh — what the shell benchmarks against a real Ceph RGW share (sourced, not run):
# checks, peer installs, a scratch folder torn down on exit, starting RGW, mounting and
# unmounting, and small numeric helpers. The sourcing script sets BENCH (its name for
# messages), BUILD, repo and KEEP first.
#
#   . "$here/common.sh"
#   bench_require                    root, $BUILD/lakemount, lm-s3put
#   bench_install s3fs rclone        apt-get what is missing
#   bench_workdir                    W, RGW, MNT (created), daemon_pid; cleanup on EXIT
#   LM_RGW_STORE=bluestore bench_start_rgw   start RGW in $RGW; sets EP and B
#                                    (with LM_BENCH_RGW=DIR: use the RGW running there,
#                                    in a bucket of this script's own; issue6.sh does)
#   mycmd & daemon_pid=$!; wait_mounted "$daemon_pid"; …; unmount

die() { echo "${BENCH:-bench}: $*" >&2; exit 1; }

bench_require() {
	[ "$(id -u)" = 0 ] || die "needs root (Ceph RGW, FUSE peers)"
	[ -x "$BUILD/lakemount" ] || die "no $BUILD/lakemount (build first or set LM_BUILD)"
	[ -x "$BUILD/tools/s3/lm-s3put" ] || die "no $BUILD/tools/s3/lm-s3put"
}

bench_install() { # PACKAGE... (installed only when its command is missing)
	local missing=() p
	for p in "$@"; do command -v "$p" >/dev/null || missing+=("$p"); done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "$BENCH: installing ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
		die "apt-get install ${missing[*]} failed"
}

bench_cleanup() {
	set +e
	mountpoint -q "$MNT" && { fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"; }
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
	[ "${RGW_SHARED:-0}" = 1 ] || "$repo/tools/s3/stop-rgw.sh" "$RGW" >/dev/null 2>&1
	if [ "$KEEP" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}

bench_workdir() {
	W=$(mktemp -d "/tmp/lm-$BENCH.XXXXXX")
	RGW=$W/rgw
	MNT=$W/mnt
	mkdir -p "$MNT"
	daemon_pid=""
	trap bench_cleanup EXIT
}

# Start RGW in $RGW (the caller's LM_RGW_* variables choose the store), source its env
# file (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, LM_S3_*), set EP and B.
bench_start_rgw() {
	if [ -n "${LM_BENCH_RGW:-}" ]; then
		# A gateway another script started (tools/bench/issue6.sh): its env, and a
		# bucket of our own so that no script sees another's objects.
		[ -f "$LM_BENCH_RGW/env" ] || die "LM_BENCH_RGW=$LM_BENCH_RGW: no env file there"
		RGW=$LM_BENCH_RGW
		RGW_SHARED=1
		# shellcheck disable=SC1091
		. "$RGW/env"
		EP=$LM_S3_ENDPOINT
		B="bench-$BENCH-$$"
		local code
		code=$(printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" |
			curl -s -K - -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
				-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$EP/$B")
		[ "$code" = 200 ] || die "creating bucket $B on $EP failed (HTTP $code)"
		echo "== using the RGW in $RGW ($EP), bucket $B"
		return 0
	fi
	echo "== starting Ceph RGW in $RGW (${LM_RGW_STORE:-memstore})"
	"$repo/tools/s3/start-rgw.sh" "$RGW" ${LM_RGW_PORT:-} >"$W/rgw-start.log" 2>&1 ||
		{ tail -20 "$W/rgw-start.log"; die "RGW did not start"; }
	# shellcheck disable=SC1091
	. "$RGW/env"
	EP=$LM_S3_ENDPOINT
	B=$LM_S3_BUCKET
}

now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

wait_mounted() { # PID: 0 once $MNT is a mountpoint, 1 if PID died or 30 s passed
	for _ in $(seq 1 300); do
		mountpoint -q "$MNT" && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

unmount() { # $MNT, then wait for (or kill) $daemon_pid
	fusermount3 -u "$MNT" 2>/dev/null || { sleep 1; fusermount3 -u "$MNT" 2>/dev/null; } ||
		fusermount3 -uz "$MNT" 2>/dev/null || true
	if [ -n "$daemon_pid" ]; then
		for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
		kill "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	daemon_pid=""
}
