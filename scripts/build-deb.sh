#!/usr/bin/env bash
# Builds the Debian package target/debian/netinit_VERSION_amd64.deb with
# dpkg-deb: the static netinit and netinit-mkinitrd, the initramfs-tools
# hook and boot script, the dracut module and the man pages. The hook files
# come unchanged from initramfs-hooks/. Prints the .deb's path last.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/debian}
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[[ -n $version ]] || { echo "build-deb: no version in Cargo.toml [workspace.package]" >&2; exit 1; }
# Reproducible: file times and the man pages' dates from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

target=x86_64-unknown-linux-musl
cargo build --release --locked -p netinit -p netinit-mkinitrd --target "$target" >&2
bin=target/$target/release
for b in netinit netinit-mkinitrd; do
  file "$bin/$b" | grep -q 'static' || { echo "build-deb: $bin/$b is not statically linked" >&2; exit 1; }
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
d=$root/netinit
umask 022
install -d "$d/DEBIAN" "$d/usr/sbin" "$d/usr/share/doc/netinit" \
  "$d/usr/share/man/man7" "$d/usr/share/man/man8" \
  "$d/usr/share/initramfs-tools/hooks" "$d/usr/share/initramfs-tools/scripts" \
  "$d/usr/lib/dracut/modules.d/95netinit" "$d/usr/share/lintian/overrides"
for b in netinit netinit-mkinitrd; do
  # Already stripped by the release profile; .comment only names the compilers.
  objcopy --remove-section=.comment "$bin/$b" "$d/usr/sbin/$b"
  chmod 755 "$d/usr/sbin/$b"
done
h=initramfs-hooks
install -m755 $h/initramfs-tools/hooks/netinit "$d/usr/share/initramfs-tools/hooks/netinit"
install -m644 $h/initramfs-tools/scripts/netinit "$d/usr/share/initramfs-tools/scripts/netinit"
install -D -m755 $h/initramfs-tools/scripts/init-premount/netinit "$d/usr/share/initramfs-tools/scripts/init-premount/netinit"
for f in "$h"/dracut/95netinit/*; do
  install -m755 "$f" "$d/usr/lib/dracut/modules.d/95netinit/"
done
scripts/build-man.sh -z "$root/man"
install -m644 "$root/man/netinit.8.gz" "$root/man/netinit-mkinitrd.8.gz" "$d/usr/share/man/man8/"
install -m644 "$root/man/netinit.cmdline.7.gz" "$d/usr/share/man/man7/"
install -m644 packaging/debian/copyright "$d/usr/share/doc/netinit/copyright"
sed "s/@VERSION@/$version/" packaging/debian/changelog | gzip -9n >"$d/usr/share/doc/netinit/changelog.gz"
chmod 644 "$d/usr/share/doc/netinit/changelog.gz"
install -m644 packaging/debian/lintian-overrides "$d/usr/share/lintian/overrides/netinit"
# initramfs-tools rebuilds the initrds once, at the end of the apt run.
echo "activate-noawait update-initramfs" >"$d/DEBIAN/triggers"
chmod 644 "$d/DEBIAN/triggers"

size=$(du -sk --exclude=DEBIAN "$d" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" packaging/debian/control.in >"$d/DEBIAN/control"
(cd "$d" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 644 "$d/DEBIAN/control" "$d/DEBIAN/md5sums"
find "$d" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/netinit_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$d" "$deb" >&2
echo "$deb"
