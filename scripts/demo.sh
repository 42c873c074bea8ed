#!/usr/bin/env bash
# PXE-boots the demo live system in QEMU with the console on this
# terminal: iPXE -> pxelinux.0 -> Debian kernel + netinit initrd -> casper
# live root over NFS from nfs-ganesha, all inside a private network
# namespace. Run as root on Debian 12. Ctrl-A X quits QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo build --release --locked -p netinit-lab
exec target/release/netinit-lab demo
