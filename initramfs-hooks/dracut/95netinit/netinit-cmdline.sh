#!/bin/sh
# dracut cmdline hook: claims the root when the cmdline asks for a network
# root netinit mounts (root=/dev/nfs, root=nfs:..., nfsroot=, boot=live or
# boot=casper with netboot=nfs, sys=, archiso_nfs_srv=). root becomes
# netinit:<what it was>, which no block or NFS parser of dracut takes: it
# neither dies with "Don't know how to handle 'root=...'" nor waits for a
# /dev/nfs that never appears. A local root is left to dracut.
# shellcheck disable=SC2034 # root and rootok are read by dracut's init
if netinit explain --netroot; then
    root="netinit:${root:-network}"
    rootok=1
fi
