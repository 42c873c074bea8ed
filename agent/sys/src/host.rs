//! Host identity and process facts.

use crate::{Result, SysError};

/// Sets the kernel hostname (what `uname -n` shows until the booted
/// system reads /etc/hostname).
pub fn set_hostname(name: &str) -> Result<()> {
    rustix::system::sethostname(name.as_bytes()).map_err(|e| SysError::new("sethostname", name, e))
}

/// The host's identity, behind a trait so tests never rename the machine
/// they run on.
pub trait Hostname {
    fn set_hostname(&mut self, name: &str) -> Result<()>;
}

impl Hostname for crate::Linux {
    fn set_hostname(&mut self, name: &str) -> Result<()> {
        set_hostname(name)
    }
}

/// The running kernel's release (`uname -r`): its module folder's name.
pub fn kernel_release() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

/// CLOCK_MONOTONIC as seconds and microseconds (close to printk's clock).
pub fn monotonic() -> (u64, u32) {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec / 1000).unwrap_or(0),
    )
}

/// Whether this process is PID 1.
pub fn is_pid1() -> bool {
    rustix::process::getpid().is_init()
}

/// Seconds since boot (CLOCK_BOOTTIME), as klibc's UPTIME.
pub fn uptime_secs() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    u64::try_from(ts.tv_sec).unwrap_or(0)
}

/// This process's peak resident set (VmHWM) in kB, from /proc/self/status.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix("VmHWM:")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    })
}

/// Milliseconds on CLOCK_BOOTTIME: since boot, suspend included, which is
/// how a DHCP lease runs out.
pub fn boottime_ms() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    u64::try_from(ts.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1000)
        .saturating_add(u64::try_from(ts.tv_nsec / 1_000_000).unwrap_or(0))
}

/// Lowers the calling thread's priority (nice 10; on Linux nice is per
/// thread), so work that can wait yields the CPU to the boot's critical
/// path on a single-CPU machine.
pub fn yield_to_others() -> crate::Result<()> {
    let tid = rustix::thread::gettid();
    rustix::process::setpriority_process(Some(tid), 10).map_err(|e| {
        crate::SysError::new("setpriority", format!("thread {}", tid.as_raw_nonzero()), e)
    })
}

/// CPUs this process may run on (at least 1). The affinity mask, not
/// std's `available_parallelism`, whose cgroup-quota reading is code an
/// initramfs never needs.
pub fn cpus() -> usize {
    rustix::thread::sched_getaffinity(None).map_or(1, |set| set.count().max(1) as usize)
}

/// What /sys says about the PCI function behind network interface `name`
/// (for systemd's predictable names); `None` when it is not on PCI.
pub fn pci_facts(name: &str) -> Option<netinit_core::netname::PciFacts> {
    use netinit_core::netname::{PciFacts, pci_address_of, slot_address};
    use std::path::Path;
    let net = Path::new("/sys/class/net").join(name);
    let dev = std::fs::canonicalize(net.join("device")).ok()?;
    let (domain, bus, slot, function) = pci_address_of(dev.to_str()?)?;
    // The PCI function itself: `dev` may be a virtio device below it.
    let pci = dev
        .ancestors()
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| netinit_core::netname::parse_pci_address(n).is_some())
        })?
        .to_path_buf();
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let number = |p: &Path| read(p).and_then(|t| t.trim().parse::<u32>().ok());
    // Header type, byte 0x0e of config space: bit 7 marks a multi-function device.
    let multifunction = std::fs::read(pci.join("config"))
        .ok()
        .and_then(|c| c.get(0x0e).copied())
        .is_some_and(|h| h & 0x80 != 0);
    let want = slot_address(domain, bus, slot);
    let hotplug_slot = std::fs::read_dir("/sys/bus/pci/slots")
        .ok()
        .and_then(|mut d| {
            d.find_map(|e| {
                let e = e.ok()?;
                let a = read(&e.path().join("address"))?;
                (a.trim() == want).then(|| e.file_name().into_string().ok())?
            })
        });
    Some(PciFacts {
        domain,
        bus,
        slot,
        function,
        multifunction,
        dev_port: number(&net.join("dev_port")).unwrap_or(0),
        firmware_index: number(&pci.join("acpi_index")).or_else(|| number(&pci.join("index"))),
        hotplug_slot,
    })
}
