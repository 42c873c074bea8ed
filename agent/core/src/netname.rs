//! systemd's predictable names for PCI NICs, computed from sysfs facts.
//!
//! Without udev in the initrd the kernel calls NICs `eth0`, `eth1`, …,
//! yet people write `ip=enp0s3:dhcp` because that is the name they see in
//! the booted system. This is the subset of systemd's net_id builtin
//! (systemd.net-naming-scheme(7)) that applies to Ethernet on PCI:
//! `eno<index>` (firmware index), `ens<slot>` (PCI hotplug slot) and
//! `enp<bus>s<slot>` (bus path), each with `f<function>` for functions of a
//! multi-function device and `d<port>` for the ports of one function, and
//! `P<domain>` in front of the path name outside domain 0. USB, platform,
//! MAC-based (`enx…`) names and the naming-scheme version quirks are not
//! computed.

/// What sysfs says about the PCI function behind a network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PciFacts {
    pub domain: u32,
    pub bus: u8,
    pub slot: u8,
    pub function: u8,
    /// The device has several functions (header type bit 7 in config space).
    pub multifunction: bool,
    /// `dev_port` of the netdev (several ports on one function).
    pub dev_port: u32,
    /// `acpi_index`, else SMBIOS `index` of the PCI function.
    pub firmware_index: Option<u32>,
    /// The name of the hotplug slot under /sys/bus/pci/slots whose
    /// `address` is this device's `domain:bus:slot`.
    pub hotplug_slot: Option<String>,
}

/// `0000:00:03.0` → (domain, bus, slot, function).
pub fn parse_pci_address(text: &str) -> Option<(u32, u8, u8, u8)> {
    let (domain, rest) = text.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (slot, function) = rest.split_once('.')?;
    fn hex(s: &str, len: usize) -> Option<&str> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
    }
    Some((
        u32::from_str_radix(hex(domain, 4)?, 16).ok()?,
        u8::from_str_radix(hex(bus, 2)?, 16).ok()?,
        u8::from_str_radix(hex(slot, 2)?, 16).ok()?,
        u8::from_str_radix(hex(function, 1)?, 16).ok()?,
    ))
}

/// The PCI function closest to the netdev on its sysfs device path (a
/// virtio NIC hangs below `virtioN`, below the PCI function).
pub fn pci_address_of(device_path: &str) -> Option<(u32, u8, u8, u8)> {
    device_path.rsplit('/').find_map(parse_pci_address)
}

/// The `<domain>:<bus>:<slot>` a hotplug slot's `address` file holds.
pub fn slot_address(domain: u32, bus: u8, slot: u8) -> String {
    format!("{domain:04x}:{bus:02x}:{slot:02x}")
}

/// The names systemd would give, best first (onboard, slot, path).
pub fn predictable_names(f: &PciFacts) -> Vec<String> {
    let func = if f.function > 0 || f.multifunction {
        format!("f{}", f.function)
    } else {
        String::new()
    };
    let port = if f.dev_port > 0 {
        format!("d{}", f.dev_port)
    } else {
        String::new()
    };
    let mut out = Vec::new();
    // systemd ignores indexes above 16383 (firmware bugs).
    if let Some(i) = f.firmware_index.filter(|i| (1..=16383).contains(i)) {
        out.push(format!("eno{i}{port}"));
    }
    if let Some(s) = f.hotplug_slot.as_deref().filter(|s| is_slot_name(s)) {
        out.push(format!("ens{s}{func}{port}"));
    }
    let domain = if f.domain > 0 {
        format!("P{}", f.domain)
    } else {
        String::new()
    };
    out.push(format!("en{domain}p{}s{}{func}{port}", f.bus, f.slot));
    out.retain(|n| n.len() <= 15);
    out
}

/// Slot names systemd uses are numbers.
fn is_slot_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A name of the forms above, so worth looking for when no NIC has it.
pub fn is_predictable_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("en") else {
        return false;
    };
    let rest = rest
        .strip_prefix('P')
        .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
        .unwrap_or(rest);
    match rest.as_bytes().first() {
        Some(b'o' | b's' | b'p') => {
            rest.len() > 1 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(bus: u8, slot: u8, function: u8) -> PciFacts {
        PciFacts {
            bus,
            slot,
            function,
            ..PciFacts::default()
        }
    }

    #[test]
    fn names_as_systemd_gives_them() {
        let cases: Vec<(PciFacts, Vec<&str>)> = vec![
            // QEMU's virtio-net-pci in slot 3, no hotplug slot exposed.
            (facts(0, 3, 0), vec!["enp0s3"]),
            // The same with ACPI hotplug slots (acpiphp): slot name first.
            (
                PciFacts {
                    hotplug_slot: Some("3".into()),
                    ..facts(0, 3, 0)
                },
                vec!["ens3", "enp0s3"],
            ),
            // A NIC behind a bridge: bus and slot in decimal.
            (facts(0x1a, 0x10, 0), vec!["enp26s16"]),
            // Second function of a dual-port card.
            (facts(2, 0, 1), vec!["enp2s0f1"]),
            // Function 0 of a multi-function device still gets f0.
            (
                PciFacts {
                    multifunction: true,
                    ..facts(2, 0, 0)
                },
                vec!["enp2s0f0"],
            ),
            // Onboard, with a firmware index; a second port on one function.
            (
                PciFacts {
                    firmware_index: Some(1),
                    dev_port: 1,
                    ..facts(0, 25, 0)
                },
                vec!["eno1d1", "enp0s25d1"],
            ),
            // A bogus firmware index is skipped.
            (
                PciFacts {
                    firmware_index: Some(40000),
                    ..facts(0, 25, 0)
                },
                vec!["enp0s25"],
            ),
            // Outside PCI domain 0.
            (
                PciFacts {
                    domain: 2,
                    ..facts(1, 0, 0)
                },
                vec!["enP2p1s0"],
            ),
            // A non-numeric slot name is not used.
            (
                PciFacts {
                    hotplug_slot: Some("pcie-slot".into()),
                    ..facts(3, 0, 0)
                },
                vec!["enp3s0"],
            ),
        ];
        for (f, want) in cases {
            assert_eq!(predictable_names(&f), want, "{f:?}");
        }
    }

    #[test]
    fn pci_addresses() {
        assert_eq!(parse_pci_address("0000:00:03.0"), Some((0, 0, 3, 0)));
        assert_eq!(parse_pci_address("0001:1a:1f.7"), Some((1, 0x1a, 0x1f, 7)));
        for bad in ["virtio0", "0000:00:03", "pci0000:00", "0000:00:03.0.1", ""] {
            assert_eq!(parse_pci_address(bad), None, "{bad}");
        }
        assert_eq!(
            pci_address_of("/sys/devices/pci0000:00/0000:00:03.0/virtio0"),
            Some((0, 0, 3, 0))
        );
        assert_eq!(
            pci_address_of("/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.1"),
            Some((0, 2, 0, 1))
        );
        assert_eq!(pci_address_of("/sys/devices/platform/foo"), None);
        assert_eq!(slot_address(0, 0, 3), "0000:00:03");
    }

    #[test]
    fn which_names_look_predictable() {
        for yes in ["enp0s3", "ens3", "eno1", "enP2p1s0", "enp2s0f1d1"] {
            assert!(is_predictable_name(yes), "{yes}");
        }
        for no in [
            "eth0",
            "en",
            "enx525400123456",
            "bootnet",
            "wlp2s0",
            "enp-1",
        ] {
            assert!(!is_predictable_name(no), "{no}");
        }
    }

    proptest! {
        #[test]
        fn names_fit_and_look_predictable(
            domain in 0u32..0x10000, bus: u8, slot in 0u8..32, function in 0u8..8,
            multifunction: bool, dev_port in 0u32..300, idx in proptest::option::of(0u32..20000),
            hot in proptest::option::of("[0-9a-z]{0,6}"),
        ) {
            let f = PciFacts { domain, bus, slot, function, multifunction, dev_port,
                firmware_index: idx, hotplug_slot: hot };
            let names = predictable_names(&f);
            for n in &names {
                prop_assert!(n.len() <= 15);
                prop_assert!(is_predictable_name(n), "{}", n);
            }
        }

        #[test]
        fn address_parsing_never_panics(text in "\\PC*") {
            let _ = pci_address_of(&text);
        }
    }
}
