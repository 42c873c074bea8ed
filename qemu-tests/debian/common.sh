# shellcheck shell=bash
# Shared helpers for the Debian-built lab inputs (peer initrds, the
# systemd root). Sourced, not run. Everything lands in the lab's cache,
# keyed by a hash of the recipe, so a second run is a no-op.

CACHE=${NETINIT_LAB_CACHE:-${HOME:-/root}/.cache/netinit-lab}
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
# shellcheck disable=SC2034 # used by the scripts that source this
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { echo "${0##*/}: $*" >&2; }
die() { say "error: $*"; exit 1; }

need_root() {
  [[ $(id -u) == 0 ]] || die "needs root (debootstrap, chroot, bind mounts)"
  local t
  for t in debootstrap mksquashfs sha256sum zstd xz gzip cpio; do
    command -v "$t" >/dev/null || die "$t missing (scripts/setup.sh installs it)"
  done
}

# The kernel package the lab boots: what linux-image-amd64 depends on now,
# unless the lab already cached one (it keeps using that one).
kernel_package() {
  local cached
  cached=$(find "$CACHE/kernel" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' 2>/dev/null | sort | tail -n 1)
  if [[ -n $cached ]]; then
    echo "linux-image-$cached"
    return
  fi
  apt-cache depends linux-image-amd64 |
    sed -n 's/^ *Depends: \(linux-image-.*-amd64\)$/\1/p' | head -n 1 |
    grep . || die "apt-cache depends linux-image-amd64 names no kernel (apt-get update?)"
}

# The kernel .deb, from the lab's download cache (the same bits the lab
# boots), fetched with apt-get download if missing. Prints its path.
kernel_deb() {
  local pkg=$1 deb
  mkdir -p "$CACHE/deb"
  deb=$(find "$CACHE/deb" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
  if [[ -z $deb ]]; then
    say "fetching $pkg (not installing it on the host)"
    (cd "$CACHE/deb" && apt-get download -q "$pkg" >&2)
    deb=$(find "$CACHE/deb" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
  fi
  [[ -n $deb ]] || die "no .deb for $pkg"
  echo "$deb"
}

# The recipe key: the scripts and files that build it, the kernel .deb,
# and the candidate versions of the named packages in the host's apt lists.
recipe_hash() { # FILE... -- PACKAGE...
  local files=() pkgs=()
  while (($#)) && [[ $1 != -- ]]; do files+=("$1"); shift; done
  (($#)) && shift
  pkgs=("$@")
  {
    sha256sum "${files[@]}" | cut -d' ' -f1
    local p
    for p in "${pkgs[@]}"; do
      echo "$p $(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')"
    done
  } | sha256sum | cut -c1-16
}

# Mounts /proc, /sys and /dev into a chroot; chroot_umount undoes it. The
# caller sets a trap so a failure never leaves them mounted.
CHROOT_MOUNTS=()
chroot_mount() {
  local root=$1 d
  for d in proc sys dev; do
    mkdir -p "$root/$d"
    mountpoint -q "$root/$d" && continue
    case $d in
      proc) mount -t proc proc "$root/proc" ;;
      sys) mount -t sysfs sys "$root/sys" ;;
      dev) mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" ;;
    esac
    CHROOT_MOUNTS+=("$root/$d")
  done
}

chroot_umount() {
  local i m
  for ((i = ${#CHROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
    m=${CHROOT_MOUNTS[i]}
    umount -R "$m" 2>/dev/null || umount -R -l "$m" || say "warning: could not unmount $m"
  done
  CHROOT_MOUNTS=()
}

# Removes a work tree, refusing while anything is mounted under it (a
# bind-mounted /dev must never be deleted through a chroot).
remove_tree() {
  local dir=$1
  [[ -e $dir ]] || return 0
  if grep -q " $(realpath "$dir")/" /proc/mounts; then
    die "refusing to remove $dir: something is still mounted under it"
  fi
  rm -rf --one-file-system "$dir"
}

in_chroot() { # ROOT CMD...
  local root=$1
  shift
  LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive INITRD=No chroot "$root" "$@"
}

# A minbase bookworm in ROOT with the host's suites (bookworm, -updates,
# -security), daemons kept from starting, and packages cached in the lab
# cache so rebuilds don't download again.
bootstrap() { # ROOT [INCLUDE,...]
  local root=$1 include=${2:-}
  mkdir -p "$CACHE/debs"
  say "debootstrap $SUITE (minbase${include:+ + $include}) into $root"
  debootstrap --variant=minbase ${include:+--include="$include"} \
    --cache-dir="$CACHE/debs" "$SUITE" "$root" "$MIRROR" >&2 ||
    die "debootstrap failed (see $root/debootstrap/debootstrap.log)"
  cat >"$root/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
SRC
  # No daemon starts inside the build chroot.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  # No docs, man pages or translations in anything installed from here on.
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-netinit-lab-nodoc" <<'CFG'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
CFG
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$root/etc/apt/apt.conf.d/01-netinit-lab"
}

# apt-get update, upgrade and install PACKAGE... (or ./file.deb) in ROOT,
# with the lab's package cache as apt's archive directory.
apt_install() { # ROOT PACKAGE...
  local root=$1
  shift
  mkdir -p "$root/var/cache/apt/archives"
  mount --bind "$CACHE/debs" "$root/var/cache/apt/archives"
  CHROOT_MOUNTS+=("$root/var/cache/apt/archives")
  in_chroot "$root" apt-get -q update >&2
  in_chroot "$root" apt-get -q -y upgrade >&2
  in_chroot "$root" apt-get -q -y install "$@" >&2
  umount "$root/var/cache/apt/archives"
  unset 'CHROOT_MOUNTS[-1]'
}

# Installed versions of PACKAGE... in ROOT, one "name version" a line.
versions() { # ROOT PACKAGE...
  local root=$1
  shift
  # shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
  in_chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' "$@"
}

# "compressed uncompressed" byte sizes of an initrd: any uncompressed
# early cpio (microcode) is counted as is, the compressed main archive
# through its decoder.
initrd_sizes() { # INITRD
  local img=$1 off dec
  off=$(compressed_offset "$img")
  if [[ -z $off ]]; then
    echo "$(stat -c %s "$img") $(stat -c %s "$img")"
    return
  fi
  case $(magic "$img" "$off") in
    28b52ffd) dec="zstd -dc" ;;
    fd377a58) dec="xz -dc" ;;
    1f8b*) dec="gzip -dc" ;;
    *) die "$img: unknown compression at byte $off" ;;
  esac
  echo "$(stat -c %s "$img") $((off + $(tail -c +$((off + 1)) "$img" | $dec | wc -c)))"
}

magic() { od -An -tx1 -j "$2" -N 4 "$1" | tr -d ' \n'; }

# Byte offset of the compressed segment: walks uncompressed newc cpio
# archives (header 110 bytes, name and data 4-aligned) to their trailers,
# skips the zero padding after each, and stops at the first other magic.
compressed_offset() {
  local img=$1 off=0 size namesize filesize
  size=$(stat -c %s "$img")
  while ((off < size)); do
    case $(magic "$img" "$off") in
      30373037) ;;
      00000000) off=$((off + 4)); continue ;;
      28b52ffd | fd377a58 | 1f8b*) echo "$off"; return ;;
      *) return ;;
    esac
    namesize=$((16#$(dd if="$img" bs=1 skip=$((off + 94)) count=8 status=none)))
    filesize=$((16#$(dd if="$img" bs=1 skip=$((off + 54)) count=8 status=none)))
    off=$(((off + 110 + namesize + 3) / 4 * 4))
    off=$(((off + filesize + 3) / 4 * 4))
  done
}
