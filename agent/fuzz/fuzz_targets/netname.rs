#![no_main]
//! sysfs PCI addresses and the predictable names made of them: never
//! panic, and every name is one `ip=` would recognise.
use libfuzzer_sys::fuzz_target;
use netinit_core::netname::{PciFacts, is_predictable_name, pci_address_of, predictable_names};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_predictable_name(text);
    if let Some((domain, bus, slot, function)) = pci_address_of(text) {
        let facts = PciFacts {
            domain,
            bus,
            slot,
            function,
            multifunction: text.len() % 2 == 0,
            dev_port: u32::from(function),
            firmware_index: Some(text.len() as u32),
            hotplug_slot: Some(text.len().to_string()),
        };
        for name in predictable_names(&facts) {
            assert!(name.len() <= 15 && is_predictable_name(&name), "{name}");
        }
    }
});
