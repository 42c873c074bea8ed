//! DHCPv4: packet codec and sans-IO client state machine (to be written).
