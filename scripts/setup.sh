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
  # tests
  jq iputils-ping
  # netplan YAML check in the hand-off tests (libyaml, as netplan)
  python3-yaml
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
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
