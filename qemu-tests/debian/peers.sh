#!/usr/bin/env bash
# Builds the benchmark's peer initrds for the lab's Debian kernel, each in
# its own bookworm debootstrap chroot with that exact linux-image package:
#   live-boot.img  Debian live-boot (live-boot-initramfs-tools), mkinitramfs
#   dracut.img     dracut + dracut-network + dracut-live, nfs/livenet/dmsquash-live
# Output: $CACHE/peers/<recipe-hash>/ (path printed last on stdout), with
# sizes.tsv (name, compressed, uncompressed bytes), packages.txt, the
# initrds' file lists and recipe.txt. A cached recipe is not rebuilt.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"

# zstd: initramfs-tools' default compressor (a Recommends, so named here).
LIVE_PACKAGES=(live-boot live-boot-initramfs-tools initramfs-tools busybox klibc-utils zstd)
# nfs-common for mount.nfs, procps for pgrep (network), curl (url-lib, which livenet needs).
# No systemd: dracut then builds its shell-init initrd with network-legacy
# (dhclient), its leanest netboot setup, so the ratio is a conservative one.
DRACUT_PACKAGES=(dracut dracut-core dracut-network dracut-live nfs-common isc-dhcp-client procps curl)
# live-boot's documented netboot setting: base and network modules, no
# block drivers; the live-boot hook adds squashfs, overlay and loop.
LIVE_CONF="MODULES=netboot"
DRACUT_ARGS=(--no-hostonly --force --add "nfs livenet dmsquash-live network-legacy")
# What each initrd must hold for an NFS-hosted squashfs on virtio-net
# (paths as lsinitramfs/lsinitrd print them, matched as regexes).
LIVE_MUST=(usr/bin/nfsmount usr/bin/ipconfig lib/live/boot/9990-mount-nfs.sh
  'virtio_net\.ko' 'virtio_pci\.ko' 'nfsv3\.ko' 'squashfs\.ko' 'overlay\.ko' 'loop\.ko')
DRACUT_MUST=(sbin/livenetroot sbin/dmsquash-live-root lib/nfs-lib.sh 'sbin/mount\.nfs' sbin/dhclient
  'virtio_net\.ko' 'virtio_pci\.ko' 'nfsv3\.ko' 'squashfs\.ko' 'overlay\.ko' 'loop\.ko')

# Kernel first with its own initrd generation off (INITRD=No); each
# generator then builds once, explicitly.
install_kernel() { # ROOT
  cp "$kdeb" "$1/tmp/kernel.deb"
  apt_install "$1" /tmp/kernel.deb
  rm -f "$1/tmp/kernel.deb"
  [[ -f $1/lib/modules/$kver/modules.dep ]] || die "$kpkg left no modules.dep in the chroot"
}

build_live_boot() {
  local root=$work/live-boot
  bootstrap "$root"
  chroot_mount "$root"
  # initramfs-tools first, so the kernel's initrd alternative is settled.
  apt_install "$root" "${LIVE_PACKAGES[@]}"
  install_kernel "$root"
  sed -i "s/^MODULES=.*/$LIVE_CONF/" "$root/etc/initramfs-tools/initramfs.conf"
  say "mkinitramfs ($LIVE_CONF) for $kver"
  in_chroot "$root" mkinitramfs -o /tmp/initrd.img "$kver" >&2
  cp "$root/tmp/initrd.img" "$out/live-boot.img"
  in_chroot "$root" lsinitramfs /tmp/initrd.img >"$out/live-boot.files"
  grep -E '^COMPRESS=|^MODULES=' "$root/etc/initramfs-tools/initramfs.conf" >"$out/live-boot.conf"
  versions "$root" "$kpkg" "${LIVE_PACKAGES[@]}" >>"$out/packages.txt"
  chroot_umount
}

build_dracut() {
  local root=$work/dracut
  bootstrap "$root"
  chroot_mount "$root"
  # dracut provides linux-initramfs-tool, so the kernel won't pull initramfs-tools.
  apt_install "$root" "${DRACUT_PACKAGES[@]}"
  install_kernel "$root"
  say "dracut ${DRACUT_ARGS[*]} for $kver"
  in_chroot "$root" dracut "${DRACUT_ARGS[@]}" --kver "$kver" /tmp/initrd.img >&2
  cp "$root/tmp/initrd.img" "$out/dracut.img"
  in_chroot "$root" lsinitrd /tmp/initrd.img >"$out/dracut.files"
  versions "$root" "${DRACUT_PACKAGES[@]}" | grep -v "^$kpkg " >>"$out/packages.txt"
  chroot_umount
}

# The recipe: everything that decides what gets built (not how it is
# reported), so the cache key changes exactly when the initrds would.
recipe() {
  declare -p LIVE_PACKAGES DRACUT_PACKAGES LIVE_CONF DRACUT_ARGS SUITE MIRROR SECURITY
  declare -f install_kernel build_live_boot build_dracut bootstrap apt_install in_chroot
}

# Fails unless each initrd lists every file it needs; runs on cached
# results too, so a broken cache is noticed before a boot is.
verify() { # DIR
  must_list "$1/live-boot.files" "${LIVE_MUST[@]}"
  must_list "$1/dracut.files" "${DRACUT_MUST[@]}"
}

must_list() { # LIST PATTERN...
  local list=$1 pattern
  shift
  for pattern in "$@"; do
    grep -qE "$pattern" "$list" || die "$(basename "$list" .files) initrd lacks $pattern (see $list)"
  done
}

need_root
kpkg=$(kernel_package)
kver=${kpkg#linux-image-}
kdeb=$(kernel_deb "$kpkg")
key=$(recipe_hash <(recipe) "$kdeb" -- "${LIVE_PACKAGES[@]}" "${DRACUT_PACKAGES[@]}")
# One build at a time: a second run waits, then finds the first one's result.
mkdir -p "$CACHE/peers"
exec 9>"$CACHE/peers/.lock"
flock -n 9 || { say "another peers.sh is building; waiting for it"; flock 9; }
out=$CACHE/peers/$key
if [[ -e $out/done ]]; then
  verify "$out"
  say "cached: $out"
  echo "$out"
  exit 0
fi

work=$CACHE/work/peers-$$
cleanup() {
  chroot_umount
  remove_tree "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
remove_tree "$out" # an earlier, interrupted build of this recipe
mkdir -p "$work" "$out"

: >"$out/packages.txt"
build_live_boot
build_dracut
verify "$out"
{
  echo "kernel $kpkg ($(basename "$kdeb"))"
  echo "live-boot: mkinitramfs -o initrd.img $kver  with $LIVE_CONF"
  echo "dracut: dracut ${DRACUT_ARGS[*]} --kver $kver initrd.img"
} >"$out/recipe.txt"
{
  printf 'name\tcompressed\tuncompressed\n'
  for n in live-boot dracut; do
    read -r c u < <(initrd_sizes "$out/$n.img")
    printf '%s\t%s\t%s\n' "$n" "$c" "$u"
  done
} >"$out/sizes.tsv"
touch "$out/done"
say "built: $out"
cat "$out/sizes.tsv" >&2
echo "$out"
