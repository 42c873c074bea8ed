#!/bin/bash
# dracut module: netinit mounts the network root. Copy this folder to
# /usr/lib/dracut/modules.d/95netinit and build with --add netinit.

check() {
    require_binaries netinit || return 1
    # Only on request: it replaces dracut's own network root handling.
    return 255
}

depends() {
    echo base
}

installkernel() {
    instmods nfs nfsv3 nfsv4 squashfs overlay loop af_packet
    instmods "=drivers/net/ethernet" virtio_net
}

install() {
    inst_binary netinit
    # Before rootfs-block's parser (cmdline 95), which would wait for
    # root=/dev/nfs as a block device.
    # shellcheck disable=SC2154 # $moddir is set by dracut
    inst_hook cmdline 92 "$moddir/netinit-cmdline.sh"
    inst_hook mount 90 "$moddir/netinit-mount.sh"
}
