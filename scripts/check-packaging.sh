#!/usr/bin/env bash
# The packages, checked without installing them on this host:
# - the Debian package (scripts/build-deb.sh): exactly the expected files
#   with their modes, and lintian-clean (every override carries its reason
#   in packaging/debian/lintian-overrides; an unused one fails too);
# - the Arch PKGBUILD: makepkg cannot run on Debian, so its package() runs
#   in bash with srcdir/pkgdir set, and must install exactly the paths
#   mkinitcpio looks in (/usr/lib/initcpio/{install,hooks}/netinit, from
#   mkinitcpio's _d_install/_d_hooks) and the binary the install hook adds.
# The deb is also installed and booted in a Debian chroot by the lab
# scenario deb-package.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== Debian package"
deb=$(scripts/build-deb.sh "$tmp/deb" | tail -n 1)
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $1, $6}' | sed 's| \./| /|' | sort >"$tmp/deb.list"
cat >"$tmp/deb.want" <<'LIST'
-rw-r--r-- /usr/share/doc/netinit/changelog.gz
-rw-r--r-- /usr/share/doc/netinit/copyright
-rw-r--r-- /usr/share/initramfs-tools/scripts/netinit
-rw-r--r-- /usr/share/lintian/overrides/netinit
-rw-r--r-- /usr/share/man/man7/netinit.cmdline.7.gz
-rw-r--r-- /usr/share/man/man8/netinit-mkinitrd.8.gz
-rw-r--r-- /usr/share/man/man8/netinit.8.gz
-rwxr-xr-x /usr/lib/dracut/modules.d/95netinit/module-setup.sh
-rwxr-xr-x /usr/lib/dracut/modules.d/95netinit/netinit-cmdline.sh
-rwxr-xr-x /usr/lib/dracut/modules.d/95netinit/netinit-mount.sh
-rwxr-xr-x /usr/sbin/netinit
-rwxr-xr-x /usr/sbin/netinit-mkinitrd
-rwxr-xr-x /usr/share/initramfs-tools/hooks/netinit
-rwxr-xr-x /usr/share/initramfs-tools/scripts/init-premount/netinit
LIST
sort -o "$tmp/deb.want" "$tmp/deb.want"
if ! diff -u "$tmp/deb.want" "$tmp/deb.list"; then
  echo "packaging: $deb does not hold exactly the expected files (diff above: - expected, + packaged)" >&2
  exit 1
fi
# The initramfs-tools hook copies the binary from where the package puts it.
# shellcheck disable=SC2016 # a literal line of the hook
grep -q 'NETINIT_BIN="${NETINIT_BIN:-/usr/sbin/netinit}"' initramfs-hooks/initramfs-tools/hooks/netinit ||
  { echo "packaging: the initramfs-tools hook no longer takes /usr/sbin/netinit; fix build-deb.sh" >&2; exit 1; }
# pedantic, info and experimental tags fail too; so does an unused override.
lintian --pedantic --info --display-experimental \
  --fail-on error,warning,info,pedantic,experimental "$deb" 2>&1 | { grep -v '^running with root privileges' || true; }
echo "packaging: $(basename "$deb"): $(wc -l <"$tmp/deb.list") files as expected, lintian clean ($(grep -c '^netinit:' packaging/debian/lintian-overrides) overrides, each with its reason)"

echo "== Arch PKGBUILD"
shellcheck -s bash packaging/arch/PKGBUILD
bash -n packaging/arch/PKGBUILD
mkdir -p "$tmp/arch/src" "$tmp/arch/pkg"
(
  set -euo pipefail
  # shellcheck disable=SC2034 # makepkg's variables, read by the PKGBUILD
  startdir=$PWD/packaging/arch srcdir=$tmp/arch/src pkgdir=$tmp/arch/pkg
  # shellcheck source=/dev/null # checked on its own above
  . packaging/arch/PKGBUILD
  build >/dev/null 2>&1
  package
)
(cd "$tmp/arch/pkg" && find . -type f -printf '%m /%P\n' | sort) >"$tmp/arch.list"
# mkinitcpio 41 looks for HOOKS entries in _d_install and _d_hooks
# ('/etc/initcpio/…:/usr/lib/initcpio/…'); a package owns the /usr/lib ones.
# shellcheck disable=SC2016 # a literal pattern
install_hook=$(grep -o 'add_binary "${NETINIT_BIN:-[^}]*}"' initramfs-hooks/mkinitcpio/install/netinit | sed 's/.*:-\(.*\)}"/\1/')
[[ -n $install_hook ]] || { echo "packaging: cannot find the binary path in the mkinitcpio install hook's add_binary" >&2; exit 1; }
sort >"$tmp/arch.want" <<LIST
755 $install_hook
755 /usr/bin/netinit-mkinitrd
644 /usr/lib/initcpio/install/netinit
644 /usr/lib/initcpio/hooks/netinit
755 /usr/lib/dracut/modules.d/95netinit/module-setup.sh
755 /usr/lib/dracut/modules.d/95netinit/netinit-cmdline.sh
755 /usr/lib/dracut/modules.d/95netinit/netinit-mount.sh
644 /usr/share/man/man8/netinit.8.gz
644 /usr/share/man/man8/netinit-mkinitrd.8.gz
644 /usr/share/man/man7/netinit.cmdline.7.gz
644 /usr/share/licenses/netinit/LICENSE
LIST
if ! diff -u "$tmp/arch.want" "$tmp/arch.list"; then
  echo "packaging: PKGBUILD's package() does not install exactly the expected paths (diff above)" >&2
  exit 1
fi
for kind in install hooks; do
  cmp "initramfs-hooks/mkinitcpio/$kind/netinit" "$tmp/arch/pkg/usr/lib/initcpio/$kind/netinit"
done
cmp target/x86_64-unknown-linux-musl/release/netinit "$tmp/arch/pkg$install_hook"
echo "packaging: PKGBUILD package(): $(wc -l <"$tmp/arch.list") paths as expected; mkinitcpio hooks at /usr/lib/initcpio/{install,hooks}/netinit, binary at $install_hook"
