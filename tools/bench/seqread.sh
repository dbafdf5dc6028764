#!/usr/bin/env bash
# seqread.sh — sequential read throughput and daemon memory on a real S3 server (Ceph
# RGW on 127.0.0.1, bluestore), lakemount against raw curl (the ceiling), s3fs and
# rclone mount, all in the same run (issue 3 / issue 6 P1 and P5).
#
#   tools/bench/seqread.sh [--runs N] [--size-mb N] [--keep]
#
# Environment: LM_BUILD (build dir with lakemount and tools/s3/lm-s3put; default
# <repo>/build), LM_BENCH_OPTS (extra -o options for lakemount, e.g. max_memory=256M),
# LM_BENCH_PIN (1: Ceph on CPU 1, every client on CPU 0 — a server with a CPU of its
# own), LM_RGW_PORT (optional), LM_BENCH_RA_KB (128: one more lakemount row per round mounted
# with -o read_ahead_kb=128 — the kernel's own default, 256 KiB FUSE reads, where the
# daemon's default is 1024 — 1 MiB reads; 0 = no such row). Needs root (Ceph; apt
# installs s3fs/rclone when missing).
#
# What it does: starts its own RGW (LM_RGW_STORE=bluestore) in a scratch folder, uploads
#   bench/tbl/big.bin             SIZE MiB of random bytes inside a one-version Delta table
#                                 (_delta_log/00000000000000000000.json: protocol,
#                                 metaData, add of that size) — read as tbl/@v0/big.bin
#   bench/plain/big.bin           the same object as a plain file of a plain folder
#   bench/p5/f1..f4.bin           4 × 256 MiB for the parallel-readers test (P5)
# then measures, median of N cold runs (a fresh mount each run; one warm-up GET first
# so the server side is equally warm for everyone):
#   curl GET of the object        (SigV4 by curl: plain key names only)
#   lakemount: cat tbl/@v0/big.bin > /dev/null, and plain/big.bin (also with the
#                                 kernel's default readahead, LM_BENCH_RA_KB)
#   s3fs, rclone mount: cat bench/tbl/big.bin > /dev/null
# and peak RSS (VmHWM) of each daemon; P5: 4 cats of the 4 files at once, aggregate
# MB/s and the daemon's peak RSS, for lakemount (default options) and the peers.
# MB = 10^6 bytes. Stops everything it started, by PID.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${LM_BUILD:-$repo/build}
RUNS=3
SIZE_MB=1024
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--size-mb) SIZE_MB=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--runs N] [--size-mb N] [--keep]" >&2; exit 2 ;;
	esac
done
P5_MB=${LM_BENCH_P5_MB:-256}
RA_KB=${LM_BENCH_RA_KB:-128}   # an extra lakemount row with -o read_ahead_kb=this; 0 = none

BENCH=seqread
# shellcheck source=tools/bench/common.sh
. "$here/common.sh"
bench_require
bench_install s3fs rclone
bench_workdir
LM_RGW_STORE=bluestore LM_RGW_BLUESTORE_GB=${LM_RGW_BLUESTORE_GB:-8} bench_start_rgw
if [ "${LM_BENCH_PIN:-0}" = 1 ]; then
	# A server with a CPU of its own, as any remote S3 has: Ceph on CPU 1, this script
	# and so every client it starts (curl, the FUSE daemons, cat) on CPU 0.
	[ "$(nproc)" -ge 2 ] || die "LM_BENCH_PIN=1 needs 2 CPUs"
	[ "${RGW_SHARED:-0}" = 0 ] || die "LM_BENCH_PIN=1 needs an RGW of its own (not LM_BENCH_RGW)"
	for p in $LM_RGW_PIDS; do taskset -a -p -c 1 "$p" >/dev/null || die "taskset $p failed"; done
	taskset -p -c 0 $$ >/dev/null || die "taskset of the script failed"
	echo "== pinned: Ceph (mon, osd, rgw) on CPU 1, every client on CPU 0"
fi
KEY=$AWS_ACCESS_KEY_ID
SECRET=$AWS_SECRET_ACCESS_KEY

echo "== writing and uploading test data (${SIZE_MB} MiB + 4 × ${P5_MB} MiB)"
D=$W/data
mkdir -p "$D/tbl/_delta_log" "$D/p5"
head -c $((SIZE_MB << 20)) /dev/urandom >"$D/tbl/big.bin"
SIZE=$(stat -c %s "$D/tbl/big.bin")
NOW_MS=$(($(date +%s) * 1000))
cat >"$D/tbl/_delta_log/00000000000000000000.json" <<EOF
{"commitInfo":{"timestamp":$NOW_MS,"operation":"WRITE"}}
{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"5eb1a1c0-0000-4000-8000-000000000001","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{},"createdTime":$NOW_MS}}
{"add":{"path":"big.bin","partitionValues":{},"size":$SIZE,"modificationTime":$NOW_MS,"dataChange":true}}
EOF
for i in 1 2 3 4; do head -c $((P5_MB << 20)) /dev/urandom >"$D/p5/f$i.bin"; done
"$BUILD/tools/s3/lm-s3put" -q -o "endpoint=$EP,path_style" "$D/tbl" "s3://$B/bench/tbl"
"$BUILD/tools/s3/lm-s3put" -q -o "endpoint=$EP,path_style" "$D/tbl/big.bin" "s3://$B/bench/plain"
"$BUILD/tools/s3/lm-s3put" -q -o "endpoint=$EP,path_style" "$D/p5" "s3://$B/bench/p5"
SUM=$(sha256sum <"$D/tbl/big.bin" | cut -d' ' -f1)
rm -f "$D/tbl/big.bin" "$D"/p5/*.bin   # the bytes live in the bucket now

# Peer configuration.
printf '%s:%s\n' "$KEY" "$SECRET" >"$W/s3fs.passwd"
chmod 600 "$W/s3fs.passwd"
cat >"$W/rclone.conf" <<EOF
[rgw]
type = s3
provider = Ceph
access_key_id = $KEY
secret_access_key = $SECRET
endpoint = $EP
force_path_style = true
EOF

mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.0f", b / t / 1e6 }'; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

mount_tool() { # TOOL
	case $1 in
	lakemount)
		"$BUILD/lakemount" -f "s3://$B/bench" "$MNT" \
			-o "endpoint=$EP,path_style${LM_BENCH_OPTS:+,$LM_BENCH_OPTS}${RA_ROW:+,read_ahead_kb=$RA_ROW}" \
			>>"$W/lakemount.log" 2>&1 &
		;;
	s3fs)
		s3fs "$B" "$MNT" -f -o "ro,passwd_file=$W/s3fs.passwd,url=$EP" \
			-o use_path_request_style,endpoint=us-east-1,sigv4 >>"$W/s3fs.log" 2>&1 &
		;;
	rclone)
		env -u AWS_CA_BUNDLE rclone mount "rgw:$B" "$MNT" --config "$W/rclone.conf" \
			--read-only --vfs-cache-mode off >>"$W/rclone.log" 2>&1 &
		;;
	esac
	daemon_pid=$!
	wait_mounted "$daemon_pid" || { tail -5 "$W/$1.log" >&2; die "$1 did not mount"; }
}
path_of() { # TOOL WHICH
	case $1:$2 in
	lakemount:tbl) echo "$MNT/tbl/@v0/big.bin" ;;
	lakemount:plain) echo "$MNT/plain/big.bin" ;;
	lakemount:p5) echo "$MNT/p5" ;;
	*:p5) echo "$MNT/bench/p5" ;;
	*) echo "$MNT/bench/tbl/big.bin" ;;
	esac
}

declare -A RES RSS CPUM SCPUM RCPUM
CURL_GET=(curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET"
	-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -o /dev/null "$EP/$B/bench/tbl/big.bin")
curl_get() { "${CURL_GET[@]}"; }

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "== warm-up GET"
curl_get

# CPU time (clock ticks) of a process, and of the whole Ceph side (mon, osd, rgw).
TCK=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
server_ticks() { local t=0 p; for p in $LM_RGW_PIDS; do t=$((t + $(ticks "$p"))); done; echo "$t"; }
secs() { awk -v t="$1" -v k="$TCK" 'BEGIN { printf "%.2f", t / k }'; }

declare -A TIMES HWMS CPU SCPU RCPU
one_run() { # TOOL WHICH LABEL [READ_AHEAD_KB]
	local t0 t1 p c0 c1 s0 s1
	RA_ROW=${4:-} mount_tool "$1"
	p=$(path_of "$1" "$2")
	c0=$(ticks "$daemon_pid"); s0=$(server_ticks)
	t0=$(now); /usr/bin/time -f "%U %S" -o "$W/cat.time" cat "$p" >/dev/null; t1=$(now)
	c1=$(ticks "$daemon_pid"); s1=$(server_ticks)
	HWMS[$3]+="$(hwm_kib "$daemon_pid") "
	unmount
	TIMES[$3]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') "
	CPU[$3]+="$(secs $((c1 - c0))) "
	SCPU[$3]+="$(secs $((s1 - s0))) "
	RCPU[$3]+="$(awk '{ printf "%.2f", $1 + $2 }' "$W/cat.time") "
}

echo "== correctness: sha256 through lakemount (not timed)"
for which in tbl plain; do
	mount_tool lakemount
	sum=$(sha256sum <"$(path_of lakemount $which)" | cut -d' ' -f1)
	unmount
	[ "$sum" = "$SUM" ] || die "lakemount $which: sha256 differs from the uploaded object"
done

# Rounds interleave the tools so that load from elsewhere on the machine hits all alike;
# every mount is fresh (cold kernel page cache), the server side is warm for everyone.
echo "== $RUNS rounds: curl, lakemount (table, plain), s3fs, rclone mount"
for run in $(seq 1 "$RUNS"); do
	s0=$(server_ticks)
	t0=$(now); /usr/bin/time -f "%U %S" -o "$W/curl.time" "${CURL_GET[@]}"; t1=$(now)
	s1=$(server_ticks)
	TIMES[curl]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') "
	CPU[curl]+="$(awk '{ printf "%.2f", $1 + $2 }' "$W/curl.time") "
	SCPU[curl]+="$(secs $((s1 - s0))) "
	one_run lakemount tbl lm-table
	one_run lakemount plain lm-plain
	[ "$RA_KB" != 0 ] && one_run lakemount plain lm-ra "$RA_KB"
	one_run s3fs tbl s3fs
	one_run rclone tbl rclone
	echo "   round $run done"
done
LABELS="curl lm-table lm-plain"
[ "$RA_KB" != 0 ] && LABELS+=" lm-ra"
for l in $LABELS s3fs rclone; do
	RES[$l]=$(printf '%s\n' ${TIMES[$l]} | median)
	CPUM[$l]=$(printf '%s\n' ${CPU[$l]} | median)
	SCPUM[$l]=$(printf '%s\n' ${SCPU[$l]} | median)
	[ -n "${RCPU[$l]:-}" ] && RCPUM[$l]=$(printf '%s\n' ${RCPU[$l]} | median)
	[ -n "${HWMS[$l]:-}" ] && RSS[$l]=$(printf '%s\n' ${HWMS[$l]} | sort -n | tail -1)
	echo "   $l seconds: ${TIMES[$l]} client CPU s: ${CPU[$l]} server CPU s: ${SCPU[$l]}${HWMS[$l]:+ peak RSS KiB: ${HWMS[$l]}}${RCPU[$l]:+ cat CPU s: ${RCPU[$l]}}"
done

bench_p5() { # TOOL LABEL
	local tool=$1 label=$2 dir t0 t1 pids=()
	mount_tool "$tool"
	dir=$(path_of "$tool" p5)
	t0=$(now)
	for i in 1 2 3 4; do cat "$dir/f$i.bin" >/dev/null & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p"; done
	t1=$(now)
	RSS[$label]=$(hwm_kib "$daemon_pid")
	unmount
	RES[$label]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	echo "   $label: $(mbps $((4 * P5_MB << 20)) "${RES[$label]}") MB/s aggregate, peak RSS $((RSS[$label] / 1024)) MiB"
}

echo "== P5: 4 readers of 4 × $P5_MB MiB in parallel"
bench_p5 lakemount p5-lakemount
bench_p5 s3fs p5-s3fs
bench_p5 rclone p5-rclone

c=${RES[curl]}
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "sequential read of a $SIZE_MB MiB object, median of $RUNS (MB = 10^6 B)"
echo "client CPU = CPU seconds of curl or of the FUSE daemon during the read; server CPU ="
echo "Ceph's (radosgw + osd + mon); cat CPU = the reading cat's (the kernel's page-cache"
echo "copy to it, readahead); all per GiB read"
printf '%-30s %6s %8s %9s %9s %9s %9s\n' "what" "MB/s" "vs curl" "peak RSS" "cli CPU" "srv CPU" "cat CPU"
row() { # LABEL TITLE
	local t=${RES[$1]} r=""
	[ -n "${RSS[$1]:-}" ] && r="$((RSS[$1] / 1024)) MiB"
	local k="-"
	[ -n "${RCPUM[$1]:-}" ] && k="$(awk -v x="${RCPUM[$1]}" -v m="$SIZE_MB" 'BEGIN { printf "%.2fs", x * 1024 / m }')"
	printf '%-30s %6s %7.2f× %9s %8ss %8ss %9s\n' "$2" "$(mbps "$SIZE" "$t")" \
		"$(awk -v a="$c" -v b="$t" 'BEGIN { print a / b }')" "$r" \
		"$(awk -v x="${CPUM[$1]}" -v m="$SIZE_MB" 'BEGIN { printf "%.2f", x * 1024 / m }')" \
		"$(awk -v x="${SCPUM[$1]}" -v m="$SIZE_MB" 'BEGIN { printf "%.2f", x * 1024 / m }')" "$k"
}
row curl "curl GET (ceiling)"
row lm-table "lakemount tbl/@v0/big.bin"
row lm-plain "lakemount plain/big.bin"
[ "$RA_KB" != 0 ] && row lm-ra "lakemount plain, ra ${RA_KB}K"
row s3fs "s3fs"
row rclone "rclone mount"
echo
printf 'lakemount vs s3fs: %.2f×   vs rclone: %.2f×\n' \
	"$(awk -v a="${RES[s3fs]}" -v b="${RES[lm-table]}" 'BEGIN { print a / b }')" \
	"$(awk -v a="${RES[rclone]}" -v b="${RES[lm-table]}" 'BEGIN { print a / b }')"
# Ratios within each round (the tools of one round ran back to back, so they saw about
# the same load from elsewhere), and their median: steadier than a ratio of medians on
# a shared machine.
ratios() { # NUM DEN: "r1 r2 … (median m)" of NUM's time / DEN's time per round
	local a=(${TIMES[$1]}) b=(${TIMES[$2]}) out="" i
	for i in "${!a[@]}"; do out+="$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { printf "%.2f", x / y }') "; done
	echo "${out}(median $(printf '%s\n' $out | median))"
}
echo "per round: lakemount tbl vs curl $(ratios curl lm-table); plain vs curl $(ratios curl lm-plain)"
[ "$RA_KB" != 0 ] && echo "per round: lakemount plain ra ${RA_KB}K vs curl $(ratios curl lm-ra)"
echo "per round: lakemount tbl vs s3fs $(ratios s3fs lm-table); vs rclone $(ratios rclone lm-table)"
echo
echo "P5: 4 parallel readers, 4 × $P5_MB MiB"
for l in p5-lakemount p5-s3fs p5-rclone; do
	printf '%-34s %8s MB/s  peak RSS %s MiB\n' "${l#p5-}" "$(mbps $((4 * P5_MB << 20)) "${RES[$l]}")" \
		"$((RSS[$l] / 1024))"
done
