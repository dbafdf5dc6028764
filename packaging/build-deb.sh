#!/usr/bin/env bash
# Build the lakemount .deb from this source tree:
#   packaging/build-deb.sh [--no-install] [OUTDIR]        (OUTDIR default: build/deb)
# The Debian files live in packaging/debian/ (the tree keeps packaging/ at the top), so
# the script copies the tree's files (git's list: tracked and untracked-but-not-ignored;
# no build directories, no node_modules) to OUTDIR/work/lakemount-VERSION/, puts
# packaging/debian there as debian/, and runs `dpkg-buildpackage -us -uc -b` in it.
# The .deb (and .buildinfo/.changes) end up in OUTDIR; the last line printed is the
# .deb's path. What dpkg-buildpackage needs (dpkg-dev, debhelper, the Build-Depends) is
# installed with apt --no-install-recommends when missing, unless --no-install.
# Environment: LM_DEB_KEEP=1 keeps OUTDIR/work.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
install=1
if [ "${1:-}" = "--no-install" ]; then install=0; shift; fi
out=${1:-$repo/build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
t0=$(date +%s)

say() { echo "build-deb: $*"; }
die() { echo "build-deb: error: $*" >&2; exit 1; }

apt_install() { # PKG...
  [ "$install" = 1 ] || die "missing: $* (run without --no-install, or apt-get install $*)"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  say "apt-get install --no-install-recommends $*"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

# 1. Packaging tools.
missing=()
command -v dpkg-buildpackage >/dev/null || missing+=(dpkg-dev)
command -v dh >/dev/null || missing+=(debhelper)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

# 2. Versions must agree: meson.build is the source of truth.
mver=$(sed -nE "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'([^']+)'.*/\1/p" "$repo/meson.build" | head -1)
dver=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)
[ -n "$mver" ] || die "cannot read the project version from meson.build"
[ "${dver%%-*}" = "$mver" ] ||
  die "packaging/debian/changelog is at $dver but meson.build says $mver: add a changelog entry"

# 3. A clean copy of the tree with debian/ at its top.
work="$out/work"
tree="$work/lakemount-$mver"
rm -rf "$work"
mkdir -p "$tree"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z -co --exclude-standard |
     tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$tree"
else
  tar -C "$repo" --exclude='./build*' --exclude=node_modules --exclude=.git -cf - . |
    tar -xf - -C "$tree"
fi
rm -rf "$tree/debian"
cp -a "$here/debian" "$tree/debian"

# 4. Build-Depends.
if ! (cd "$tree" && dpkg-checkbuilddeps >/dev/null 2>&1); then
  unmet=$(cd "$tree" && dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p')
  # "a (>= 1) | b, c" -> "a c": the first alternative, without version constraints
  pkgs=$(echo "$unmet" | sed -E 's/\([^)]*\)//g; s/\|[^,]*//g; s/,/ /g')
  read -r -a pkgs <<<"$pkgs"
  [ ${#pkgs[@]} -gt 0 ] || die "dpkg-checkbuilddeps failed: $(cd "$tree" && dpkg-checkbuilddeps 2>&1)"
  apt_install "${pkgs[@]}"
  (cd "$tree" && dpkg-checkbuilddeps) || die "build dependencies still unmet"
fi

# 5. Build.
say "dpkg-buildpackage -us -uc -b in $tree"
log="$out/build.log"
if ! (cd "$tree" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
        dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
  tail -n 40 "$log"
  die "dpkg-buildpackage failed (full log: $log)"
fi
rm -f "$out"/lakemount_*.deb "$out"/lakemount-dbgsym_*.deb "$out"/lakemount_*.buildinfo "$out"/lakemount_*.changes
for f in "$work"/*.deb "$work"/*.ddeb "$work"/*.buildinfo "$work"/*.changes; do
  [ -e "$f" ] && mv "$f" "$out/"
done
[ "${LM_DEB_KEEP:-0}" = 1 ] || rm -rf "$work"
deb=$(ls "$out"/lakemount_"$mver"*_*.deb 2>/dev/null | grep -v dbgsym | head -1)
[ -n "$deb" ] || die "no .deb produced (log: $log)"
say "built in $(( $(date +%s) - t0 )) s (log: $log)"
echo "$deb"
