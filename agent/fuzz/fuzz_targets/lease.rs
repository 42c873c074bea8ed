#![no_main]
//! DHCP bytes → lease → NetState → every hand-off renderer. Whatever a
//! hostile server sends, the files netinit writes for the booted system
//! keep their shape: the klibc file is exactly its 17 assignments and
//! sources back to the lease's values, resolv.conf has only known
//! keywords, the unit files only sections, comments and `Key=Value`.
use libfuzzer_sys::fuzz_target;
use netinit_core::dhcp::client::Lease;
use netinit_core::dhcp::packet::Packet;
use netinit_core::handoff;
use netinit_core::net::MacAddr;
use netinit_fuzz::{KLIBC_KEYS, assert_ini, assert_resolv_conf, klibc_assignments};

fuzz_target!(|data: &[u8]| {
    // The input as a whole packet, and as the options of a plausible ACK.
    let mut ack = Packet::request(7, [0x52, 0x54, 0, 0, 0, 1]);
    ack.op = 2;
    ack.yiaddr = [10, 77, 0, 100].into();
    let mut framed = ack.encode();
    framed.truncate(240);
    framed.extend_from_slice(data);
    for bytes in [data, &framed[..]] {
        let Ok(p) = Packet::decode(bytes) else {
            continue;
        };
        let Ok(lease) = Lease::from_packet(&p, [10, 77, 0, 1].into(), 5) else {
            continue;
        };
        let net = lease.to_net_state("eth0", 2, MacAddr([0x52, 0x54, 0, 0, 0, 1]));

        let klibc = handoff::klibc_net_conf(&net, None, 3);
        let vars = klibc_assignments(&klibc)
            .unwrap_or_else(|e| panic!("klibc file does not parse ({e}):\n{klibc}"));
        let keys: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, KLIBC_KEYS);
        let get = |k: &str| {
            vars.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("HOSTNAME"), Some(net.hostname.as_deref().unwrap_or("")));
        assert_eq!(get("DNSDOMAIN"), Some(net.domain.as_deref().unwrap_or("")));
        assert_eq!(
            get("ROOTPATH"),
            Some(net.root_path.as_deref().unwrap_or(""))
        );
        assert_eq!(get("filename"), Some(net.bootfile.as_deref().unwrap_or("")));

        if let Some(resolv) = handoff::resolv_conf(&net) {
            assert_resolv_conf(&resolv);
        }
        assert_ini(&handoff::networkd_unit(&net));
        assert_ini(&handoff::networkmanager_conf(&net));
        let plan = handoff::netplan_yaml(&net);
        assert!(
            plan.lines()
                .all(|l| !l.contains('\t') && !l.chars().any(char::is_control))
        );
        let ifupdown = handoff::ifupdown_stanza(&net);
        assert_eq!(ifupdown.lines().count(), 2);
        // Only a valid name reaches /etc/hostname and sethostname.
        if let Some(h) = net
            .hostname
            .as_deref()
            .filter(|h| handoff::valid_hostname(h))
        {
            assert!(
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            );
        }
        // `netinit net --json`: control characters are escaped.
        let json = net.to_json(1).to_string();
        assert!(!json.chars().any(char::is_control), "{json}");
        // The MTU that gets configured is never below IPv4's 576.
        if let (Some(mtu), _) = netinit_core::net::choose_mtu(None, net.mtu, None) {
            assert!(mtu >= netinit_core::net::MIN_DHCP_MTU);
        }
    }
});
