//! The benchmark's floor: a minimal static `/init` that makes the kernel
//! calls of a network boot and nothing else, one after the other, from a
//! script the lab writes (`/floor.conf`): the same `finit_module` calls
//! netinit made, a static address instead of DHCP, the same mounts, then
//! switch_root and exec. Its time is what the kernel itself costs under
//! the lab's emulation; netinit's time above it is netinit's own.
//!
//! Script lines (words separated by spaces):
//!
//! ```text
//! mod PATH                          finit_module
//! ip IFACE ADDR/PREFIX              link up, wait for carrier, add the address
//! mount SOURCE TARGET FSTYPE ro|rw [DATA]
//! loop IMAGE TARGET                 loop-attach read-only, mount squashfs
//! mkdir PATH
//! switch NEWROOT INIT               move /dev /proc /sys /run, chroot, exec
//! ```
//!
//! Any failure prints one line and powers off: the bench sees no marker.

use std::path::Path;
use std::time::{Duration, Instant};

use netinit_core::net::Ipv4Cidr;
use netinit_sys::Linux;
use netinit_sys::kmod::{Finit, ModuleLoader};
use netinit_sys::loopdev::Loop;
use netinit_sys::mount::{Mount, MountFlags};
use netinit_sys::netlink::{Netlink, RtNetlink};

/// The same bound netinit uses for carrier by default.
const CARRIER_WAIT: Duration = Duration::from_secs(15);

fn main() {
    early_mounts();
    let result = std::fs::read_to_string("/floor.conf")
        .map_err(|e| format!("read /floor.conf: {e}"))
        .and_then(|script| run(&script));
    if let Err(e) = result {
        eprintln!("floor: FAILED: {e}");
    }
    let _ = netinit_sys::power::power_off();
    // PID 1 must not return: the kernel would panic without our line.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn early_mounts() {
    let nosuid = MountFlags::NOSUID;
    let plain = nosuid | MountFlags::NODEV | MountFlags::NOEXEC;
    for (src, target, fstype, flags) in [
        ("devtmpfs", "/dev", "devtmpfs", nosuid),
        ("proc", "/proc", "proc", plain),
        ("sysfs", "/sys", "sysfs", plain),
        ("tmpfs", "/run", "tmpfs", nosuid | MountFlags::NODEV),
    ] {
        let _ = std::fs::create_dir_all(target);
        let _ = Linux.mount(src, Path::new(target), fstype, flags, "");
    }
}

fn run(script: &str) -> Result<(), String> {
    // Loop fds stay open until their filesystem is mounted, as in netinit.
    let mut held = Vec::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split(' ').collect();
        let fail = |e: &dyn std::fmt::Display| format!("{line}: {e}");
        match words.as_slice() {
            ["mod", path] => {
                let name = netinit_core::kmod::name_from_path(path);
                Finit
                    .load(&name, Path::new(path), "")
                    .map_err(|e| fail(&e))?;
            }
            ["ip", iface, cidr] => ip(iface, cidr).map_err(|e| fail(&e))?,
            ["mkdir", path] => std::fs::create_dir_all(path).map_err(|e| fail(&e))?,
            ["mount", src, target, fstype, mode, data @ ..] => {
                let flags = if *mode == "ro" {
                    MountFlags::RDONLY
                } else {
                    MountFlags::empty()
                };
                std::fs::create_dir_all(target).map_err(|e| fail(&e))?;
                let data = data.first().copied().unwrap_or("");
                Linux
                    .mount(src, Path::new(target), fstype, flags, data)
                    .map_err(|e| fail(&e))?;
            }
            ["loop", image, target] => {
                std::fs::create_dir_all(target).map_err(|e| fail(&e))?;
                let dev = Linux.attach(Path::new(image)).map_err(|e| fail(&e))?;
                let src = dev.path.to_string_lossy().into_owned();
                Linux
                    .mount(&src, Path::new(target), "squashfs", MountFlags::RDONLY, "")
                    .map_err(|e| fail(&e))?;
                held.push(dev);
            }
            ["switch", newroot, init] => {
                let newroot = Path::new(newroot);
                netinit_sys::switch::move_api_mounts(newroot).map_err(|e| fail(&e))?;
                let e = match netinit_sys::switch::switch_root(newroot, init, &[], true) {
                    Ok(never) => match never {},
                    Err(e) => e,
                };
                return Err(fail(&e));
            }
            _ => return Err(format!("{line}: unknown line")),
        }
    }
    Err("the script has no switch line".into())
}

/// Link up, carrier, address: what DHCP's result would have been.
fn ip(iface: &str, cidr: &str) -> Result<(), String> {
    let (addr, prefix) = cidr.split_once('/').ok_or("want ADDR/PREFIX")?;
    let cidr = Ipv4Cidr {
        addr: addr.parse().map_err(|_| "bad address")?,
        prefix: prefix.parse().map_err(|_| "bad prefix")?,
    };
    let mut nl = RtNetlink::open().map_err(|e| e.to_string())?;
    let find = |nl: &mut RtNetlink| -> Result<_, String> {
        nl.links()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|l| l.name == iface)
            .ok_or_else(|| format!("no interface {iface}"))
    };
    let link = find(&mut nl)?;
    nl.set_up(link.index).map_err(|e| e.to_string())?;
    let start = Instant::now();
    while !find(&mut nl)?.carrier {
        if start.elapsed() > CARRIER_WAIT {
            return Err(format!("no carrier on {iface}"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    nl.add_address(link.index, cidr, None)
        .map_err(|e| e.to_string())
}
