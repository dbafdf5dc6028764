#!/usr/bin/env bash
# Build the .deb (packaging/build-deb.sh) and inspect it the way CI should:
#   packaging/check-deb.sh [--deb FILE] [--no-install]
# --deb FILE checks an existing package instead of building one; --no-install is passed
# to build-deb.sh (fail rather than apt-get what is missing).
# Checks: control fields (version = meson.build, Depends), the file list, owners and
# modes; `dpkg -x` into a scratch root: binaries run (--version, --help), man pages
# render without warnings, docs and the systemd unit are where the man page says,
# hardening visible in the ELF files (PIE, RELRO, BIND_NOW, non-executable stack, stack
# protector, _FORTIFY_SOURCE; hardening-check too when devscripts is installed),
# systemd-analyze verify on the unit; and, when /dev/fuse is usable, the packaged
# binary mounts a tiny Delta table and unmounts on SIGTERM.
# Prints "ok:"/"FAIL:" lines and ends with "check-deb: N passed, N failed"; exit 0 only
# when nothing failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
deb=""; bargs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb=$2; shift 2 ;;
    --no-install) bargs+=(--no-install); shift ;;
    *) echo "usage: $0 [--deb FILE] [--no-install]" >&2; exit 2 ;;
  esac
done
pass=0; fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # DESCRIPTION COMMAND...
  local d=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi
}
finish() {
  echo "check-deb: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit $?
}
t0=$(date +%s)

if [ -z "$deb" ]; then
  deb=$("$here/build-deb.sh" "${bargs[@]}" | tail -n 1)
  if [ ! -f "$deb" ]; then bad "build-deb.sh produced a .deb"; finish; fi
  ok "build-deb.sh built $(basename "$deb") in $(( $(date +%s) - t0 )) s"
fi
[ -f "$deb" ] || { bad "$deb exists"; finish; }

scratch=$(mktemp -d /tmp/lm-check-deb.XXXXXX)
mnt=""; pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$mnt" ] && fusermount3 -uz "$mnt" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT

# ---- control fields
mver=$(sed -nE "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'([^']+)'.*/\1/p" "$repo/meson.build" | head -1)
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = lakemount ] && ok "Package: lakemount" || bad "Package is $(field Package)"
v=$(field Version)
[ "${v%%-*}" = "$mver" ] && ok "Version $v matches meson.build ($mver)" || bad "Version $v, meson.build says $mver"
deps=$(field Depends)
for d in fuse3 libfuse3-3 libcurl4 libcjson1 liblmdb0 libexpat1 zlib1g libssl3 libc6; do
  case ", $deps," in
    *", $d "*|*", $d,"*) ok "Depends: $d" ;;
    *) bad "Depends lacks $d ($deps)" ;;
  esac
done

# ---- file list, owners, modes
list=$(dpkg-deb -c "$deb")
want=(
  ./usr/bin/lakemount ./usr/bin/lmctl
  ./usr/share/man/man1/lakemount.1.gz ./usr/share/man/man1/lmctl.1.gz
  ./usr/share/doc/lakemount/README.md ./usr/share/doc/lakemount/SEMANTICS.md
  ./usr/share/doc/lakemount/CONFIGURATION.md ./usr/share/doc/lakemount/copyright
  ./usr/share/doc/lakemount/changelog.gz
  ./usr/share/doc/lakemount/examples/lake.conf.example
  ./usr/share/doc/lakemount/examples/mnt-lake.mount
  ./lib/systemd/system/lakemount@.service
)
for f in "${want[@]}"; do
  if grep -qE " ${f//./\\.}\$" <<<"$list"; then ok "contains $f"; else bad "missing $f"; fi
done
odd=$(awk '$2 != "root/root"' <<<"$list")
[ -z "$odd" ] && ok "every file owned by root/root" || bad "not root/root: $odd"
for b in lakemount lmctl; do
  grep -qE "^-rwxr-xr-x .* \./usr/bin/$b\$" <<<"$list" && ok "/usr/bin/$b is 0755" || bad "/usr/bin/$b mode"
done
extra=$(grep -vE " \./(usr/bin|usr/share/man/man1|usr/share/doc/lakemount|lib/systemd/system)(/|\$)| \./(usr|usr/share|usr/share/man|usr/share/doc|lib|lib/systemd)?/?\$" <<<"$list")
[ -z "$extra" ] && ok "nothing installed outside bin, man1, doc, systemd" || bad "unexpected files: $extra"

# ---- unpack and use
root="$scratch/root"
mkdir -p "$root"
if ! dpkg -x "$deb" "$root"; then bad "dpkg -x"; finish; fi
ok "dpkg -x into a scratch root"
lm="$root/usr/bin/lakemount"
out=$("$lm" --version 2>&1)
grep -qx "lakemount $mver" <<<"$out" && ok "lakemount --version: lakemount $mver" || bad "--version says: $out"
for lib in libfuse libcurl OpenSSL LMDB; do
  grep -q "^$lib " <<<"$out" && ok "--version names $lib" || bad "--version lacks $lib"
done
check "lakemount --help exits 0" "$lm" --help
# (the whole help first: grep -q would close the pipe early and, under pipefail, the
# writer's SIGPIPE would count as a failure)
help=$("$lm" --help 2>&1)
grep -q "uid=N" <<<"$help" && ok "--help lists uid=" || bad "--help lacks uid="
"$root/usr/bin/lmctl" >/dev/null 2>&1; [ $? -eq 2 ] && ok "lmctl without arguments: usage, exit 2" || bad "lmctl usage exit"

for page in lakemount lmctl; do
  f="$root/usr/share/man/man1/$page.1.gz"
  warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
  [ -z "$warn" ] && ok "man $page renders without warnings" || bad "man $page: $warn"
  if command -v lexgrog >/dev/null; then
    lexgrog "$f" | grep -q "$page - " && ok "man $page has a NAME line (whatis)" || bad "lexgrog $page"
  fi
done
zcat "$root/usr/share/man/man1/lakemount.1.gz" | grep -q "^\.TH LAKEMOUNT 1 .*lakemount $mver" &&
  ok "lakemount(1) is for version $mver" || bad "lakemount(1) .TH does not name version $mver"

# ---- hardening
for b in lakemount lmctl; do
  f="$root/usr/bin/$b"
  hdr=$(readelf -hW "$f"); ph=$(readelf -lW "$f"); dyn=$(readelf -dW "$f"); syms=$(readelf --dyn-syms -W "$f")
  grep -q "Type:.*DYN" <<<"$hdr" && ok "$b: PIE" || bad "$b: not PIE"
  grep -q "GNU_RELRO" <<<"$ph" && ok "$b: RELRO" || bad "$b: no RELRO"
  grep -qE "BIND_NOW|FLAGS_1.*NOW" <<<"$dyn" && ok "$b: BIND_NOW" || bad "$b: no BIND_NOW"
  grep -E "GNU_STACK" <<<"$ph" | grep -qv "RWE" && ok "$b: stack not executable" || bad "$b: executable stack"
  grep -q "__stack_chk_fail" <<<"$syms" && ok "$b: stack protector" || bad "$b: no stack protector"
  grep -qE "__[a-z]+_chk" <<<"$(grep -v __stack_chk <<<"$syms")" && ok "$b: _FORTIFY_SOURCE" || bad "$b: no fortified calls"
  if command -v hardening-check >/dev/null; then
    hc=$(hardening-check "$f")
    if grep -E "(Position Independent|Stack protected|Fortify Source|Read-only relocations|Immediate binding):.*no" <<<"$hc"; then
      bad "$b: hardening-check"
    else
      ok "$b: hardening-check ($(grep -cE ': yes' <<<"$hc") of $(( $(wc -l <<<"$hc") - 1 )) yes)"
    fi
  fi
done

# ---- the systemd unit
unit="$root/lib/systemd/system/lakemount@.service"
grep -q "^ExecStart=/usr/bin/lakemount -f " "$unit" && ok "unit runs /usr/bin/lakemount -f" || bad "unit ExecStart"
grep -q "^Type=notify" "$unit" && ok "unit is Type=notify" || bad "unit Type"
grep -q "^Restart=on-failure" "$unit" && ok "unit Restart=on-failure" || bad "unit Restart"
grep -q "^EnvironmentFile=/etc/lakemount/%i.conf" "$unit" && ok "unit reads /etc/lakemount/%i.conf" || bad "unit EnvironmentFile"
if command -v systemd-analyze >/dev/null; then
  # Only complaints about the unit itself count (not "not found" of targets/commands that
  # the scratch root does not have).
  sa=$(cd "$root/lib/systemd/system" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$unit" 2>&1 |
       grep -vE "not executable|Unit .* not found|Failed to create .*/start|man " || true)
  [ -z "$sa" ] && ok "systemd-analyze verify lakemount@.service" || bad "systemd-analyze: $sa"
fi

# ---- the packaged binary really mounts
if [ -w /dev/fuse ] && command -v fusermount3 >/dev/null; then
  lake="$scratch/lake"; mnt="$scratch/mnt"
  mkdir -p "$lake/t/_delta_log" "$mnt"
  printf 'PAR1xxxxPAR1' >"$lake/t/part-0.parquet"
  {
    echo '{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}'
    echo '{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[],"configuration":{}}}'
    echo '{"add":{"path":"part-0.parquet","partitionValues":{},"size":12,"modificationTime":1767225600000,"dataChange":true}}'
  } >"$lake/t/_delta_log/00000000000000000000.json"
  "$lm" -f "$lake" "$mnt" >"$scratch/daemon.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q " $mnt fuse" /proc/mounts && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if grep -q " $mnt fuse.lakemount" /proc/mounts; then
    ok "packaged lakemount mounts (fuse.lakemount)"
    want="@info @latest @missing @orphans @recent @removed @storage @v0 "
    [ "$(ls "$mnt/t" | tr '\n' ' ')" = "$want" ] && ok "lists $want" || bad "listing: $(ls "$mnt/t" | tr '\n' ' ') (expected $want)"
    cmp -s "$mnt/t/@v0/part-0.parquet" "$lake/t/part-0.parquet" && ok "reads the bytes" || bad "bytes differ"
    kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
    [ $rc -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc"
    grep -q " $mnt fuse" /proc/mounts && bad "still mounted after SIGTERM" || ok "unmounted after SIGTERM"
  else
    bad "packaged lakemount did not mount: $(cat "$scratch/daemon.log")"
  fi
  # mount(8) → mount.fuse3 → lakemount, in a private mount namespace whose /usr/local/sbin
  # (first on the PATH mount.fuse3's shell falls back to) holds the packaged binary.
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
     unshare --mount --propagation private true 2>/dev/null; then
    out=$(unshare --mount --propagation private sh -c "
      mount -t tmpfs tmpfs /usr/local/sbin && ln -s '$lm' /usr/local/sbin/lakemount &&
      mkdir -p /run/mount && mount -t tmpfs tmpfs /run/mount &&
      mount -t fuse.lakemount '$lake' '$mnt' -o _netdev,nofail,x-systemd.automount,allow_other,uid=1234 &&
      stat -c 'STAT %u %a' '$mnt/t/@v0' && umount '$mnt' && echo UMOUNT_OK" 2>&1)
    grep -q "^STAT 1234 555" <<<"$out" && ok "mount -t fuse.lakemount with fstab options (packaged binary)" ||
      bad "mount -t fuse.lakemount: $out"
    grep -q "^UMOUNT_OK" <<<"$out" && ok "umount" || bad "umount: $out"
  else
    echo "SKIPPED: mount -t fuse.lakemount check (needs root and unshare --mount)"
  fi
else
  echo "SKIPPED: mount check (/dev/fuse not writable or fusermount3 missing)"
fi

echo "check-deb: done in $(( $(date +%s) - t0 )) s"
finish
