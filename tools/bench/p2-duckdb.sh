#!/usr/bin/env bash
# p2-duckdb.sh — issue 6 benchmark P2: a DuckDB aggregate over a partitioned Delta table of
# ≥ 1 GiB on a real S3 server (Ceph RGW on 127.0.0.1, bluestore), read cold through
# lakemount, against the same query on a local copy of the files (goal: ≤ 1.3×) and
# through s3fs — all in the same run.
#
#   tools/bench/p2-duckdb.sh [--runs N] [--mb N] [--keep]
#
# Query (tools/bench/p2-query.mjs, timed inside node, DuckDB start-up excluded):
#   SELECT part, sum(col), count(*) FROM read_parquet(GLOB, hive_partitioning) GROUP BY part
# Table (tools/bench/p2-gen.mjs): 16 partitions part=0..15, one snappy Parquet file each,
# columns col DOUBLE (random) and id BIGINT; uploaded with tools/s3/lm-s3put.
# Rows of the result (median of N rounds, interleaved so outside load hits all alike):
#   local        the local copy, its pages dropped from the page cache first (fadvise)
#   lakemount    a fresh mount with an empty cache_dir: every byte and footer from RGW
#   lm-remount   a fresh mount on the previous round's cache_dir: footers from LMDB,
#                data still cold (the kernel page cache starts empty on every mount)
#   s3fs         a fresh s3fs mount (no cache)
# The result of every run must be the same (digest). Also printed: lakemount's GETs by
# kind from .lakemount-stats. Environment: LM_BUILD (default <repo>/build),
# LM_BENCH_OPTS (extra -o for lakemount), LM_RGW_PORT. Needs root (Ceph, FUSE).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${LM_BUILD:-$repo/build}
RUNS=3
MB=1100
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--mb) MB=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--runs N] [--mb N] [--keep]" >&2; exit 2 ;;
	esac
done

BENCH=p2
# shellcheck source=tools/bench/common.sh
. "$here/common.sh"
bench_require
node -e "import('$repo/tools/js/duck.mjs')" 2>/dev/null || die "DuckDB's node binding missing: npm ci --prefix tools/js"
bench_install s3fs
bench_workdir
LM_RGW_STORE=bluestore LM_RGW_BLUESTORE_GB=${LM_RGW_BLUESTORE_GB:-6} bench_start_rgw

echo "== generating the table (~$MB MiB) and uploading it"
D=$W/data/p2
node "$here/p2-gen.mjs" --mb "$MB" "$D"
"$BUILD/tools/s3/lm-s3put" -q -o "endpoint=$EP,path_style" "$D" "s3://$B/bench/p2"
BYTES=$(find "$D" -name '*.parquet' -printf '%s\n' | awk '{ s += $1 } END { print s }')
printf '%s:%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$W/s3fs.passwd"
chmod 600 "$W/s3fs.passwd"

mount_lm() { # CACHE_DIR
	"$BUILD/lakemount" -f "s3://$B/bench" "$MNT" \
		-o "endpoint=$EP,path_style,cache_dir=$1${LM_BENCH_OPTS:+,$LM_BENCH_OPTS}" >>"$W/lakemount.log" 2>&1 &
	daemon_pid=$!
	wait_mounted "$daemon_pid" || { tail -5 "$W/lakemount.log" >&2; die "lakemount did not mount"; }
	ls "$MNT/p2/@v0" >/dev/null   # the snapshot (not what P2 measures)
}
mount_s3fs() {
	s3fs "$B" "$MNT" -f -o "ro,passwd_file=$W/s3fs.passwd,url=$EP" \
		-o use_path_request_style,endpoint=us-east-1,sigv4 >>"$W/s3fs.log" 2>&1 &
	daemon_pid=$!
	wait_mounted "$daemon_pid" || { tail -5 "$W/s3fs.log" >&2; die "s3fs did not mount"; }
	ls "$MNT/bench/p2" >/dev/null
}
drop_local() { # evict the local copy from the page cache (only those files)
	python3 - "$D" <<'EOF'
import os, sys
for dp, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        fd = os.open(os.path.join(dp, f), os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
EOF
}
# CPU time (clock ticks) of a process, and of the whole Ceph side (mon, osd, rgw).
TCK=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
server_ticks() { local t=0 p; for p in $LM_RGW_PIDS; do t=$((t + $(ticks "$p"))); done; echo "$t"; }
secs() { awk -v t="$1" -v k="$TCK" 'BEGIN { printf "%.2f", t / k }'; }
declare -A T DIG CQ CD CS
query() { # LABEL GLOB
	local out sec c0 c1 s0 s1 dpid=${daemon_pid:-}
	c0=0; c1=0
	[ -n "$dpid" ] && c0=$(ticks "$dpid")
	s0=$(server_ticks)
	out=$(node "$here/p2-query.mjs" "$2")
	s1=$(server_ticks)
	[ -n "$dpid" ] && c1=$(ticks "$dpid")
	sec=$(node -e "console.log(JSON.parse(process.argv[1]).seconds.toFixed(3))" "$out")
	T[$1]+="$sec "
	CQ[$1]+="$(node -e "console.log(JSON.parse(process.argv[1]).cpu.toFixed(2))" "$out") "
	CD[$1]+="$(secs $((c1 - c0))) "
	CS[$1]+="$(secs $((s1 - s0))) "
	DIG[$1]=$(node -e "console.log(JSON.parse(process.argv[1]).digest)" "$out")
	echo "   $1: $sec s (CPU s: DuckDB ${CQ[$1]##* }, daemon $(secs $((c1 - c0))), server $(secs $((s1 - s0))))"
}
lm_stats() { tr -s ' \n' ' ' <"$MNT/.lakemount-stats" | node -e '
	const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
	const r = s.requests, f = s.footers;
	console.log(`GETs: probe ${r.get_probe}, demand ${r.get_demand}, prefetch ${r.get_prefetch}, footer ${f.gets} (from LMDB ${f.from_cache}); fetched ${(s.bytes.fetched / 1e6).toFixed(0)} MB, served ${(s.bytes.served / 1e6).toFixed(0)} MB; opens ${s.fuse.opens}, reads ${s.fuse.reads}`);'; }

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "== warm-up: one pass over the objects on the server side, not timed"
# (through lakemount: curl's own SigV4 signer cannot sign the '=' of part=N/ keys)
mount_lm "$W/cache.warm"
cat "$MNT"/p2/@v0/*/*.parquet >/dev/null
unmount

echo "== $RUNS rounds: local, lakemount (cold), lakemount remount (footers from LMDB), s3fs"
for run in $(seq 1 "$RUNS"); do
	drop_local
	query local "$D/*/*.parquet"
	mount_lm "$W/cache.$run"
	query lakemount "$MNT/p2/@v0/*/*.parquet"
	echo "   lakemount cold: $(lm_stats)"
	unmount
	mount_lm "$W/cache.$run"
	query lm-remount "$MNT/p2/@v0/*/*.parquet"
	echo "   lakemount remount: $(lm_stats)"
	unmount
	mount_s3fs
	query s3fs "$MNT/bench/p2/*/*.parquet"
	unmount
	echo "   round $run done"
done
for l in local lakemount lm-remount s3fs; do
	[ "${DIG[$l]}" = "${DIG[local]}" ] || die "$l: the query's result differs from the local copy's"
	echo "   $l seconds: ${T[$l]}"
done
med() { printf '%s\n' ${T[$1]} | median; }
L=$(med local)
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "P2: DuckDB sum/count GROUP BY part over $((BYTES / 1048576)) MiB of Parquet ($(find "$D" -name '*.parquet' | wc -l) files), median of $RUNS, cold"
echo "CPU seconds during the query (medians): DuckDB = the query process, daemon = the FUSE"
echo "daemon, server = radosgw + ceph-osd + ceph-mon"
cmed() { printf '%s\n' $1 | median; }
printf '%-14s %8s %9s %8s %8s %8s\n' "what" "seconds" "vs local" "DuckDB" "daemon" "server"
for l in local lakemount lm-remount s3fs; do
	printf '%-14s %8.2f %8.2f× %8s %8s %8s\n' "$l" "$(med "$l")" \
		"$(awk -v a="$(med "$l")" -v b="$L" 'BEGIN { print a / b }')" \
		"$(cmed "${CQ[$l]}")" "$(cmed "${CD[$l]}")" "$(cmed "${CS[$l]}")"
done
echo
printf 'lakemount / local: %.2f× (goal ≤ 1.3×)   s3fs / lakemount: %.2f×\n' \
	"$(awk -v a="$(med lakemount)" -v b="$L" 'BEGIN { print a / b }')" \
	"$(awk -v a="$(med s3fs)" -v b="$(med lakemount)" 'BEGIN { print a / b }')"
