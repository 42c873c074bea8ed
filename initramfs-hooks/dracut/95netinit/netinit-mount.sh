#!/bin/sh
# dracut mount hook: netinit brings up the network and assembles the root
# on $NEWROOT (NFS, live image, overlay); dracut switches root afterwards.
# Only for a root the cmdline hook claimed; a local root is dracut's.
# shellcheck disable=SC2154 # $NEWROOT and $root are set by dracut
case "$root" in
netinit:*)
    if ! netinit mount-root "$NEWROOT"; then
        warn "netinit could not mount the root on $NEWROOT; the FAILED line above says why"
        emergency_shell
    fi
    ;;
esac
