//! The fault matrix: boots through a lossy, slow, late or flapping
//! network. The guest's NIC is not a tap on the bridge but a QEMU UDP
//! socket netdev on the netns's loopback; `netinit-lab shaper` (a child
//! process inside the lab netns) relays its frames to and from the tap,
//! dropping or delaying them as the fault says. The host kernel here has
//! no `sch_netem`, and a relay also gives the protocol-aware faults (NFS
//! silent until 20 s after DHCP answered) that netem cannot.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use argh::FromArgs;

use crate::lab::{Lab, SERVER};
use crate::scenario::{Expect, Scenario, netinit_boot};

/// What the relay does to frames. Times count from the relay's start
/// (the VM starts right after it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// Probability (0-1) of dropping each frame, both directions.
    pub loss: f64,
    /// Added to every frame towards the guest.
    pub delay_ms: u64,
    /// Nothing passes before this many seconds (a switch port in slow
    /// spanning-tree listening/learning; the DHCP server "starts late").
    pub blocked_secs: u64,
    /// NFS, mountd and rpcbind frames are dropped until this many seconds
    /// after the first DHCP reply reached the guest.
    pub nfs_after_dhcp_secs: u64,
    /// Once the guest's first DHCP packet is seen: this many cycles of
    /// 2 s nothing passes, 2 s all passes.
    pub flaps: u32,
    /// A rogue DHCP server answers the guest at once, beside dnsmasq,
    /// with hostile options (see [`rogue_reply`]).
    pub rogue: bool,
    /// Another host holds the first address DHCP offers the guest: it
    /// answers ARP requests and probes for it, as a real host does, and
    /// announces it to the server side every second.
    pub impostor: bool,
    /// When the guest pings with [`PARTITION_PING_SIZE`] bytes (the
    /// checker does, after switch_root, before writing), nothing passes
    /// for this many seconds: the NFS server is gone and comes back.
    pub partition_secs: u64,
    /// No NIC at power-on; QEMU hot-adds it this long after netinit's
    /// first console line.
    pub hotplug_ms: u64,
    /// Carrier flaps (QMP `set_link`) from netinit's first line: this many
    /// times 2 s down, 1 s up.
    pub carrier_flaps: u32,
    /// A trunk port: only frames from the guest tagged with this VLAN
    /// pass (untagged); frames towards it get the tag. 0: no VLAN.
    pub vlan: u16,
}

pub const NONE: Fault = Fault {
    loss: 0.0,
    delay_ms: 0,
    blocked_secs: 0,
    nfs_after_dhcp_secs: 0,
    flaps: 0,
    rogue: false,
    impostor: false,
    partition_secs: 0,
    hotplug_ms: 0,
    carrier_flaps: 0,
    vlan: 0,
};

/// The `set_link` schedule for `carrier_flaps`.
pub fn carrier_flaps(f: &Fault) -> Vec<(Duration, bool)> {
    (0..u64::from(f.carrier_flaps))
        .flat_map(|k| {
            let down = k * 3000;
            [
                (Duration::from_millis(down), false),
                (Duration::from_millis(down + 2000), true),
            ]
        })
        .collect()
}

/// The checker's `ping -s` payload size that starts a partition (a total
/// IPv4 length of 28 more).
pub const PARTITION_PING_SIZE: u16 = 1111;

/// The fault scenarios: name, what, fault, timeout (s).
const MATRIX: [(&str, &str, Fault, u64); 11] = [
    (
        "fault-loss-10",
        "10 % of frames lost in both directions for the whole boot",
        Fault { loss: 0.10, ..NONE },
        300,
    ),
    (
        "fault-loss-30",
        "30 % of frames lost in both directions for the whole boot",
        Fault { loss: 0.30, ..NONE },
        300,
    ),
    (
        "fault-latency-200ms",
        "200 ms added to every frame towards the guest, plus 5 % loss both ways",
        Fault {
            loss: 0.05,
            delay_ms: 200,
            ..NONE
        },
        420,
    ),
    (
        "fault-dhcp-late-20s",
        "the switch port passes nothing for the first 20 s (slow spanning tree; DHCP answers late)",
        Fault {
            blocked_secs: 20,
            ..NONE
        },
        300,
    ),
    (
        "fault-nfs-late-20s",
        "NFS, mountd and rpcbind are silent until 20 s after DHCP answered",
        Fault {
            nfs_after_dhcp_secs: 20,
            ..NONE
        },
        300,
    ),
    (
        "fault-flap-dhcp",
        "from the first DHCP packet, 3 times: 2 s nothing passes, 2 s all passes",
        Fault { flaps: 3, ..NONE },
        300,
    ),
    (
        "fault-rogue-dhcp",
        "a rogue second DHCP server answers first: hostname with shell metacharacters and a newline, \
         MTU 68, a search list and domain with control bytes, root-path with soft,timeo=1",
        Fault {
            rogue: true,
            ..NONE
        },
        300,
    ),
    (
        "fault-address-in-use",
        "another host holds the first address offered (answers ARP probes for it, announces it \
         every second): netinit declines it and boots on the next one",
        Fault {
            impostor: true,
            ..NONE
        },
        120,
    ),
    (
        "fault-nfs-gone-rw",
        "read-write diskless NFS root: 15 s with no server while the booted system writes a file; \
         its checksum after the server is back",
        Fault {
            partition_secs: 15,
            ..NONE
        },
        300,
    ),
    (
        "fault-nic-hotplug",
        "no NIC at power-on; one hot-added (QMP device_add) 3 s after netinit starts",
        Fault {
            hotplug_ms: 3000,
            ..NONE
        },
        120,
    ),
    (
        "fault-carrier-flap",
        "the carrier flaps during DHCP (QMP set_link): 3 times 2 s down, 1 s up, from netinit's first \
         line; the switch port holds DHCP back for the first 8 s so the flaps land in DHCP",
        Fault {
            carrier_flaps: 3,
            blocked_secs: 8,
            ..NONE
        },
        180,
    ),
];

/// A fault scenario's cmdline: the rogue's own root-path, a partition's
/// read-write NFS root, or the live root of the rest.
fn cmdline(name: &str, fault: &Fault) -> String {
    if fault.rogue {
        "boot=live netboot=nfs ip=dhcp".to_owned()
    } else if fault.partition_secs > 0 {
        format!("root=/dev/nfs nfsroot={SERVER}:/export/{name},v3 ip=dhcp")
    } else {
        format!("boot=live netboot=nfs nfsroot={SERVER}:/export/live ip=dhcp")
    }
}

/// What a fault scenario's boot must show if it boots.
fn expect(fault: &Fault) -> Expect {
    let lab = if fault.partition_secs > 0 {
        vec![
            ("root", "nfs".into()),
            ("proto", "dhcp".into()),
            ("rwgone", "1".into()),
        ]
    } else if fault.rogue {
        vec![
            ("root", "overlay".into()),
            ("proto", "dhcp".into()),
            ("hostile", "1".into()),
        ]
    } else {
        vec![("root", "overlay".into()), ("proto", "dhcp".into())]
    };
    Expect::PassOrFail { lab }
}

pub fn scenarios() -> Vec<Scenario> {
    let mut all: Vec<Scenario> = MATRIX
        .iter()
        .map(|(name, what, fault, timeout)| Scenario {
            diskless: (fault.partition_secs > 0).then(|| name.to_string()),
            // dnsmasq's answer, should it win the race against the rogue.
            root_path: fault.rogue.then(|| format!("{SERVER}:/export/live")),
            ..netinit_boot(
                name,
                what,
                cmdline(name, fault),
                handed_off(fault, expect(fault)),
                *timeout,
            )
        })
        .collect();
    all.push(low_ram());
    all
}

/// Under 30 % loss both ways netinit's part ends in tens of seconds, but
/// the booted system's first reads can take longer than any bound (TCP's
/// exponential backoff on the hard NFS mount, each retransmission and its
/// ACK both having to pass): at the bound, a hand-off is enough.
fn handed_off(fault: &Fault, inner: Expect) -> Expect {
    if fault.loss >= 0.3 {
        Expect::HandedOff(Box::new(inner))
    } else {
        inner
    }
}

/// Guest RAM of `fault-toram-low-ram`: the Debian kernel and netinit's
/// initrd boot in it with room to spare, the images do not fit.
const LOW_RAM_MIB: u32 = 256;
/// The padding layer on top of the live image: larger than all of
/// [`LOW_RAM_MIB`], so no accounting of free memory could let it fit.
const PAD_MIB: usize = 288;
const LOW_RAM_EXPORT: &str = "/export/lowram";

/// `toram` on a machine too small for its images. The policy (root.md) is
/// decided before any copy: warn with both sizes and read the images over
/// NFS, so the boot goes on without the copy.
fn low_ram() -> Scenario {
    netinit_boot(
        "fault-toram-low-ram",
        "toram with 256 MiB of guest RAM and 289 MiB of images: netinit says before any copy \
         that they do not fit and boots reading them over NFS",
        format!("boot=live netboot=nfs nfsroot={SERVER}:{LOW_RAM_EXPORT} toram ip=dhcp"),
        Expect::Console(
            Box::new(Expect::Without {
                inner: Box::new(Expect::Without {
                    inner: Box::new(Expect::Pass {
                        lab: vec![
                            ("root", "overlay".into()),
                            ("proto", "dhcp".into()),
                            ("toram", "0".into()),
                        ],
                    }),
                    // A copy's progress line.
                    forbid: "toram: copied",
                }),
                // The line that starts a copy.
                forbid: "available: copying",
            }),
            "available: not copying, reading the image over NFS",
        ),
        150,
    )
}

/// Guest RAM for scenarios that need other than the default.
pub fn mem_mib(name: &str) -> Option<u32> {
    (name == "fault-toram-low-ram").then_some(LOW_RAM_MIB)
}

/// The low-RAM export when a chosen scenario boots it: the live image
/// (built by `roots::build`) and a padding layer above it, named bottom
/// first in live-boot's `filesystem.module`. The padding is incompressible
/// for squashfs's purposes (stored without compression, not zeros, which
/// squashfs would store as holes) and cached: it never changes.
pub fn exports(
    work: &std::path::Path,
    chosen: &[(usize, Scenario)],
) -> Result<Vec<crate::roots::Export>, String> {
    if !chosen.iter().any(|(_, s)| mem_mib(s.name).is_some()) {
        return Ok(Vec::new());
    }
    let pad = crate::util::cache_dir().join(format!("lowram-pad-{PAD_MIB}m.squashfs"));
    if !pad.exists() {
        let stage = work.join("stage/lowram-pad");
        std::fs::create_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
        let chunk = vec![0x55u8; 1 << 20];
        let mut f = std::fs::File::create(stage.join("pad"))
            .map_err(|e| format!("{}: {e}", stage.display()))?;
        for _ in 0..PAD_MIB {
            std::io::Write::write_all(&mut f, &chunk).map_err(|e| format!("pad: {e}"))?;
        }
        drop(f);
        std::fs::create_dir_all(pad.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
        let tmp = pad.with_extension("tmp");
        crate::util::run(
            std::process::Command::new("mksquashfs")
                .arg(&stage)
                .arg(&tmp)
                .args(["-noappend", "-quiet", "-all-root", "-noD", "-no-progress"]),
        )?;
        std::fs::rename(&tmp, &pad).map_err(|e| format!("{}: {e}", pad.display()))?;
        let _ = std::fs::remove_dir_all(&stage);
    }
    let dir = work.join("export/lowram");
    let live = dir.join("live");
    let image = work.join("export/live/live/filesystem.squashfs");
    crate::live_scenarios::link_or_copy(&image, &live.join("filesystem.squashfs"))?;
    crate::live_scenarios::link_or_copy(&pad, &live.join("pad.squashfs"))?;
    std::fs::write(
        live.join("filesystem.module"),
        "filesystem.squashfs\npad.squashfs\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(dir.join("nfs-only.txt"), b"nfs-only\n").map_err(|e| e.to_string())?;
    Ok(vec![crate::roots::Export {
        pseudo: LOW_RAM_EXPORT.into(),
        path: dir,
        rw: false,
    }])
}

/// The VLAN the relay carries for the trunk scenario (l2_scenarios.rs:
/// the host kernel has no 802.1Q and no VLAN-filtering bridge).
pub const TRUNK_VID: u16 = 100;

/// The relay's job for a scenario: the fault matrix's, or the trunk
/// scenario's tagging.
pub fn fault_of(name: &str) -> Option<Fault> {
    MATRIX
        .iter()
        .find(|m| m.0 == name)
        .map(|m| m.2)
        .or_else(|| {
            (name == "vlan-trunk").then_some(Fault {
                vlan: TRUNK_VID,
                ..NONE
            })
        })
}

/// A trunk port's 802.1Q: the guest's frame with tag `vid` loses it;
/// anything else from the guest (untagged, another VLAN) is `None`.
pub fn untag(frame: &[u8], vid: u16) -> Option<Vec<u8>> {
    let tci = frame.get(12..16)?;
    if tci[..2] != [0x81, 0x00] || u16::from_be_bytes([tci[2], tci[3]]) & 0x0fff != vid {
        return None;
    }
    let mut out = frame.get(..12)?.to_vec();
    out.extend_from_slice(frame.get(16..)?);
    Some(out)
}

/// The frame towards the guest with tag `vid` after the MAC addresses.
pub fn tag(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut out = frame.get(..12).unwrap_or(frame).to_vec();
    out.extend_from_slice(&[0x81, 0x00]);
    out.extend_from_slice(&vid.to_be_bytes());
    out.extend_from_slice(frame.get(12..).unwrap_or(&[]));
    out
}

/// The UDP ports on the netns's loopback for scenario `index`: QEMU
/// listens on the first, the relay on the second.
pub fn ports(index: usize) -> (u16, u16) {
    let base = 21000 + 2 * index as u16;
    (base, base + 1)
}

/// Starts the relay for scenario `index`'s first NIC; returns its PID.
pub fn start(lab: &Lab, index: usize, name: &str) -> Result<u32, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let (qemu, relay) = ports(index);
    let log = lab.work.join("logs").join(format!("{name}.shaper"));
    let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let child = lab
        .in_ns(&exe.to_string_lossy())
        .args([
            "shaper",
            "--tap",
            &format!("t{index}n0"),
            "--port",
            &relay.to_string(),
            "--peer",
            &qemu.to_string(),
            "--fault",
            name,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file)
        .spawn()
        .map_err(|e| format!("shaper: {e}"))?;
    crate::cleanup::track_pid(child.id(), "shaper");
    // The relay binds its port before QEMU sends; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    Ok(child.id())
}

/// Internal: relay a fault scenario's frames between QEMU and its tap.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "shaper")]
pub struct ShaperArgs {
    /// the tap (inside the lab netns) on the bridge
    #[argh(option)]
    tap: String,
    /// UDP port on 127.0.0.1 to listen on (QEMU sends here)
    #[argh(option)]
    port: u16,
    /// UDP port on 127.0.0.1 where QEMU listens
    #[argh(option)]
    peer: u16,
    /// the fault scenario's name
    #[argh(option)]
    fault: String,
}

fn open_tap(name: &str) -> Result<std::fs::File, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| format!("/dev/net/tun: {e}"))?;
    // struct ifreq: 16 bytes of name, then the flags (short), padded to 40.
    let mut ifr = [0u8; 40];
    let n = name.len().min(15);
    ifr[..n].copy_from_slice(&name.as_bytes()[..n]);
    let flags = (libc::IFF_TAP | libc::IFF_NO_PI) as u16;
    ifr[16..18].copy_from_slice(&flags.to_ne_bytes());
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    // SAFETY: the fd is an open /dev/net/tun; `ifr` is a 40-byte buffer,
    // the size of struct ifreq, which TUNSETIFF reads and writes.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, ifr.as_mut_ptr()) };
    if rc != 0 {
        return Err(format!(
            "TUNSETIFF {name}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(file)
}

/// Ports whose frames `nfs_after_dhcp_secs` holds back.
const NFS_PORTS: [u16; 3] = [2049, 20048, 111];

/// (source port, destination port) of an IPv4 TCP/UDP frame.
fn l4_ports(frame: &[u8]) -> Option<(u8, u16, u16)> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ihl = usize::from(frame.get(14)? & 0x0f) * 4;
    let proto = *frame.get(23)?;
    if proto != 6 && proto != 17 {
        return None;
    }
    let at = 14 + ihl;
    let p = |o: usize| -> Option<u16> {
        Some(u16::from_be_bytes([
            *frame.get(at + o)?,
            *frame.get(at + o + 1)?,
        ]))
    };
    Some((proto, p(0)?, p(2)?))
}

/// Shared clock and state for both directions.
struct Judge {
    fault: Fault,
    start: Instant,
    first_dhcp_out: std::sync::Mutex<Option<Instant>>,
    first_dhcp_in: std::sync::Mutex<Option<Instant>>,
    /// The address the guest was offered or given (from replies to it).
    guest_addr: std::sync::Mutex<Option<[u8; 4]>>,
    partition_from: std::sync::Mutex<Option<Instant>>,
    rng: std::sync::atomic::AtomicU64,
}

impl Judge {
    fn random(&self) -> f64 {
        use std::sync::atomic::Ordering;
        // xorshift64*: reproducible enough, no dependency.
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether a frame passes; `to_guest` is its direction.
    fn pass(&self, frame: &[u8], to_guest: bool) -> bool {
        let now = Instant::now();
        let f = &self.fault;
        if now < self.start + Duration::from_secs(f.blocked_secs) {
            return false;
        }
        if f.partition_secs > 0 {
            // ICMP echo request of the agreed size from the guest.
            let total = frame.get(16..18).map(|b| u16::from_be_bytes([b[0], b[1]]));
            let trigger = !to_guest
                && frame.get(12..14) == Some(&[0x08, 0x00][..])
                && frame.get(23) == Some(&1)
                && total == Some(PARTITION_PING_SIZE + 28);
            if let Ok(mut from) = self.partition_from.lock() {
                if trigger && from.is_none() {
                    eprintln!("shaper: partition for {} s", f.partition_secs);
                    *from = Some(now);
                }
                if from.is_some_and(|t| now < t + Duration::from_secs(f.partition_secs)) {
                    return false;
                }
            }
        }
        let ports = l4_ports(frame);
        let dhcp = matches!(ports, Some((17, 67, 68)) | Some((17, 68, 67)));
        if dhcp && !to_guest {
            if let Ok(mut first) = self.first_dhcp_out.lock() {
                first.get_or_insert(now);
            }
        }
        if dhcp && to_guest {
            if let Ok(mut first) = self.first_dhcp_in.lock() {
                first.get_or_insert(now);
            }
            // yiaddr: Ethernet, IP header, UDP header, then byte 16.
            let ihl = usize::from(frame.get(14).copied().unwrap_or(0) & 0x0f) * 4;
            let at = 14 + ihl + 8 + 16;
            // The first address offered is the one the impostor holds;
            // the next one, after a decline, is free.
            if let Some(y) = frame.get(at..at + 4) {
                if y != [0, 0, 0, 0] {
                    if let Ok(mut g) = self.guest_addr.lock() {
                        if g.is_none() {
                            *g = <[u8; 4]>::try_from(y).ok();
                        }
                    }
                }
            }
        }
        if f.flaps > 0 {
            if let Some(t0) = self.first_dhcp_out.lock().ok().and_then(|g| *g) {
                let ms = now.duration_since(t0).as_millis();
                if ms < u128::from(f.flaps) * 4000 && ms % 4000 < 2000 {
                    return false;
                }
            }
        }
        if f.nfs_after_dhcp_secs > 0 {
            if let Some((_, sp, dp)) = ports {
                if NFS_PORTS.contains(&sp) || NFS_PORTS.contains(&dp) {
                    let answered = self.first_dhcp_in.lock().ok().and_then(|g| *g);
                    let open = answered
                        .is_some_and(|t| now >= t + Duration::from_secs(f.nfs_after_dhcp_secs));
                    if !open {
                        return false;
                    }
                }
            }
        }
        !(f.loss > 0.0 && self.random() < f.loss)
    }
}

/// The rogue server's address (nothing else uses it) and what it offers.
const ROGUE: [u8; 4] = [10, 77, 0, 254];
const ROGUE_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x66, 0x66, 0x66];

/// The rogue server's answer to a guest's DHCP frame: an OFFER to a
/// DISCOVER, an ACK to a REQUEST naming it. Built with the core's own
/// encoder: the options' bytes are what matters here.
fn rogue_reply(frame: &[u8]) -> Option<Vec<u8>> {
    use netinit_core::dhcp::client::reply_for;
    use netinit_core::dhcp::packet::{MessageType, Packet, opt};
    use netinit_core::dhcp::udp;
    // The guest's request, client port to server port (`udp::unwrap` only
    // takes replies).
    if l4_ports(frame)? != (17, 68, 67) {
        return None;
    }
    let ihl = usize::from(frame.get(14)? & 0x0f) * 4;
    let payload = frame.get(14 + ihl + 8..)?;
    let req = Packet::decode(payload).ok()?;
    let kind = match req.options.message_type()? {
        MessageType::Discover => MessageType::Offer,
        MessageType::Request if req.options.get(opt::SERVER_ID) == Some(&ROGUE[..]) => {
            MessageType::Ack
        }
        _ => return None,
    };
    let search = b"\x03lab\x04te\x07st\x00\x05a\nb;c\x00";
    let options: [(u8, &[u8]); 10] = [
        (opt::SUBNET_MASK, &[255, 255, 255, 0]),
        (opt::ROUTER, &[10, 77, 0, 1]),
        (opt::DNS, &[10, 77, 0, 1]),
        (opt::HOSTNAME, b"evil;reboot$(touch /tmp/netinit-pwned)\nx"),
        (opt::DOMAIN, b"lab.test\x1b[2J nameserver 6.6.6.6"),
        (opt::SEARCH, search),
        (opt::MTU, &68u16.to_be_bytes()),
        (opt::ROOT_PATH, b"10.77.0.1:/export/live,soft,timeo=1"),
        (opt::LEASE_TIME, &3600u32.to_be_bytes()),
        (opt::T1, &1800u32.to_be_bytes()),
    ];
    let reply = reply_for(
        payload,
        kind,
        [10, 77, 0, 240].into(),
        ROGUE.into(),
        &options,
    )?;
    let ip = udp::wrap_reply(ROGUE.into(), &reply);
    let mut out = vec![0xff; 6];
    out.extend_from_slice(&ROGUE_MAC);
    out.extend_from_slice(&[0x08, 0x00]);
    out.extend_from_slice(&ip);
    eprintln!("shaper: rogue {kind:?} to {:02x?}", req.chaddr);
    Some(out)
}

const IMPOSTOR_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0xdd, 0xdd, 0xdd];

/// A gratuitous ARP request: "`addr` is at IMPOSTOR_MAC", to everyone.
fn gratuitous_arp(addr: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&IMPOSTOR_MAC);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&IMPOSTOR_MAC);
    f.extend_from_slice(&addr);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&addr);
    f
}

/// The impostor's ARP reply to a request (or an RFC 5227 probe) that
/// asks who has `addr`; `None` for any other frame.
fn impostor_reply(frame: &[u8], addr: [u8; 4]) -> Option<Vec<u8>> {
    let is_request = frame.get(12..14) == Some(&[0x08, 0x06])
        && frame.get(20..22) == Some(&[0, 1])
        && frame.get(38..42) == Some(&addr);
    if !is_request {
        return None;
    }
    let (asker_mac, asker_ip) = (frame.get(22..28)?, frame.get(28..32)?);
    let mut f = asker_mac.to_vec();
    f.extend_from_slice(&IMPOSTOR_MAC);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    f.extend_from_slice(&IMPOSTOR_MAC);
    f.extend_from_slice(&addr);
    f.extend_from_slice(asker_mac);
    f.extend_from_slice(asker_ip);
    Some(f)
}

pub fn shaper(a: &ShaperArgs) -> Result<bool, String> {
    let fault = fault_of(&a.fault).ok_or_else(|| format!("no fault '{}'", a.fault))?;
    let tap = open_tap(&a.tap)?;
    let sock = UdpSocket::bind(("127.0.0.1", a.port)).map_err(|e| format!("bind: {e}"))?;
    sock.connect(("127.0.0.1", a.peer))
        .map_err(|e| format!("connect: {e}"))?;
    let judge = std::sync::Arc::new(Judge {
        fault,
        start: Instant::now(),
        first_dhcp_out: std::sync::Mutex::new(None),
        first_dhcp_in: std::sync::Mutex::new(None),
        guest_addr: std::sync::Mutex::new(None),
        partition_from: std::sync::Mutex::new(None),
        rng: std::sync::atomic::AtomicU64::new(0x9e37_79b9_7f4a_7c15 ^ u64::from(a.port)),
    });
    eprintln!("shaper: {} on {}: {fault:?}", a.fault, a.tap);
    // Towards the guest: tap -> (delay line) -> UDP.
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let out = sock.try_clone().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        for (due, frame) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let _ = out.send(&frame);
        }
    });
    if fault.impostor {
        let mut tap_out = tap.try_clone().map_err(|e| e.to_string())?;
        let j = std::sync::Arc::clone(&judge);
        std::thread::spawn(move || {
            let mut sent = 0u64;
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let Some(addr) = j.guest_addr.lock().ok().and_then(|g| *g) else {
                    continue;
                };
                let _ = std::io::Write::write(&mut tap_out, &gratuitous_arp(addr));
                sent += 1;
                if sent == 1 || sent % 10 == 0 {
                    eprintln!("shaper: impostor claims {addr:?}: {sent} gratuitous ARPs");
                }
            }
        });
    }
    let tap_reader = tap.try_clone().map_err(|e| e.to_string())?;
    let j = std::sync::Arc::clone(&judge);
    std::thread::spawn(move || {
        let mut tap_reader = tap_reader;
        let mut buf = vec![0u8; 65536];
        let delay = Duration::from_millis(j.fault.delay_ms);
        let (mut seen, mut dropped) = (0u64, 0u64);
        loop {
            let n = match std::io::Read::read(&mut tap_reader, &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("shaper: tap read: {e}");
                    return;
                }
            };
            seen += 1;
            if j.pass(&buf[..n], true) {
                let frame = match j.fault.vlan {
                    0 => buf[..n].to_vec(),
                    vid => tag(&buf[..n], vid),
                };
                if tx.send((Instant::now() + delay, frame)).is_err() {
                    return;
                }
            } else {
                dropped += 1;
            }
            if seen % 1000 == 0 {
                eprintln!("shaper: to guest {seen} frames, {dropped} dropped");
            }
        }
    });
    // From the guest: UDP -> tap, no delay.
    let mut tap_writer = tap;
    let mut buf = vec![0u8; 65536];
    let (mut seen, mut dropped) = (0u64, 0u64);
    loop {
        // Sending before QEMU listens earns an ICMP port unreachable, which
        // a connected UDP socket reports on the next call: not fatal.
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
            Err(e) => return Err(format!("recv: {e}")),
        };
        seen += 1;
        if fault.impostor {
            let held = judge.guest_addr.lock().ok().and_then(|g| *g);
            if let Some(reply) = held.and_then(|addr| impostor_reply(&buf[..n], addr)) {
                eprintln!("shaper: impostor answers the guest's ARP for {held:?}");
                let _ = sock.send(&reply);
            }
        }
        if fault.rogue {
            if let Some(reply) = rogue_reply(&buf[..n]) {
                let _ = sock.send(&reply);
            }
        }
        let frame = match fault.vlan {
            0 => Some(buf[..n].to_vec()),
            vid => untag(&buf[..n], vid),
        };
        if let Some(frame) = frame.filter(|f| judge.pass(f, false)) {
            let _ = std::io::Write::write(&mut tap_writer, &frame);
        } else {
            dropped += 1;
        }
        if seen % 1000 == 0 {
            eprintln!("shaper: from guest {seen} frames, {dropped} dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netinit_core::dhcp::packet::{MessageType, Packet, opt};
    use netinit_core::dhcp::udp;

    /// A guest's DHCP frame as the relay sees it: Ethernet, IPv4, UDP 68 → 67.
    fn guest_frame(p: &Packet) -> Vec<u8> {
        let payload = p.encode();
        let mut ip = udp::wrap_reply([0, 0, 0, 0].into(), &payload);
        // wrap_reply builds server → client; turn the ports round.
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        ip[ihl..ihl + 2].copy_from_slice(&68u16.to_be_bytes());
        ip[ihl + 2..ihl + 4].copy_from_slice(&67u16.to_be_bytes());
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[0x52, 0x54, 0, 0, 0, 1, 0x08, 0x00]);
        f.extend_from_slice(&ip);
        f
    }

    #[test]
    fn rogue_offers_hostile_options_and_acks_only_its_own_requests() {
        let mut discover = Packet::request(9, [0x52, 0x54, 0, 0, 0, 1]);
        discover
            .options
            .push(opt::MESSAGE_TYPE, &[MessageType::Discover as u8]);
        let frame = guest_frame(&discover);
        assert_eq!(l4_ports(&frame), Some((17, 68, 67)));
        let offer = rogue_reply(&frame).unwrap();
        let (src, payload) = udp::unwrap(&offer[14..], udp::UdpChecksum::Verify).unwrap();
        assert_eq!(src, std::net::Ipv4Addr::from(ROGUE));
        let p = Packet::decode(payload).unwrap();
        assert_eq!(p.options.message_type(), Some(MessageType::Offer));
        assert_eq!(p.options.u16(opt::MTU), Some(68));
        assert!(p.options.get(opt::HOSTNAME).unwrap().contains(&b'\n'));

        let mut request = Packet::request(9, [0x52, 0x54, 0, 0, 0, 1]);
        request
            .options
            .push(opt::MESSAGE_TYPE, &[MessageType::Request as u8]);
        request.options.push(opt::SERVER_ID, &[10, 77, 0, 1]);
        assert_eq!(rogue_reply(&guest_frame(&request)), None);
        request.options = Default::default();
        request
            .options
            .push(opt::MESSAGE_TYPE, &[MessageType::Request as u8]);
        request.options.push(opt::SERVER_ID, &ROGUE);
        let ack = rogue_reply(&guest_frame(&request)).unwrap();
        let (_, payload) = udp::unwrap(&ack[14..], udp::UdpChecksum::Verify).unwrap();
        assert_eq!(
            Packet::decode(payload).unwrap().options.message_type(),
            Some(MessageType::Ack)
        );
    }

    #[test]
    fn gratuitous_arp_claims_the_address() {
        let f = gratuitous_arp([10, 77, 0, 5]);
        assert_eq!(f.len(), 42);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[22..28], &IMPOSTOR_MAC);
        assert_eq!(&f[28..32], &[10, 77, 0, 5]);
        assert_eq!(&f[38..42], &[10, 77, 0, 5]);
    }

    #[test]
    fn impostor_answers_probes_for_its_address_only() {
        let guest = [0x52, 0x54, 0, 0, 0, 1];
        // An RFC 5227 probe: sender IP 0.0.0.0, target the address.
        let probe = |target: [u8; 4]| {
            let mut f = vec![0xff; 6];
            f.extend_from_slice(&guest);
            f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
            f.extend_from_slice(&guest);
            f.extend_from_slice(&[0; 4]);
            f.extend_from_slice(&[0; 6]);
            f.extend_from_slice(&target);
            f
        };
        let held = [10, 77, 0, 5];
        let r = impostor_reply(&probe(held), held).unwrap();
        assert_eq!(&r[0..6], &guest);
        assert_eq!(&r[20..22], &[0, 2]);
        assert_eq!(&r[22..28], &IMPOSTOR_MAC);
        assert_eq!(&r[28..32], &held);
        assert_eq!(&r[38..42], &[0; 4]);
        assert!(impostor_reply(&probe([10, 77, 0, 6]), held).is_none());
        assert!(impostor_reply(&gratuitous_arp(held)[..20], held).is_none());
    }

    #[test]
    fn low_ram_passes_only_when_toram_declined_before_copying() {
        let s = low_ram();
        assert_eq!(mem_mib(s.name), Some(LOW_RAM_MIB));
        assert!(PAD_MIB as u32 > LOW_RAM_MIB);
        let check = "NETINIT-CHECK {\"result\":\"pass\",\"root_fs\":\"overlay\",\"device\":\"eth0\",\"address\":\"10.77.0.100\",\"proto\":\"dhcp\",\"failures\":\"\"}\n";
        let declined = "[ 3.0] netinit: toram: need 289 MiB plus the overlay's 110 MiB, have 190 MiB available: not copying, reading the image over NFS\n";
        let judge = |c: &str| crate::scenarios::judge(&s, c, true);
        assert!(judge(&format!("{declined}{check}")).is_ok());
        // No line: the decision was not announced.
        assert!(judge(check).is_err());
        // A copy started, or made progress.
        let copying = "[ 3.0] netinit: toram: need 289 MiB, have 600 MiB available: copying\n";
        assert!(judge(&format!("{declined}{copying}{check}")).is_err());
        let progress = "[ 5.0] netinit: toram: copied 12 MiB of 289 MiB (4 %)\n";
        assert!(judge(&format!("{declined}{progress}{check}")).is_err());
        // The boot must still succeed.
        assert!(judge(declined).is_err());
    }

    #[test]
    fn heavy_loss_accepts_a_hand_off_at_the_bound_and_nothing_less() {
        let all = scenarios();
        let s = all.iter().find(|s| s.name == "fault-loss-30").unwrap();
        let judge = |c: &str, exited| crate::scenarios::judge(s, c, exited);
        let exec = "[ 15.6] netinit: switch_root: exec /sbin/init\n";
        let check = "NETINIT-CHECK {\"result\":\"pass\",\"root_fs\":\"overlay\",\"device\":\"eth0\",\"address\":\"10.77.0.100\",\"proto\":\"dhcp\",\"failures\":\"\"}\n";
        assert!(judge(&format!("{exec}{check}"), true).is_ok());
        // Timed out after the hand-off: the booted system's pace.
        assert!(judge(exec, false).unwrap().contains("handed off"));
        // Timed out before it: a hang.
        assert!(judge("[ 9.0] netinit: nfs: mounting\n", false).is_err());
        // The checker ran and failed, or the VM stopped without a verdict.
        let bad = check.replace("\"pass\"", "\"fail\"");
        assert!(judge(&format!("{exec}{bad}"), false).is_err());
        assert!(judge(exec, true).is_err());
        // A clean failure stays one; a failure that did not power off does not.
        let failed = "[ 99.0] netinit: FAILED at dhcp: no DHCP lease\n";
        assert!(judge(failed, true).is_ok());
        assert!(judge(failed, false).is_err());
        // Lighter loss gets no such allowance.
        let light = all.iter().find(|s| s.name == "fault-loss-10").unwrap();
        assert!(crate::scenarios::judge(light, exec, false).is_err());
    }

    #[test]
    fn carrier_schedule_alternates() {
        let f = Fault {
            carrier_flaps: 2,
            ..NONE
        };
        let s: Vec<(u64, bool)> = carrier_flaps(&f)
            .into_iter()
            .map(|(d, up)| (d.as_millis() as u64, up))
            .collect();
        assert_eq!(s, [(0, false), (2000, true), (3000, false), (5000, true)]);
    }

    #[test]
    fn a_blocked_port_passes_nothing_then_everything() {
        let j = Judge {
            fault: Fault {
                blocked_secs: 1,
                ..NONE
            },
            start: Instant::now(),
            first_dhcp_out: std::sync::Mutex::new(None),
            first_dhcp_in: std::sync::Mutex::new(None),
            guest_addr: std::sync::Mutex::new(None),
            partition_from: std::sync::Mutex::new(None),
            rng: std::sync::atomic::AtomicU64::new(1),
        };
        assert!(!j.pass(&[0; 60], true));
        std::thread::sleep(Duration::from_millis(1100));
        assert!(j.pass(&[0; 60], true) && j.pass(&[0; 60], false));
    }
}
