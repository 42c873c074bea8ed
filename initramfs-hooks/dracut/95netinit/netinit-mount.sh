#!/bin/sh
# dracut mount hook: netinit brings up the network and assembles the root
# on $NEWROOT (NFS, live image, overlay); dracut switches root afterwards.
# shellcheck disable=SC2154 # $NEWROOT is set by dracut
if ! netinit mount-root "$NEWROOT"; then
    warn "netinit could not mount the root on $NEWROOT; the FAILED line above says why"
    emergency_shell
fi
