#!/usr/bin/env bash
# Installs the Debian package built by `make deb` on this machine, uses the installed program
# as a user would (version, man page, a render of the sample gallery, the unit checked by
# systemd-analyze), then purges it and checks that nothing it installed is left.
# Usage: scripts/test-package.sh target/debian/framecast_<version>_<arch>.deb
set -euo pipefail

deb=${1:?usage: $0 PACKAGE.deb}
[[ $# -eq 1 ]] || { echo "test-package: one package, got: $*" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }

# Never replace a framecast this script did not install.
if dpkg -s framecast >/dev/null 2>&1; then
  fail "a framecast package is already installed; remove it first (dpkg -r framecast)"
fi
[[ ! -e /usr/bin/framecast ]] || fail "/usr/bin/framecast exists and is not from a package"

work=$(mktemp -d)
cleanup() {
  rm -rf "$work"
  if dpkg -s framecast >/dev/null 2>&1; then "${sudo[@]}" dpkg --purge framecast >/dev/null || true; fi
}
trap cleanup EXIT

echo "test-package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\|Installed-Size\):/  \1:/p'

# A second-level retry: another dpkg user may hold the lock for a moment.
for attempt in 1 2 3 4 5 6; do
  if "${sudo[@]}" dpkg -i "$deb"; then break; fi
  [[ $attempt -lt 6 ]] || fail "dpkg -i failed"
  sleep 10
done
dpkg -L framecast | sort > "$work/files"
echo "test-package: installed files:"
while read -r path; do [[ -d "$path" ]] || echo "  $path"; done < "$work/files"

for expected in /usr/bin/framecast /lib/systemd/system/framecast.service /etc/default/framecast \
  /usr/share/man/man1/framecast.1.gz /usr/share/man/man1/framecast-serve.1.gz \
  /usr/share/man/man1/framecast-render.1.gz /usr/share/bash-completion/completions/framecast \
  /usr/share/zsh/vendor-completions/_framecast /usr/share/fish/vendor_completions.d/framecast.fish; do
  if ! grep -qx "$expected" "$work/files" && ! grep -qx "/usr$expected" "$work/files"; then
    fail "the package lacks $expected"
  fi
done
dpkg-query -W -f='${Conffiles}\n' framecast | grep -q /etc/default/framecast ||
  fail "/etc/default/framecast is not a conffile"

[[ $(command -v framecast) == /usr/bin/framecast ]] || fail "framecast is not /usr/bin/framecast"
version=$(framecast --version)
echo "test-package: $version"
[[ $version == "framecast $(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"* ]] ||
  fail "unexpected version: $version"
readelf -S --wide /usr/bin/framecast > "$work/sections"
grep -q '\.symtab' "$work/sections" && fail "the binary still has its symbol table"
# (.debug_gdb_scripts is not debug information: rustc's pointer to gdb's pretty-printers.)
grep -E '\.debug_(info|line|str|abbrev|ranges|rnglists|loc)' "$work/sections" &&
  fail "the binary has debug sections"

# The sample gallery, rendered by the installed program.
framecast render "$root/assets" --out "$work/frames" --size 640x360 | tee "$work/summary"
photos=$(find "$root/assets" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.png' -o \
  -iname '*.gif' -o -iname '*.webp' -o -iname '*.tif*' \) | wc -l)
frames=$(find "$work/frames" -name '*.jpg' | wc -l)
[[ $frames -eq $photos ]] || fail "$frames frames for $photos photos"

# The unit as installed, where its ExecStart exists.
unit=$(grep -x '.*/systemd/system/framecast.service' "$work/files")
systemd-analyze verify --man=no "$unit" || fail "systemd-analyze verify $unit"
systemd-analyze security --offline=yes --no-pager "$unit" | tail -n 1

"${sudo[@]}" dpkg --purge framecast
dpkg -s framecast >/dev/null 2>&1 && fail "still registered after purge"
left=0
while read -r path; do
  if [[ ! -d "$path" && ( -e "$path" || -L "$path" ) ]]; then
    echo "test-package: left behind: $path" >&2
    left=1
  fi
done < "$work/files"
[[ $left -eq 0 ]] || fail "files left after purge"
[[ ! -e /etc/default/framecast ]] || fail "/etc/default/framecast left after purge"
# Nor a mask or enablement link of the unit, nor deb-systemd-helper's record of it.
for leftover in /etc/systemd/system/framecast.service /etc/systemd/system/*/framecast.service \
  /var/lib/systemd/deb-systemd-helper-enabled/framecast.service.dsh-also \
  /var/lib/systemd/deb-systemd-helper-masked/framecast.service; do
  [[ ! -e $leftover && ! -L $leftover ]] || fail "$leftover left after purge"
done
command -v framecast >/dev/null && fail "framecast still on PATH"
echo "test-package: OK: installed, ran, rendered $frames frames, purged without a trace"
