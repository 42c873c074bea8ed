#!/usr/bin/env bash
# Installs everything netinit's build, tests and lab need on Debian 12.
# Idempotent; run as root. Used by scripts/test.sh, scripts/demo.sh and CI.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config cpio gzip xz-utils zstd kmod file
  # lab: QEMU, PXE, DHCP/TFTP, NFS server, images
  qemu-system-x86 ipxe-qemu pxelinux syslinux-common dnsmasq-base rpcbind
  nfs-ganesha nfs-ganesha-vfs squashfs-tools busybox-static iproute2
  # hook tests and real-system roots
  shellcheck debootstrap
  # Debian's mkinitramfs, for the initramfs-tools hook test (standard on Debian)
  initramfs-tools-core
  # tests (dhclient: a real DHCP client for the lease keeper to step aside for)
  jq iputils-ping isc-dhcp-client
  # boot storm: tcpdump counts the DHCP packets the server's bridge sees
  tcpdump
  # a private bus for connmand in the hand-off test (dhcpcd, connman and
  # ifupdown themselves are only downloaded and unpacked, never installed)
  dbus-daemon
  # packaging: man page lint, the Debian package's lint
  mandoc lintian
  # UEFI lab (OVMF, GRUB's EFI netboot image) and the server recipes'
  # checkers (kea-dhcp4 -t, nginx -t; nginx also serves HTTP boot in the lab)
  ovmf grub-efi-amd64-bin kea-dhcp4-server nginx-light
  # the HTTP scenarios' casper and dracut ISOs
  xorriso
  # netplan YAML check in the hand-off tests (libyaml, as netplan)
  python3-yaml
  # NBD roots in the lab (started only inside its namespace) and the handshake test
  nbd-server nbdkit
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # kea, nginx and nbd-server are servers: their packages must not start them on this
  # host's interfaces (the lab runs them in its namespace). policy-rc.d 101
  # is Debian's way to say so, for the length of the install.
  guard=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
    trap 'rm -f "$guard"' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Nor at the next boot, on a host that runs systemd.
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now nginx.service kea-dhcp4-server.service nbd-server.service 2>/dev/null || true
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
  rustup target add x86_64-unknown-linux-musl
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
# Fuzzing (scripts/fuzz.sh): libFuzzer's instrumentation needs nightly; cargo-fuzz from crates.io.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup +nightly component list --installed | grep -q '^clippy' || rustup +nightly component add clippy
command -v cargo-fuzz >/dev/null || cargo +nightly install cargo-fuzz --locked
