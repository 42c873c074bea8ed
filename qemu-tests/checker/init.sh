#!/bin/sh
# netinit lab checker: /sbin/init of every test root. It proves the boot
# from inside the booted system, prints one NETINIT-CHECK line of JSON and
# powers off. What to expect comes from lab.* words on the cmdline (the
# kernel ignores dotted words it doesn't know).
export PATH=/bin:/sbin
read -r up _ < /proc/uptime
# First thing, for the benchmark: time from boot to the switched root.
echo "NETINIT-MARK uptime=$up"
# lab.debug=1: state that explains a slow hand-off (bench investigations).
if grep -q 'lab\.debug=1' /proc/cmdline; then
    for q in /sys/block/loop*/queue/read_ahead_kb /sys/block/loop*/loop/backing_file /sys/block/loop*/loop/dio; do
        [ -e "$q" ] && echo "NETINIT-DEBUG $q $(cat "$q")"
    done
    grep -E '^(MemTotal|MemFree|MemAvailable|Cached):' /proc/meminfo | sed 's/^/NETINIT-DEBUG /'
    sed 's/^/NETINIT-DEBUG mount /' /proc/mounts
    grep -E '^(thp_|compact_|pgfault|pgalloc_normal|nr_anon_transparent)' /proc/vmstat | sed 's/^/NETINIT-DEBUG vmstat /'
    cat /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag | sed 's/^/NETINIT-DEBUG thp /'
    sed 's/^/NETINIT-DEBUG irq /' /proc/interrupts
    sed 's/^/NETINIT-DEBUG softirq /' /proc/softirqs
    sed -n 's/^/NETINIT-DEBUG stat /p' /proc/1/stat
    # profile=N on the cmdline: the kernel's hottest code (samples, bucket
    # address, the symbol it falls in). The first word is the bucket size.
    if [ -r /proc/profile ]; then
        stext=$(awk '$3=="_stext"{print $1}' /proc/kallsyms)
        od -An -tu4 -w4 -v /proc/profile | awk 'NR==1 {step=$1} NR>1 && $1>20 {print (NR-2)*step, $1}' |
            while read -r off n; do
                a=$(printf '%016x' $((0x$stext + off)))
                sym=$(awk -v a="$a" '$1 <= a {s=$1" "$3} $1 > a {print s, "next", $1, $3; exit}' /proc/kallsyms)
                echo "NETINIT-DEBUG prof $n $a $sym"
            done
    fi
fi

arg() { sed -n "s/.*lab\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
failures=""
check() { # name ok|bad detail
    if [ "$2" != ok ]; then
        failures="$failures $1"
        echo "NETINIT-FAIL $1: $3"
    fi
}
is() { if "$@" >/dev/null 2>&1; then echo ok; else echo bad; fi; }

# / is an overlay over squashfs over NFS (live), or NFS itself (diskless).
rootfs=$(awk '$2=="/"{t=$3} END{print t}' /proc/mounts)
want_root=$(arg root)
check root_fs "$(is test "$rootfs" = "$want_root")" "/ is $rootfs, want $want_root"
# lab.overlay=1: a read-only NFS root under a tmpfs overlay (rd.overlay).
# A write must land in the tmpfs upper layer and never reach the export.
overlay_ok() {
    grep -q ' / overlay .*lowerdir=/run/netinit/nfs' /proc/mounts || return 1
    grep -qE ' /run/netinit/nfs nfs4? ro[ ,]' /proc/mounts || return 1
    grep -q ' /run/netinit/overlay tmpfs' /proc/mounts || return 1
    echo written-in-ram > /overlay-probe || return 1
    test "$(cat /run/netinit/overlay/upper/overlay-probe)" = written-in-ram || return 1
    test ! -e /run/netinit/nfs/overlay-probe
}
nbd_write_ok() {
    echo written-over-nbd > /nbd-probe && sync || return 1
    echo 3 > /proc/sys/vm/drop_caches
    test "$(cat /nbd-probe)" = written-over-nbd
}
want_nbd=$(arg nbd)
if [ -n "$want_nbd" ]; then
    # An NBD device holds the root (or its lower layer); after switch_root
    # the page cache is dropped so every read below goes over the kernel's
    # NBD connection, which must have survived.
    check nbd_mount "$(is grep -qE "^/dev/nbd[0-9]+ (/|/run/netinit/nbd) $want_nbd " /proc/mounts)" "no $want_nbd from /dev/nbdN at / or /run/netinit/nbd: $(grep nbd /proc/mounts)"
    sync
    echo 3 > /proc/sys/vm/drop_caches
    check nbd_read "$(is md5sum /bin/busybox)" "cannot re-read /bin/busybox from the NBD device"
    if [ "$rootfs" = ext4 ]; then
        check nbd_write "$(is nbd_write_ok)" "a synced write to the ext4 root failed"
    fi
    nfs_file=/nfs-only.txt
# lab.distro=1: the distribution's own boot script (live-boot, casper)
# mounted the root after netinit's network-only hook: its mounts, not
# netinit's; the NFS file is read through the medium it mounted.
elif [ "$(arg distro)" = 1 ]; then
    nfs_file="$(arg medium)/nfs-only.txt"
elif [ "$(arg overlay)" = 1 ]; then
    check nfs_overlay "$(is overlay_ok)" "/ is not NFS (ro) under a tmpfs overlay, or a write reached the export"
    nfs_file=/run/netinit/nfs/nfs-only.txt
elif [ -n "$(arg http)" ]; then
    # lab.http=iso|sfs: the image came over HTTP into a tmpfs; an ISO is
    # loop-mounted at /run/netinit/iso and carries the medium marker.
    check squashfs "$(is grep -q ' /run/netinit/image/0 squashfs ro' /proc/mounts)" "no squashfs at /run/netinit/image/0"
    check http_tmpfs "$(is grep -q ' /run/netinit/http tmpfs' /proc/mounts)" "no tmpfs at /run/netinit/http"
    if [ "$(arg http)" = iso ]; then
        check iso "$(is grep -q ' /run/netinit/iso iso9660 ro' /proc/mounts)" "no iso9660 at /run/netinit/iso"
        nfs_file=/run/netinit/iso/nfs-only.txt
    else
        nfs_file=""
    fi
elif [ "$rootfs" = overlay ]; then
    check squashfs "$(is grep -q ' /run/netinit/image/0 squashfs ro' /proc/mounts)" "no squashfs at /run/netinit/image/0"
    check nfs_mount "$(is grep -qE ' /run/netinit/nfs nfs4? ' /proc/mounts)" "no NFS mount at /run/netinit/nfs"
    nfs_file=/run/netinit/nfs/nfs-only.txt
else
    nfs_file=/nfs-only.txt
fi
want_vers=$(arg vers)
if [ -n "$want_vers" ]; then
    check nfs_version "$(is grep -qE " nfs4? .*vers=$want_vers" /proc/mounts)" "NFS is not vers=$want_vers"
fi
# lab.server / lab.opts: the server address and options the NFS root was mounted with.
nfs_line=$(grep -E '^[^ ]+ (/|/run/netinit/nfs) nfs4? ' /proc/mounts | head -n 1)
want_server=$(arg server)
if [ -n "$want_server" ]; then
    check nfs_server "$(is sh -c "echo '$nfs_line' | grep -qE '[ ,]addr=$want_server([ ,]|\$)'")" "NFS mount is not from $want_server: $nfs_line"
fi
for o in $(arg opts | tr , ' '); do
    check "nfs_opt_$o" "$(is sh -c "echo '$nfs_line' | grep -qE '[ ,]$o([ ,]|\$)'")" "NFS mount lacks $o: $nfs_line"
done
# A file that exists only on the NFS server, read after switch_root.
if [ -n "$nfs_file" ]; then
    check nfs_file "$(is test "$(cat "$nfs_file" 2>/dev/null)" = nfs-only)" "cannot read $nfs_file"
fi
# lab.kmsg=TEXT (_ for a space): a line netinit logged says so.
want_kmsg=$(arg kmsg | tr _ ' ')
if [ -n "$want_kmsg" ]; then
    check kmsg "$(is sh -c "dmesg | grep -F 'netinit: ' | grep -qF '$want_kmsg'")" "no netinit log line with '$want_kmsg'"
fi
layers=$(arg layers)
if [ -n "$layers" ]; then
    check layers "$(is test "$(grep -c ' /run/netinit/image/[0-9]* squashfs' /proc/mounts)" = "$layers")" "want $layers squashfs layers"
    check top_layer "$(is test -e /etc/top-layer)" "the top layer's file is missing"
fi
# lab.medium=PATH: the export is also where the layout's userland looks
# for its medium (/cdrom, /run/live/medium, /run/archiso/bootmnt).
want_medium=$(arg medium)
if [ -n "$want_medium" ]; then
    check medium "$(is test "$(cat "$want_medium/nfs-only.txt" 2>/dev/null)" = nfs-only)" "the medium is not at $want_medium: $(grep " $want_medium " /proc/mounts)"
fi
# toram: every loop device behind a layer reads a copy in RAM, not the NFS file.
toram_ok() {
    grep -q ' /run/netinit/toram tmpfs' /proc/mounts || return 1
    for f in /sys/block/loop*/loop/backing_file; do
        grep -q '^/run/netinit/toram/' "$f" || return 1
    done
}
if [ "$(arg toram)" = 1 ]; then
    check toram "$(is toram_ok)" "images not looped from /run/netinit/toram"
fi
# lab.toram=0: toram was asked for but declined; the images are read over NFS.
over_nfs() {
    ! grep -q ' /run/netinit/toram ' /proc/mounts || return 1
    for f in /sys/block/loop*/loop/backing_file; do
        [ -e "$f" ] || continue
        grep -q '^/run/netinit/nfs/' "$f" || return 1
    done
}
if [ "$(arg toram)" = 0 ]; then
    check toram "$(is over_nfs)" "toram declined, yet images are not looped from /run/netinit/nfs: $(cat /sys/block/loop*/loop/backing_file 2>/dev/null | tr '\n' ' ')"
fi

# The boot interface kept its address, and the hand-off files are right.
conf=$(find /run -maxdepth 1 -name "net-*.conf" | head -n 1)
# shellcheck disable=SC1090 # written by netinit, klibc format
[ -n "$conf" ] && . "$conf"
check net_conf "$(is test -n "$DEVICE")" "no /run/net-IFACE.conf"
# IPv6 alone: no IPv4 address to keep (IPV4ADDR=0.0.0.0).
if [ "$IPV4ADDR" != 0.0.0.0 ] || [ -z "$(arg ipv6)" ]; then
    check address "$(is sh -c "ip -4 addr show dev '$DEVICE' | grep -q 'inet $IPV4ADDR/'")" "$DEVICE does not have $IPV4ADDR"
fi
check link_up "$(is sh -c "ip link show dev '$DEVICE' | grep -q ',UP'")" "$DEVICE is not up"
check proto "$(is test "$PROTO" = "$(arg proto)")" "PROTO=$PROTO, want $(arg proto)"
# klibc's file is IPv4 only: an IPv6 root server, or IPv6 alone, leaves
# ROOTSERVER at 0.0.0.0.
case "$want_server:$IPV4ADDR" in
*:*:* | *:0.0.0.0) ;;
*) check rootserver "$(is test "$ROOTSERVER" = "${want_server:-10.77.0.1}")" "ROOTSERVER=$ROOTSERVER" ;;
esac
want_rootpath=$(arg rootpath)
if [ -n "$want_rootpath" ]; then
    check rootpath "$(is test "$ROOTPATH" = "$want_rootpath")" "ROOTPATH=$ROOTPATH, want $want_rootpath"
fi
want_dev=$(arg dev)
if [ -n "$want_dev" ]; then
    check boot_nic "$(is test "$DEVICE" = "$want_dev")" "booted from $DEVICE, want $want_dev"
fi
# A process whose command line starts with "$1 " runs (the lease keepers
# show their words there).
runs_as() {
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' < "$f" 2>/dev/null | grep -q "^$1 " && return 0
    done
    return 1
}
# "$@" succeeds within 5 s (the keepers start just before this init).
soon() {
    for _ in 1 2 3 4 5; do
        "$@" && return 0
        sleep 1
    done
    "$@"
}

# lab.ipv6=PREFIX: netinit's IPv6 address is on the boot NIC, inside
# PREFIX, past DAD, and handed off in /run/net6-IFACE.conf.
want6=$(arg ipv6)
if [ -n "$want6" ]; then
    conf6=$(find /run -maxdepth 1 -name "net6-*.conf" | head -n 1)
    # shellcheck disable=SC1090 # written by netinit
    [ -n "$conf6" ] && . "$conf6"
    check net6_conf "$(is test -n "$DEVICE6")" "no /run/net6-IFACE.conf"
    line6=$(ip -6 addr show dev "${DEVICE6:-none}" 2>/dev/null | grep "inet6 $IPV6ADDR/$IPV6NETMASK")
    check ipv6_addr "$(is test -n "$line6")" "${DEVICE6:-?} lacks $IPV6ADDR/$IPV6NETMASK"
    check ipv6_dad "$(is sh -c "echo '$line6' | grep -vq tentative")" "$IPV6ADDR is still tentative"
    case "$IPV6ADDR" in "$want6"*) ok6=ok ;; *) ok6=bad ;; esac
    check ipv6_prefix "$ok6" "IPV6ADDR=$IPV6ADDR, want $want6..."
    echo "NETINIT-IPV6 $DEVICE6 $IPV6ADDR/$IPV6NETMASK $IPV6PROTO"
    # lab.keeper6=1: a DHCPv6 lease with a finite lifetime, so PID 1
    # started @netinit-lease6 for it, spared from sendsigs.
    if [ "$(arg keeper6)" = 1 ]; then
        check keeper6 "$(is soon runs_as "@netinit-lease6 iface=$DEVICE6")" "no @netinit-lease6 for $DEVICE6"
        check keeper6_addr "$(is runs_as "@netinit-lease6 .* addr=$IPV6ADDR")" "@netinit-lease6 keeps another address than $IPV6ADDR"
        check sendsigs_omit6 "$(is soon test -s /run/sendsigs.omit.d/netinit-lease6.pid)" "no /run/sendsigs.omit.d/netinit-lease6.pid"
    fi
    # lab.keeper6_renews=N: by N s of uptime the keeper has renewed the
    # lease (a REPLY it accepted), and the address and the root are still
    # there.
    renew6_by=$(arg keeper6_renews)
    if [ -n "$renew6_by" ]; then
        renewed6() { dmesg | grep -q 'netinit-lease6: .*: renewed with '; }
        while ! renewed6 && read -r up _ < /proc/uptime && [ "${up%.*}" -lt "$renew6_by" ]; do
            sleep 2
        done
        check keeper6_renewed "$(is renewed6)" "no DHCPv6 renewal by $renew6_by s of uptime: $(dmesg | grep netinit-lease6 | tail -n 3)"
        check ipv6_kept "$(is sh -c "ip -6 addr show dev '$DEVICE6' | grep -q 'inet6 $IPV6ADDR/'")" "$IPV6ADDR gone after the renewal"
        echo 3 > /proc/sys/vm/drop_caches
        check root_reads6 "$(is test "$(cat "$nfs_file" 2>/dev/null)" = nfs-only)" "the NFS root no longer reads"
        echo "NETINIT-INFO $(dmesg | grep 'netinit-lease6: .*: renewed with ' | head -n 1)"
    fi
fi
if [ "$(arg dns)" = 1 ]; then
    check resolv_conf "$(is grep -q '^nameserver 10.77.0.1' /etc/resolv.conf)" "no nameserver in /etc/resolv.conf"
fi
# lab.nameservers: exactly these in resolv.conf, in order (rd.peerdns=0).
want_ns=$(arg nameservers)
if [ -n "$want_ns" ]; then
    got_ns=$(awk '/^nameserver/ {printf "%s%s", s, $2; s=","}' /etc/resolv.conf)
    check nameservers "$(is test "$got_ns" = "$want_ns")" "resolv.conf has '$got_ns', want '$want_ns'"
fi
want_host=$(arg hostname)
if [ -n "$want_host" ]; then
    check hostname "$(is test "$(hostname)" = "$want_host")" "hostname is $(hostname), want $want_host"
    check etc_hostname "$(is grep -qx "$want_host" /etc/hostname)" "/etc/hostname"
fi
if [ "$(arg managers)" = 1 ]; then
    check nm_conf "$(is grep -q "unmanaged-devices=.*interface-name:$DEVICE" /run/NetworkManager/conf.d/90-netinit.conf)" "NetworkManager conf"
    check networkd "$(is grep -q '^KeepConfiguration=yes' "/run/systemd/network/10-netinit-$DEVICE.network")" "networkd unit"
    check netplan "$(is grep -q 'critical: true' "/run/netplan/$DEVICE.yaml")" "netplan yaml"
    check ifupdown "$(is grep -q "^iface $DEVICE inet manual" "/etc/network/interfaces.d/netinit-$DEVICE")" "ifupdown stanza"
fi

# lab.netdev=KIND: networkd gets a .netdev for the VLAN or bond netinit made.
want_netdev=$(arg netdev)
if [ -n "$want_netdev" ]; then
    check netdev "$(is grep -q "^Kind=$want_netdev" "/run/systemd/network/10-netinit-$DEVICE.netdev")" "no networkd .netdev of kind $want_netdev for $DEVICE"
fi
# lab.also=IFACE:ADDR: a second ip= word configured IFACE.
also=$(arg also)
if [ -n "$also" ]; then
    check also "$(is sh -c "ip -4 addr show dev '${also%%:*}' | grep -q 'inet ${also#*:}/'")" "${also%%:*} does not have ${also#*:}"
fi
# lab.route=NET:GW: the rd.route= route, and no default route beside it.
want_route=$(arg route)
if [ -n "$want_route" ]; then
    check route "$(is sh -c "ip route | grep -q '^${want_route%%:*} via ${want_route#*:} '")" "no route to ${want_route%%:*} via ${want_route#*:}: $(ip route | tr '\n' '|')"
    check no_default "$(is sh -c '! ip route | grep -q ^default')" "a default route: $(ip route | tr '\n' '|')"
fi
# lab.failover=SLAVE (a bond): the lab takes SLAVE's link down once this
# prints; the bond moves to another slave and a file read from the NFS
# root after dropping the page cache has the checksum it had before.
failover=$(arg failover)
if [ -n "$failover" ]; then
    bonding=/sys/class/net/$DEVICE/bonding
    big=/bin/busybox
    sync
    echo 3 > /proc/sys/vm/drop_caches
    want=$(md5sum "$big" | cut -d' ' -f1)
    was=$(cat "$bonding/active_slave")
    check active_slave "$(is test "$was" = "$failover")" "active slave is '$was', want $failover"
    echo "NETINIT-FAILOVER ready: active slave $was"
    i=0
    while [ "$(cat "$bonding/active_slave")" = "$was" ] && [ "$i" -lt 60 ]; do
        sleep 1
        i=$((i + 1))
    done
    now=$(cat "$bonding/active_slave")
    echo 3 > /proc/sys/vm/drop_caches
    got=$(md5sum "$big" | cut -d' ' -f1)
    check failover "$(is test -n "$now" -a "$now" != "$was")" "active slave still '$now' after $i s"
    check failover_carrier "$(is test "$(cat "/sys/class/net/$was/carrier")" = 0)" "$was still has carrier"
    check failover_checksum "$(is test -n "$want" -a "$got" = "$want")" "$big read $want before, $got after"
    echo "NETINIT-INFO failover: $was -> $now after $i s, $big $got"
fi

# lab.lease_until=N: until N s of uptime, every 5 s, the address is still
# there and the NFS root still reads, while the lease keeper renews.
keeper_running() {
    runs_as @netinit-lease
}
lease_until=$(arg lease_until)
if [ -n "$lease_until" ]; then
    rounds=0
    lost=0
    while read -r up _ < /proc/uptime && [ "${up%.*}" -lt "$lease_until" ]; do
        sleep 5
        rounds=$((rounds + 1))
        ip -4 addr show dev "$DEVICE" | grep -q "inet $IPV4ADDR/" || lost=$((lost + 1))
        [ "$(cat "$nfs_file" 2>/dev/null)" = nfs-only ] || lost=$((lost + 1))
    done
    check lease_held "$(is test "$lost" = 0)" "$lost of $rounds checks lost the address or the NFS root"
    check keeper "$(is keeper_running)" "no @netinit-lease process"
    check sendsigs_omit "$(is test -s /run/sendsigs.omit.d/netinit-lease.pid)" "no /run/sendsigs.omit.d/netinit-lease.pid"
fi

# lab.hostile=1: a rogue DHCP server sent shell metacharacters, newlines,
# control bytes and MTU 68; none of it may reach the hand-off or run.
if [ "$(arg hostile)" = 1 ]; then
    check not_run "$(is test ! -e /tmp/netinit-pwned)" "a hostile hostname ran a command"
    # "(none)" is the kernel's default: nothing was set.
    check hostname_safe "$(is sh -c 'hostname | grep -qxE "[A-Za-z0-9.-]*|\(none\)"')" "hostname is $(hostname)"
    if [ -e /etc/hostname ]; then
        check etc_hostname_safe "$(is grep -qx '[A-Za-z0-9.-]*' /etc/hostname)" "/etc/hostname: $(head -c 80 /etc/hostname)"
    fi
    check resolv_keywords "$(is sh -c '! grep -vE "^(#|search [A-Za-z0-9_. -]*$|nameserver [0-9.]*$)" /etc/resolv.conf')" "resolv.conf: $(tr '\n' '|' < /etc/resolv.conf)"
    check resolv_no_rogue_ns "$(is sh -c '! grep -q 6.6.6.6 /etc/resolv.conf')" "rogue nameserver in resolv.conf"
    # klibc quoting: NAME= then single-quoted runs and \-escaped characters.
    conf_pat="^[A-Za-z0-9_]+=('[^']*'|\\\\.)+\$"
    check conf_lines "$(is sh -c "! grep -vE \"\$1\" '$conf'" sh "$conf_pat")" "$conf has a line that is not NAME='value'"
    mtu=$(cat "/sys/class/net/$DEVICE/mtu")
    check mtu "$(is test "$mtu" -ge 576)" "MTU $mtu on $DEVICE"
    # shellcheck disable=SC3028 # HOSTNAME comes from net-IFACE.conf, sourced above
    echo "NETINIT-INFO hostile: address $IPV4ADDR, HOSTNAME=$HOSTNAME, DNSDOMAIN=$DNSDOMAIN, mtu $mtu, nfs $(grep ' /run/netinit/nfs ' /proc/mounts | cut -d' ' -f4 | cut -c1-160)"
fi

# lab.rwgone=1 (read-write NFS root): a ping of 1111 bytes tells the lab's
# relay to cut the server off for 15 s; the write must wait for it (a hard
# mount) and read back intact from the server afterwards.
if [ "$(arg rwgone)" = 1 ]; then
    dd if=/dev/urandom of=/run/src.bin bs=64k count=32 2>/dev/null
    want=$(md5sum /run/src.bin | cut -d' ' -f1)
    ping -c 1 -W 1 -s 1111 10.77.0.1 >/dev/null 2>&1
    read -r t0 _ < /proc/uptime
    cp /run/src.bin /written.bin && sync
    read -r t1 _ < /proc/uptime
    echo 3 > /proc/sys/vm/drop_caches
    got=$(md5sum /written.bin | cut -d' ' -f1)
    check rw_checksum "$(is test "$got" = "$want")" "wrote $want, read back $got"
    echo "NETINIT-INFO rwgone: write+sync from $t0 to $t1 s uptime, checksum $got"
fi

if [ -z "$failures" ]; then result=pass; else result=fail; fi
echo "NETINIT-CHECK {\"result\":\"$result\",\"root_fs\":\"$rootfs\",\"device\":\"$DEVICE\",\"address\":\"$IPV4ADDR\",\"proto\":\"$PROTO\",\"failures\":\"${failures# }\"}"
if grep -q 'lab.demo' /proc/cmdline; then
    echo "netinit demo: this is the booted live system. Look around (cat /proc/mounts, ip addr, cat /run/net-*.conf); 'poweroff -f' or Ctrl-A X ends QEMU."
    exec setsid cttyhack sh
fi
sync
poweroff -f
