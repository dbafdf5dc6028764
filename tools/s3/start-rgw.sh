#!/usr/bin/env bash
# start-rgw.sh DIR [PORT] — a single-node Ceph cluster (mon + memstore OSD) and a RADOS
# Gateway on 127.0.0.1, for the S3 tests and benchmarks. Everything lives in DIR.
#
# Installs radosgw ceph-mon ceph-osd with apt when missing (needs root). Creates a user
# with generated keys and a bucket, and writes DIR/env for tests to source:
#   AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL AWS_REGION
#   AWS_EC2_METADATA_DISABLED LM_S3_ENDPOINT LM_S3_BUCKET LM_S3_URL LM_RGW_DIR LM_RGW_PIDS
#   LM_S3_TLS_ENDPOINT (https on a second port) LM_S3_CA_FILE (the CA that signed its cert)
# Idempotent: if DIR/env describes a gateway that still answers, it exits 0 at once.
# Tunables (environment): LM_RGW_BUCKET (lakemount), LM_RGW_MEM_MB (memstore size,
# 2048), LM_RGW_STORE (memstore | bluestore), LM_RGW_BLUESTORE_GB (bluestore file, 8),
# LM_RGW_TIMEOUT (seconds to wait for each stage, 90).
# Stop with tools/s3/stop-rgw.sh DIR (by PID).
set -euo pipefail

die() { echo "start-rgw: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 DIR [PORT]"
DIR=$1
PORT=${2:-}
BUCKET=${LM_RGW_BUCKET:-lakemount}
MEM_MB=${LM_RGW_MEM_MB:-2048}
STORE=${LM_RGW_STORE:-memstore}
BS_GB=${LM_RGW_BLUESTORE_GB:-8}
TIMEOUT=${LM_RGW_TIMEOUT:-90}

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
ENVF=$DIR/env
CONF=$DIR/ceph.conf

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Already running? Then nothing to do.
if [ -f "$ENVF" ]; then
	# shellcheck disable=SC1090
	( . "$ENVF"
	  for p in $LM_RGW_PIDS; do alive "$p" || exit 1; done
	  curl -s -o /dev/null --max-time 3 "$LM_S3_ENDPOINT/" ) && {
		echo "start-rgw: already running ($ENVF)"; exit 0; }
	echo "start-rgw: stale state in $DIR; stopping leftovers and starting afresh" >&2
	"$(dirname "$0")/stop-rgw.sh" "$DIR" >/dev/null 2>&1 || true
fi

[ "$(id -u)" = 0 ] || die "must run as root (Ceph daemons and apt); try: sudo $0 $*"

need=()
for b in radosgw ceph-mon ceph-osd radosgw-admin ceph-authtool monmaptool ceph; do
	command -v "$b" >/dev/null 2>&1 || need+=("$b")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "start-rgw: installing radosgw ceph-mon ceph-osd (missing: ${need[*]})" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		radosgw ceph-mon ceph-osd >"$DIR/apt.log" 2>&1 ||
	{ DEBIAN_FRONTEND=noninteractive apt-get update >>"$DIR/apt.log" 2>&1 &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		radosgw ceph-mon ceph-osd >>"$DIR/apt.log" 2>&1; } ||
		die "apt-get install radosgw ceph-mon ceph-osd failed; see $DIR/apt.log"
fi
command -v curl >/dev/null || die "curl is needed"

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
pick_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		port_free "$p" && { echo "$p"; return; }
	done
	die "no free TCP port found"
}
MON_PORT=$(pick_port)
if [ -z "$PORT" ]; then
	PORT=$(pick_port)
	[ "$PORT" != "$MON_PORT" ] || PORT=$(pick_port)
else
	port_free "$PORT" || die "port $PORT is already in use on 127.0.0.1"
fi
TLS_PORT=$(pick_port)
while [ "$TLS_PORT" = "$PORT" ] || [ "$TLS_PORT" = "$MON_PORT" ]; do TLS_PORT=$(pick_port); done

rm -rf "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$DIR/run" "$DIR/log" "$DIR/keyring" \
	"$DIR/monmap" "$ENVF" "$DIR/pids" "$DIR/tls"
mkdir -p "$DIR/mon/ceph-a" "$DIR/osd/ceph-0" "$DIR/rgw" "$DIR/run" "$DIR/log" "$DIR/tls"

# https too, on a second port: a CA of our own and a server certificate for 127.0.0.1 and
# localhost signed by it (tests point lakemount's ca_file at ca.pem). Keys stay in DIR.
command -v openssl >/dev/null || die "openssl is needed (the https endpoint's certificates)"
( cd "$DIR/tls" && umask 077 &&
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=lakemount test CA" \
	-keyout ca.key -out ca.pem >/dev/null 2>&1 &&
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key \
	-out server.csr >/dev/null 2>&1 &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext.cnf &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile ext.cnf -out server.pem >/dev/null 2>&1 && chmod 644 ca.pem ) ||
	die "making the test certificates failed"
FSID=$(cat /proc/sys/kernel/random/uuid)
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)

if [ "$STORE" = bluestore ]; then
	OSD_STORE="osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = $((BS_GB << 30))
bluestore_block_path = $DIR/osd/block.img"
else
	OSD_STORE="osd_objectstore = memstore
memstore_device_bytes = $((MEM_MB << 20))"
fi

cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon_host = v1:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
ms_bind_msgr2 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
keyring = $DIR/keyring
run_dir = $DIR/run
admin_socket = $DIR/run/\$cluster-\$name.asok
log_file = $DIR/log/\$cluster-\$name.log
pid_file = $DIR/run/\$name.pid
osd_max_object_size = 1073741824
[mon]
mon_data = $DIR/mon/ceph-\$id
keyring = $DIR/mon/ceph-\$id/keyring
[osd]
osd_data = $DIR/osd/ceph-\$id
keyring = $DIR/osd/ceph-\$id/keyring
$OSD_STORE
[client.rgw.a]
keyring = $DIR/rgw/keyring
rgw_frontends = beast endpoint=127.0.0.1:$PORT ssl_endpoint=127.0.0.1:$TLS_PORT ssl_certificate=$DIR/tls/server.pem ssl_private_key=$DIR/tls/server.key
rgw_dns_name = localhost
rgw_data = $DIR/rgw
CONF

log() { echo "start-rgw: $*" >&2; }
wait_for() {   # wait_for WHAT CMD...
	local what=$1; shift
	local t=0
	until "$@" >/dev/null 2>&1; do
		t=$((t + 1))
		[ $t -le $((TIMEOUT * 2)) ] || die "timed out waiting for $what (logs in $DIR/log)"
		for p in $PIDS; do alive "$p" || die "a daemon died while waiting for $what (logs in $DIR/log)"; done
		sleep 0.5
	done
}
PIDS=""
start_daemon() {   # start_daemon NAME CMD... ; sets PIDS
	local name=$1; shift
	setsid "$@" >"$DIR/log/$name.out" 2>&1 </dev/null &
	PIDS="$PIDS $!"
	echo "$!" >>"$DIR/pids"
}
on_fail() {
	local rc=$?
	if [ $rc -ne 0 ] && [ -n "$PIDS" ]; then
		for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	fi
}
trap on_fail EXIT

C=(-c "$CONF")
log "cluster in $DIR (mon 127.0.0.1:$MON_PORT, rgw 127.0.0.1:$PORT, $STORE)"
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' \
	--cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$DIR/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
	>"$DIR/log/mkfs-mon.out" 2>&1 || die "ceph-mon --mkfs failed (see $DIR/log)"
start_daemon ceph-mon ceph-mon "${C[@]}" -f -i a
wait_for "the monitor" timeout 5 ceph "${C[@]}" mon stat

OSD_ID=$(timeout 30 ceph "${C[@]}" osd new "$OSD_UUID") || die "ceph osd new failed"
OSD_DIR=$DIR/osd/ceph-$OSD_ID
mkdir -p "$OSD_DIR"
ceph-osd "${C[@]}" -i "$OSD_ID" --mkfs --mkkey --osd-uuid "$OSD_UUID" --no-mon-config \
	>"$DIR/log/mkfs-osd.out" 2>&1 || die "ceph-osd --mkfs failed (see $DIR/log/mkfs-osd.out)"
timeout 30 ceph "${C[@]}" auth add "osd.$OSD_ID" osd 'allow *' mon 'allow profile osd' \
	-i "$OSD_DIR/keyring" >/dev/null 2>&1 || die "ceph auth add osd.$OSD_ID failed"
start_daemon ceph-osd ceph-osd "${C[@]}" -f -i "$OSD_ID"
osd_up() { timeout 5 ceph "${C[@]}" osd stat 2>/dev/null | grep -q '1 up.*1 in'; }
wait_for "the OSD to be up and in" osd_up

timeout 30 ceph "${C[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' \
	-o "$DIR/rgw/keyring" >/dev/null 2>&1 || die "creating the client.rgw.a key failed"
start_daemon radosgw radosgw "${C[@]}" -n client.rgw.a -f
wait_for "the gateway on 127.0.0.1:$PORT" curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"

# A user with keys generated by radosgw-admin (no secret on any command line).
USER_JSON=$(timeout 60 radosgw-admin "${C[@]}" user create --uid lakemount \
	--display-name "lakemount tests" 2>/dev/null) || die "radosgw-admin user create failed"
if command -v jq >/dev/null; then
	AK=$(jq -r '.keys[0].access_key' <<<"$USER_JSON")
	SK=$(jq -r '.keys[0].secret_key' <<<"$USER_JSON")
else
	AK=$(sed -n 's/.*"access_key": *"\([^"]*\)".*/\1/p' <<<"$USER_JSON" | head -1)
	SK=$(sed -n 's/.*"secret_key": *"\([^"]*\)".*/\1/p' <<<"$USER_JSON" | head -1)
fi
[ -n "$AK" ] && [ -n "$SK" ] && [ "$AK" != null ] || die "could not read the generated keys"

# Create the bucket: curl's signer is fine for a plain path; the credentials go through
# a config read from stdin, not argv.
code=$(printf 'user = "%s:%s"\n' "$AK" "$SK" | curl -s -K - -o "$DIR/log/mkbucket.out" \
	-w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
	-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$PORT/$BUCKET")
[ "$code" = 200 ] || die "creating bucket $BUCKET failed (HTTP $code, see $DIR/log/mkbucket.out)"

umask 077
cat >"$ENVF.tmp" <<ENV
export AWS_ACCESS_KEY_ID=$AK
export AWS_SECRET_ACCESS_KEY=$SK
export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export LM_S3_ENDPOINT=http://127.0.0.1:$PORT
export LM_S3_BUCKET=$BUCKET
export LM_S3_URL=s3://$BUCKET
export LM_RGW_DIR=$DIR
export LM_S3_TLS_ENDPOINT=https://127.0.0.1:$TLS_PORT
export LM_S3_CA_FILE=$DIR/tls/ca.pem
export LM_RGW_PIDS="$(echo $PIDS)"
ENV
mv "$ENVF.tmp" "$ENVF"
trap - EXIT
log "ready: s3://$BUCKET at http://127.0.0.1:$PORT (env in $ENVF)"
