#!/usr/bin/env bash
# p4-ttfb.sh — issue 6 benchmark P4: time to first byte of a file through the mount
# against a raw ranged GET (curl) of the same object from the same server (Ceph RGW on
# 127.0.0.1), same run. Also s3fs for context.
#
#   tools/bench/p4-ttfb.sh [--files N] [--keep]
#
# Data: a one-version Delta table of N (32) objects of 8 MiB random bytes, named
# fNN.parquet (the read path treats them as Parquet: a footer read fetches the tail).
# Measured per file, each file read once per mount (cold), median over the files:
#   head   open + read 1 byte at offset 0 + close, in one Python process
#          (lakemount @v0/fNN.parquet, s3fs bench/p4/fNN.parquet) — after an untimed `ls`
#          of the directory, so the listing/snapshot is not part of it
#   footer open + read the last 8 bytes (what DuckDB and pyarrow read first)
#   curl   one curl process, keep-alive, GET Range: bytes=0-0 (head) or bytes=-8 (footer)
#          of every object: time_starttransfer of each (the first includes the connect)
# and lakemount after a remount on the same cache_dir (footer from LMDB: no request).
# Environment: LM_BUILD, LM_BENCH_OPTS, LM_RGW_PORT. Needs root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${LM_BUILD:-$repo/build}
N=32
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--files) N=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--files N] [--keep]" >&2; exit 2 ;;
	esac
done
BENCH=p4
# shellcheck source=tools/bench/common.sh
. "$here/common.sh"
bench_require
command -v s3fs >/dev/null || die "s3fs missing (apt-get install s3fs)"
bench_workdir
LM_RGW_MEM_MB=${LM_RGW_MEM_MB:-1024} bench_start_rgw

echo "== writing and uploading $N × 8 MiB"
D=$W/data/p4
mkdir -p "$D/_delta_log"
NOW_MS=$(($(date +%s) * 1000))
{
	echo "{\"commitInfo\":{\"timestamp\":$NOW_MS,\"operation\":\"WRITE\"}}"
	echo '{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}'
	echo "{\"metaData\":{\"id\":\"5eb1a1c0-0000-4000-8000-000000000004\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"x\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\",\"partitionColumns\":[],\"configuration\":{},\"createdTime\":$NOW_MS}}"
	for i in $(seq -w 0 $((N - 1))); do
		head -c $((8 << 20)) /dev/urandom >"$D/f$i.parquet"
		echo "{\"add\":{\"path\":\"f$i.parquet\",\"partitionValues\":{},\"size\":$((8 << 20)),\"modificationTime\":$NOW_MS,\"dataChange\":true}}"
	done
} >"$D/_delta_log/00000000000000000000.json"
"$BUILD/tools/s3/lm-s3put" -q -o "endpoint=$EP,path_style" "$D" "s3://$B/bench/p4"
printf '%s:%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$W/s3fs.passwd"
chmod 600 "$W/s3fs.passwd"
FILES=$(cd "$D" && ls ./*.parquet | sed 's|^\./||')

mount_lm() { # CACHE_DIR
	"$BUILD/lakemount" -f "s3://$B/bench" "$MNT" \
		-o "endpoint=$EP,path_style,cache_dir=$1${LM_BENCH_OPTS:+,$LM_BENCH_OPTS}" >>"$W/lakemount.log" 2>&1 &
	daemon_pid=$!
	wait_mounted "$daemon_pid" || { tail -5 "$W/lakemount.log" >&2; die "lakemount did not mount"; }
	ls -l "$MNT/p4/@v0" >/dev/null
}
mount_s3fs() {
	s3fs "$B" "$MNT" -f -o "ro,passwd_file=$W/s3fs.passwd,url=$EP" \
		-o use_path_request_style,endpoint=us-east-1,sigv4 >>"$W/s3fs.log" 2>&1 &
	daemon_pid=$!
	wait_mounted "$daemon_pid" || { tail -5 "$W/s3fs.log" >&2; die "s3fs did not mount"; }
	ls -l "$MNT/bench/p4" >/dev/null
}
# Median milliseconds of open + pread(len at off) + close over the files in DIR.
ttfb_fs() { # DIR head|footer
	python3 - "$1" "$2" $FILES <<'EOF'
import os, sys, time
d, kind, files = sys.argv[1], sys.argv[2], sys.argv[3:]
ts = []
for f in files:
    p = os.path.join(d, f)
    t0 = time.perf_counter()
    fd = os.open(p, os.O_RDONLY)
    if kind == 'head':
        b = os.pread(fd, 1, 0)
    else:
        b = os.pread(fd, 8, os.fstat(fd).st_size - 8)
    os.close(fd)
    ts.append((time.perf_counter() - t0) * 1000)
    assert len(b) == (1 if kind == 'head' else 8), p
ts.sort()
print('%.3f' % ts[len(ts) // 2])
EOF
}
ttfb_curl() { # bytes=RANGE
	local args=() f
	for f in $FILES; do args+=(-o /dev/null "$EP/$B/bench/p4/$f"); done
	curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -H "Range: bytes=$1" \
		-w '%{time_starttransfer}\n' "${args[@]}" |
		sort -n | awk '{ a[NR] = $1 * 1000 } END { printf "%.3f\n", a[int((NR + 1) / 2)] }'
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
ttfb_curl 0-0 >/dev/null   # server side warm for everyone
declare -A R
R[curl-head]=$(ttfb_curl 0-0)
R[curl-footer]=$(ttfb_curl -8)
mount_lm "$W/cache"
R[lm-head]=$(ttfb_fs "$MNT/p4/@v0" head)
unmount
rm -rf "$W/cache"
mount_lm "$W/cache"
R[lm-footer]=$(ttfb_fs "$MNT/p4/@v0" footer)
unmount
mount_lm "$W/cache"   # footers now in LMDB
R[lm-footer-remount]=$(ttfb_fs "$MNT/p4/@v0" footer)
unmount
mount_s3fs
R[s3fs-head]=$(ttfb_fs "$MNT/bench/p4" head)
unmount
mount_s3fs
R[s3fs-footer]=$(ttfb_fs "$MNT/bench/p4" footer)
unmount
echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "P4: time to first byte, median over $N files of 8 MiB, each cold (ms)"
printf '%-46s %9s %9s\n' "what" "ms" "vs curl"
row() { printf '%-46s %9.2f %8.2f×\n' "$2" "${R[$1]}" "$(awk -v a="${R[$1]}" -v b="${R[$3]}" 'BEGIN { print a / b }')"; }
row curl-head "curl GET bytes=0-0 (keep-alive)" curl-head
row lm-head "lakemount open+read 1 B at 0" curl-head
row s3fs-head "s3fs open+read 1 B at 0" curl-head
row curl-footer "curl GET bytes=-8 (keep-alive)" curl-footer
row lm-footer "lakemount open+read last 8 B" curl-footer
row lm-footer-remount "lakemount, remount: last 8 B (LMDB)" curl-footer
row s3fs-footer "s3fs open+read last 8 B" curl-footer
