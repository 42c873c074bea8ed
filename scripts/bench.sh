#!/usr/bin/env bash
# Benchmarks netinit against Debian live-boot and dracut in the QEMU lab:
# the same Debian kernel, squashfs, NFS export and virtio-net NIC, 5 boots
# each, interleaved. The first run builds the peers' initrds in debootstrap
# chroots (about 8 minutes, cached after). Arguments go to
# `netinit-lab bench` (--boots N, --keep, --smp N, --carrier-delay S, --only
# NAME). It prints the /init's size first (scripts/size.sh). Run as root on
# Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo build --release --locked -p netinit-lab
# The /init's size and its biggest contributors, so growth is seen.
scripts/size.sh 2>/dev/null
exec target/release/netinit-lab bench "$@"
