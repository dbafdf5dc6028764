#!/usr/bin/env bash
# issue6.sh — every benchmark of issue 6 (P1–P5) against one Ceph RGW on 127.0.0.1, in
# one run, then the goals and where each stands, as ratios against the baselines
# measured in the same run:
#   P1 + P5  tools/bench/seqread.sh     1 GiB sequential vs curl, s3fs, rclone; 4 readers
#   P2       tools/bench/p2-duckdb.sh   DuckDB GROUP BY over 1.1 GiB vs a local copy, s3fs
#   P3       tools/bench/p3-ls.mjs      ls of a 100k-file version from s3:// after a
#                                       remount vs tmpfs; RSS per file
#   P4       tools/bench/p4-ttfb.sh     time to first byte vs a ranged curl GET
#
#   tools/bench/issue6.sh [--runs N] [--keep]
#
# Environment: LM_BUILD (default <repo>/build; a release-like build), LM_BENCH_OPTS (extra
# -o for lakemount). Needs root (Ceph, FUSE peers; apt installs what is missing). Each
# script gets a bucket of its own on the shared gateway (LM_BENCH_RGW); the full logs
# stay in the scratch folder with --keep. About 20 minutes with --runs 3 on 2 cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${LM_BUILD:-$repo/build}
RUNS=3
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--runs N] [--keep]" >&2; exit 2 ;;
	esac
done
export LM_BUILD=$BUILD

BENCH=issue6
# shellcheck source=tools/bench/common.sh
. "$here/common.sh"
bench_require
bench_install s3fs rclone
bench_workdir
# One gateway for all: bluestore (1 GiB + 1 GiB + 4 x 256 MiB for P1/P5, 1.1 GiB for P2,
# 256 MiB for P4 and the P3 log fit in 12 GB of sparse file).
LM_RGW_STORE=bluestore LM_RGW_BLUESTORE_GB=${LM_RGW_BLUESTORE_GB:-12} bench_start_rgw
export LM_BENCH_RGW=$RGW

step() { # NAME CMD...: run one benchmark, its output both shown and kept
	local name=$1; shift
	echo
	echo "######## $name: $*"
	if ! "$@" 2>&1 | tee "$W/$name.log"; then
		die "$name failed (log: $W/$name.log)"
	fi
}

step seqread "$here/seqread.sh" --runs "$RUNS"
step p2 "$here/p2-duckdb.sh" --runs "$RUNS"
# P3 from S3: the log is uploaded into the gateway's bucket, the daemon reads it over S3.
step p3 env LM_BENCH_S3=1 node "$here/p3-ls.mjs" --runs "$RUNS"
step p4 "$here/p4-ttfb.sh"

pick() { grep -E "$2" "$W/$1.log" | tail -1; }
p3=$(grep '"summary":true' "$W/p3.log" | tail -1)
p3f() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$p3"; }

echo
echo "================ issue 6 benchmarks, one RGW, $RUNS rounds ($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
echo "P1 goal: >= 0.9x curl, >= 2x s3fs, >= 2x rclone"
echo "   $(pick seqread '^lakemount tbl/@v0/big.bin')"
echo "   $(pick seqread '^lakemount vs s3fs')"
echo "   $(pick seqread 'per round: lakemount tbl vs curl')"
echo "P2 goal: <= 1.3x a local copy, cold; and vs s3fs"
echo "   $(pick p2 '^lakemount / local')"
echo "P3 goal: warm ls after remount <= 2x tmpfs; <= 200 B RSS per file"
echo "   warm/tmpfs $(p3f warm_vs_tmpfs)x (warm $(p3f warm_after_remount_ls_s) s, tmpfs $(p3f tmpfs_ls_s) s, cold from S3 $(p3f cold_ls_s) s); $(p3f bytes_per_file) B/file after a remount"
echo "P4 (recorded): time to first byte vs a ranged curl GET"
echo "   $(pick p4 '^lakemount open\+read 1 B at 0')"
echo "   $(pick p4 '^lakemount open\+read last 8 B')"
echo "P5 goal: <= 100 MiB peak RSS, 4 parallel readers"
echo "   $(grep -A1 '^P5:' "$W/seqread.log" | tail -1)"
