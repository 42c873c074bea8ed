//! AF_PACKET sockets for DHCP: the NIC has no address yet, so the client
//! sends and receives whole IPv4 datagrams on the link (SOCK_DGRAM: the
//! kernel adds and strips the Ethernet header).
//!
//! Each socket carries a classic-BPF filter (UDP to port 68 only, see
//! `netinit_core::dhcp::udp::CLIENT_FILTER`) attached before it is bound,
//! so no other frame is ever queued, and asks for `PACKET_AUXDATA` to
//! learn whether a frame's UDP checksum was filled in (TX offload leaves
//! it empty for senders on the same host, e.g. across veth) and can be
//! verified.
//!
//! The driver uses all of this through [`DhcpIo`], so its multi-NIC poll
//! loop can be tested with a fake network and a fake clock.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use linux_raw_sys::if_packet::{
    PACKET_AUXDATA, TP_STATUS_CSUMNOTREADY, sockaddr_ll, tpacket_auxdata,
};
use linux_raw_sys::net::{SO_ATTACH_FILTER, SOL_PACKET, SOL_SOCKET};
use std::net::Ipv4Addr;

use netinit_core::arp;
use netinit_core::dhcp::udp::{CLIENT_FILTER, UdpChecksum};
use netinit_core::net::MacAddr;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::Errno;
use rustix::net::addr::{SocketAddrArg, SocketAddrLen, SocketAddrOpaque};
use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType};

use crate::{Clock, Result, SysError};

/// A `sockaddr_ll` for one interface, optionally with a destination MAC.
#[derive(Clone, Copy)]
struct LinkAddr(sockaddr_ll);

impl LinkAddr {
    fn new(ifindex: u32, dest: Option<[u8; 6]>) -> Self {
        Self::with_protocol(ifindex, dest, linux_raw_sys::if_ether::ETH_P_IP as u16)
    }

    fn with_protocol(ifindex: u32, dest: Option<[u8; 6]>, protocol: u16) -> Self {
        let mut addr: sockaddr_ll = sockaddr_ll {
            sll_family: linux_raw_sys::net::AF_PACKET as u16,
            sll_protocol: protocol.to_be(),
            sll_ifindex: i32::try_from(ifindex).unwrap_or(0),
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        if let Some(mac) = dest {
            addr.sll_halen = 6;
            addr.sll_addr[..6].copy_from_slice(&mac);
        }
        LinkAddr(addr)
    }
}

// SAFETY: `with_sockaddr` passes a pointer to a fully initialised
// `sockaddr_ll` that lives for the duration of the call, with its exact
// size, which is the layout the kernel expects for AF_PACKET.
unsafe impl SocketAddrArg for LinkAddr {
    unsafe fn with_sockaddr<R>(
        &self,
        f: impl FnOnce(*const SocketAddrOpaque, SocketAddrLen) -> R,
    ) -> R {
        f(
            std::ptr::from_ref(&self.0).cast(),
            std::mem::size_of::<sockaddr_ll>() as SocketAddrLen,
        )
    }
}

/// One frame read from a packet socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes written to the caller's buffer.
    pub len: usize,
    /// Whether the UDP checksum field is complete and can be verified.
    pub checksum: UdpChecksum,
}

/// One NIC's raw IPv4 socket.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    name: String,
    /// PACKET_AUXDATA is on, so the checksum status is known.
    auxdata: bool,
}

fn last_errno() -> Errno {
    Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(5))
}

impl PacketSocket {
    /// Opens a non-blocking AF_PACKET/SOCK_DGRAM socket for IPv4 on `ifindex`.
    pub fn open(ifindex: u32, name: &str) -> Result<Self> {
        // Protocol 0: the socket receives nothing until `bind` names
        // ETH_P_IP, by which time the filter is in place.
        let fd = rustix::net::socket_with(
            AddressFamily::PACKET,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )
        .map_err(|e| SysError::new("socket", format!("AF_PACKET on {name}"), e))?;
        attach_filter(&fd)
            .map_err(|e| SysError::new("setsockopt", format!("SO_ATTACH_FILTER on {name}"), e))?;
        // Without auxdata every checksum is taken on trust, as before; a
        // kernel that lacks it is still usable.
        let auxdata = set_int(&fd, SOL_PACKET, PACKET_AUXDATA, 1).is_ok();
        rustix::net::bind(&fd, &LinkAddr::new(ifindex, None))
            .map_err(|e| SysError::new("bind", format!("AF_PACKET to {name}"), e))?;
        Ok(PacketSocket {
            fd,
            ifindex,
            name: name.to_owned(),
            auxdata,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// For polling alongside other sockets.
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Sends an IPv4 datagram to the Ethernet broadcast address.
    pub fn broadcast(&self, datagram: &[u8]) -> Result<()> {
        rustix::net::sendto(
            &self.fd,
            datagram,
            SendFlags::empty(),
            &LinkAddr::new(self.ifindex, Some([0xff; 6])),
        )
        .map(drop)
        .map_err(|e| SysError::new("sendto", format!("DHCP on {}", self.name), e))
    }

    /// Reads one datagram if one is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<Received>> {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // u64s: cmsg data must be aligned for `cmsghdr`.
        let mut control = [0u64; 16];
        // SAFETY: an all-zero msghdr is valid (null name, no iovecs).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: `msg` points at `iov` (covering exactly `buf`) and at
        // `control`, all of which outlive the call; the kernel writes at
        // most `iov_len` and `msg_controllen` bytes into them.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            return match last_errno() {
                Errno::AGAIN | Errno::INTR => Ok(None),
                e => Err(SysError::new(
                    "recvmsg",
                    format!("DHCP on {}", self.name),
                    e,
                )),
            };
        }
        let len = usize::try_from(n).unwrap_or(0).min(buf.len());
        let mut checksum = UdpChecksum::Skip;
        if self.auxdata {
            // SAFETY: `msg` was filled in by recvmsg above; the CMSG macros
            // walk its control buffer within `msg_controllen`, and the
            // auxdata payload is read unaligned after a length check.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(&msg);
                while !c.is_null() {
                    let h = &*c;
                    if h.cmsg_level == SOL_PACKET as i32
                        && h.cmsg_type == PACKET_AUXDATA as i32
                        && h.cmsg_len as usize
                            >= libc::CMSG_LEN(std::mem::size_of::<tpacket_auxdata>() as u32)
                                as usize
                    {
                        let aux: tpacket_auxdata =
                            std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                        if aux.tp_status & TP_STATUS_CSUMNOTREADY == 0 {
                            checksum = UdpChecksum::Verify;
                        }
                    }
                    c = libc::CMSG_NXTHDR(&msg, c);
                }
            }
        }
        Ok(Some(Received { len, checksum }))
    }
}

fn attach_filter(fd: &OwnedFd) -> std::result::Result<(), Errno> {
    let mut insns: Vec<libc::sock_filter> = CLIENT_FILTER
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let prog = libc::sock_fprog {
        len: insns.len() as u16,
        filter: insns.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `insns.len()` initialised instructions that
    // live until after the call; the kernel copies the program.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            SOL_SOCKET as i32,
            SO_ATTACH_FILTER as i32,
            std::ptr::from_ref(&prog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(last_errno()) }
}

// setsockopt as in attach_filter above, for a plain int (no pointee to keep alive).
fn set_int(fd: &OwnedFd, level: u32, name: u32, value: i32) -> std::result::Result<(), Errno> {
    // SAFETY: a pointer to an i32 that outlives the call, with its size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level as i32,
            name as i32,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(last_errno()) }
}

/// ARP probing (RFC 5227) of an address before it is configured.
pub trait ArpProbe {
    /// Probes `ip` on `ifindex` from `mac`; the MAC of a host that already
    /// holds it, if one answers.
    fn probe(&mut self, ifindex: u32, mac: MacAddr, ip: Ipv4Addr) -> Result<Option<MacAddr>>;
}

/// [`ArpProbe`] on a short-lived AF_PACKET socket for ETH_P_ARP.
#[derive(Debug, Default)]
pub struct RawArp;

impl ArpProbe for RawArp {
    fn probe(&mut self, ifindex: u32, mac: MacAddr, ip: Ipv4Addr) -> Result<Option<MacAddr>> {
        let what = || format!("ARP probe for {ip} on link {ifindex}");
        let eth_p_arp = linux_raw_sys::if_ether::ETH_P_ARP as u16;
        let fd = rustix::net::socket_with(
            AddressFamily::PACKET,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            Some(rustix::net::Protocol::from_raw(
                rustix::net::RawProtocol::new(u32::from(eth_p_arp.to_be()))
                    .ok_or_else(|| SysError::new("socket", what(), Errno::INVAL))?,
            )),
        )
        .map_err(|e| SysError::new("socket", what(), e))?;
        rustix::net::bind(&fd, &LinkAddr::with_protocol(ifindex, None, eth_p_arp))
            .map_err(|e| SysError::new("bind", what(), e))?;
        let to = LinkAddr::with_protocol(ifindex, Some([0xff; 6]), eth_p_arp);
        let packet = arp::probe(mac, ip);
        let start = Instant::now();
        let mut sent = 0;
        let mut buf = [0u8; 64];
        loop {
            let elapsed = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            if sent < arp::PROBES && elapsed >= u64::from(sent) * arp::PROBE_INTERVAL_MS {
                rustix::net::sendto(&fd, &packet, SendFlags::empty(), &to)
                    .map_err(|e| SysError::new("sendto", what(), e))?;
                sent += 1;
            }
            while let Ok(n) = rustix::net::recv(&fd, &mut buf, rustix::net::RecvFlags::empty()) {
                let got = buf.get(..n.0).unwrap_or(&[]);
                if let Some(holder) = arp::conflict(got, mac, ip) {
                    return Ok(Some(holder));
                }
            }
            if elapsed >= arp::LISTEN_MS {
                return Ok(None);
            }
            let next_probe = if sent < arp::PROBES {
                u64::from(sent) * arp::PROBE_INTERVAL_MS
            } else {
                arp::LISTEN_MS
            };
            let wait = next_probe
                .min(arp::LISTEN_MS)
                .saturating_sub(elapsed)
                .max(1);
            let mut fds = [PollFd::new(&fd, PollFlags::IN)];
            let ts = Timespec {
                tv_sec: 0,
                tv_nsec: i64::try_from(wait.min(999) * 1_000_000).unwrap_or(0),
            };
            match poll(&mut fds, Some(&ts)) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(SysError::new("poll", what(), e)),
            }
        }
    }
}

/// What the DHCP driver needs from the system: one packet socket per NIC
/// (keyed by ifindex), a wait on all of them, the clock it sleeps on, and
/// a seed. The real one is [`RawDhcpIo`]; tests drive the driver with a
/// fake network and a fake clock.
pub trait DhcpIo: ArpProbe + Clock {
    /// Opens the NIC's socket.
    fn open(&mut self, ifindex: u32, name: &str) -> Result<()>;
    /// Closes the NIC's socket (a NIC that lost the race). Idempotent.
    fn close(&mut self, ifindex: u32);
    /// Sends an IPv4 datagram to the link's broadcast address.
    fn broadcast(&mut self, ifindex: u32, datagram: &[u8]) -> Result<()>;
    /// Reads one waiting frame into `buf`, if any.
    fn recv(&mut self, ifindex: u32, buf: &mut [u8]) -> Result<Option<Received>>;
    /// Waits until a socket is readable or `timeout_ms` passes; returns
    /// the readable ifindexes (possibly none).
    fn wait(&mut self, timeout_ms: u64) -> Result<Vec<u32>>;
    /// Seeds xids and jitter: must differ between machines and boots, need
    /// not be secret.
    fn seed(&mut self) -> u64;
}

/// [`DhcpIo`] on real AF_PACKET sockets and CLOCK_MONOTONIC.
///
/// `close(2)` on a packet socket waits for an RCU grace period
/// (`packet_release` → `synchronize_net`): 4–16 ms each on veth here, more
/// under TCG. A closed socket is therefore only set aside (it is never
/// read or written again), and everything is closed on a short-lived
/// thread when this is dropped, off the boot's critical path.
#[derive(Debug)]
pub struct RawDhcpIo {
    start: Instant,
    sockets: Vec<PacketSocket>,
    closed: Vec<PacketSocket>,
}

impl Default for RawDhcpIo {
    fn default() -> Self {
        RawDhcpIo {
            start: Instant::now(),
            sockets: Vec::new(),
            closed: Vec::new(),
        }
    }
}

impl Drop for RawDhcpIo {
    fn drop(&mut self) {
        let mut all = std::mem::take(&mut self.closed);
        all.append(&mut self.sockets);
        if all.is_empty() {
            return;
        }
        // If the thread can't start, the closure (and the sockets) are
        // dropped right here: slower, same result.
        let _ = std::thread::Builder::new()
            .name("dhcp-close".into())
            .spawn(move || drop(all));
    }
}

impl RawDhcpIo {
    pub fn new() -> Self {
        Self::default()
    }

    fn socket(&self, ifindex: u32) -> Result<&PacketSocket> {
        self.sockets
            .iter()
            .find(|s| s.ifindex == ifindex)
            .ok_or_else(|| SysError::new("sendto", format!("ifindex {ifindex}"), Errno::BADF))
    }
}

impl ArpProbe for RawDhcpIo {
    fn probe(&mut self, ifindex: u32, mac: MacAddr, ip: Ipv4Addr) -> Result<Option<MacAddr>> {
        RawArp.probe(ifindex, mac, ip)
    }
}

impl Clock for RawDhcpIo {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn sleep_ms(&mut self, ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

impl DhcpIo for RawDhcpIo {
    fn open(&mut self, ifindex: u32, name: &str) -> Result<()> {
        self.close(ifindex);
        self.sockets.push(PacketSocket::open(ifindex, name)?);
        Ok(())
    }

    fn close(&mut self, ifindex: u32) {
        let (gone, keep) = std::mem::take(&mut self.sockets)
            .into_iter()
            .partition(|s| s.ifindex == ifindex);
        self.sockets = keep;
        self.closed.extend::<Vec<_>>(gone);
    }

    fn broadcast(&mut self, ifindex: u32, datagram: &[u8]) -> Result<()> {
        self.socket(ifindex)?.broadcast(datagram)
    }

    fn recv(&mut self, ifindex: u32, buf: &mut [u8]) -> Result<Option<Received>> {
        self.socket(ifindex)?.recv(buf)
    }

    fn wait(&mut self, timeout_ms: u64) -> Result<Vec<u32>> {
        let timeout = Duration::from_millis(timeout_ms);
        let mut fds: Vec<PollFd<'_>> = self
            .sockets
            .iter()
            .map(|s| PollFd::new(&s.fd, PollFlags::IN))
            .collect();
        let ts = Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        match poll(&mut fds, Some(&ts)) {
            Ok(_) | Err(Errno::INTR) => Ok(fds
                .iter()
                .zip(&self.sockets)
                .filter(|(f, _)| f.revents().contains(PollFlags::IN))
                .map(|(_, s)| s.ifindex)
                .collect()),
            Err(e) => Err(SysError::new("poll", "DHCP sockets", e)),
        }
    }

    fn seed(&mut self) -> u64 {
        // Early boot may have no entropy yet, so not getrandom: the clock's
        // nanoseconds and the PID differ enough between boots, and the
        // driver mixes in each NIC's MAC for identical VMs.
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let nanos = (ts.tv_sec as u64).wrapping_mul(1_000_000_007) ^ ts.tv_nsec as u64;
        let pid = u64::from(
            rustix::process::getpid()
                .as_raw_nonzero()
                .get()
                .unsigned_abs(),
        );
        nanos.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ pid.rotate_left(32)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code
    use super::*;
    use std::net::{Ipv4Addr, UdpSocket};

    /// On `lo` in the test's own namespace (loopback traffic only): the
    /// kernel accepts the filter, keeps a datagram to port 68 and drops
    /// one to another port, and auxdata reports loopback's unfilled
    /// checksum.
    #[test]
    #[ignore = "needs root: run by scripts/test.sh"]
    fn filter_and_auxdata_on_loopback() {
        let lo: u32 = std::fs::read_to_string("/sys/class/net/lo/ifindex")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut io = RawDhcpIo::new();
        io.open(lo, "lo").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"not-dhcp", "127.0.0.1:9").unwrap();
        tx.send_to(b"for-port-68", "127.0.0.1:68").unwrap();
        // (the frame's tail, the checksum status) of everything received
        let mut seen: Vec<(Vec<u8>, UdpChecksum)> = Vec::new();
        let has = |seen: &[(Vec<u8>, UdpChecksum)], what: &[u8]| {
            seen.iter().any(|(frame, _)| frame.ends_with(what))
        };
        let mut buf = [0u8; 2048];
        let deadline = io.now_ms() + 2000;
        while io.now_ms() < deadline && !has(&seen, b"for-port-68") {
            if io.wait(100).unwrap().contains(&lo) {
                while let Some(r) = io.recv(lo, &mut buf).unwrap() {
                    seen.push((buf[..r.len].to_vec(), r.checksum));
                }
            }
        }
        assert!(
            has(&seen, b"for-port-68"),
            "the port-68 datagram came through"
        );
        assert!(
            !has(&seen, b"not-dhcp"),
            "the filter dropped the other port"
        );
        for (frame, _) in &seen {
            // From an ephemeral port, not a DHCP server's 67: the kernel
            // filter keeps it (it only looks at port 68), unwrap refuses it.
            assert_eq!(&frame[12..16], &Ipv4Addr::LOCALHOST.octets());
            assert_eq!(
                netinit_core::dhcp::udp::unwrap(frame, UdpChecksum::Skip),
                Err("not from the DHCP server port 67")
            );
        }
        // Locally sent UDP on lo is CHECKSUM_PARTIAL: not verifiable.
        assert!(
            seen.iter().all(|(_, c)| *c == UdpChecksum::Skip),
            "{seen:?}"
        );
        io.close(lo);
        assert!(io.recv(lo, &mut buf).is_err());
    }
}
