//! The image over HTTP: probe the URLs in order, check the size against
//! RAM, download with parallel ranges into a tmpfs (resuming a dropped
//! connection with Range), verify the sha256, and hand back the file.
//! The protocol is pure (`netinit_core::http`); sockets and the file are
//! behind `netinit_sys::http`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::Thread;
use std::time::Duration;

use netinit_core::fetch::{FetchPlan, ImageKind, SNIFF_LEN, image_kind, place};
use netinit_core::http::{self, Head, HeadError, Url};
use netinit_core::live::{find_images, mem_available, mem_total, overlay_bytes, toram_fits};
use netinit_core::plan::{BootPlan, LiveLayout, LivePlan, NfsVersion, ResolvedRoot};
use netinit_core::sha256::{self, Sha256};
use netinit_core::size::human_bytes;
use netinit_sys::Clock;
use netinit_sys::http::{Connect, ImageFile, Sink};
use netinit_sys::loopdev::Loop;
use netinit_sys::mount::{Files, Mount};

use super::assemble::{Assembled, loop_mount, ram_dir, stack_live};
use crate::log::timed;
use crate::net::modules::Modules;
use crate::step::{Step, StepError};
use crate::{info, warn};

// Tunables, alike only in shape to nbd.rs's table of wire numbers.
/// The longest a connect may take.
const CONNECT: Duration = Duration::from_secs(5);
/// The longest one read or write may block before the connection counts
/// as dropped and is resumed.
const IO: Duration = Duration::from_secs(10);
/// Attempts per URL before the next mirror is tried.
const ATTEMPTS: u32 = 2;
/// The wait before retrying a URL that did not answer.
const RETRY_MS: u64 = 1000;
/// The first and the longest wait before a dropped range is resumed.
const RESUME_FIRST_MS: u64 = 500;
const RESUME_MAX_MS: u64 = 5000;
/// Ranges below this go on one connection.
const MIN_RANGE: u64 = 4 << 20;
/// How often the progress line is logged.
const PROGRESS_MS: u64 = 2000;
/// A sums file larger than this is not one.
const MAX_SUMS: u64 = 1 << 20;

fn fail(reason: impl std::fmt::Display) -> StepError {
    StepError::new(Step::Fetch, reason)
}

/// An open response: its head, and the body bytes read with it.
struct Response<S> {
    stream: S,
    head: Head,
    body_start: Vec<u8>,
}

/// Which URL (index in the list, after redirects) served, its open
/// response, and the image's size.
type Probed<S> = (usize, Url, Response<S>, u64);

fn addr(url: &Url) -> SocketAddr {
    SocketAddr::new(url.host, url.port)
}

/// An I/O error as its errno name, like every other netinit error; a
/// read or write that hit its timeout says so.
fn io_err(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(netinit_core::errno::EAGAIN) => format!("no data for {} s (EAGAIN)", IO.as_secs()),
        Some(n) => netinit_core::errno::describe(n),
        None => "EIO".to_owned(),
    }
}

/// Sends a GET and reads the head; every wait is bounded by `CONNECT`/`IO`.
fn get<C: Connect>(
    net: &C,
    url: &Url,
    range: Option<(u64, Option<u64>)>,
) -> Result<Response<C::Stream>, String> {
    let mut stream = net
        .connect(addr(url), CONNECT, IO)
        .map_err(|e| e.to_string())?;
    stream
        .write_all(&http::request(url, range))
        .map_err(|e| format!("send to {url}: {}", io_err(&e)))?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        match http::parse_head(&buf) {
            Ok((head, end)) => {
                let body_start = buf.split_off(end);
                return Ok(Response {
                    stream,
                    head,
                    body_start,
                });
            }
            Err(HeadError::Bad(why)) => return Err(format!("{url}: {why}")),
            Err(HeadError::Incomplete) => {}
        }
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("read from {url}: {}", io_err(&e)))?;
        if n == 0 {
            return Err(format!(
                "{url}: the server closed the connection before the response head"
            ));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
    }
}

/// The first URL that answers with the image, following up to three
/// redirects to other http:// URLs. Logs why each other one was skipped.
fn probe<C: Connect, T: Clock>(
    net: &C,
    clock: &mut T,
    urls: &[Url],
) -> Result<Probed<C::Stream>, StepError> {
    let mut why = Vec::new();
    for (i, first) in urls.iter().enumerate() {
        let mut url = first.clone();
        let mut hops = 0;
        let mut attempt = 1;
        loop {
            match get(net, &url, Some((0, None))) {
                Ok(r) if matches!(r.head.status, 200 | 206) => match r.head.total() {
                    Some(total) => return Ok((i, url, r, total)),
                    None => {
                        why.push(format!("{url}: no Content-Length"));
                        break;
                    }
                },
                Ok(r) if matches!(r.head.status, 301 | 302 | 303 | 307 | 308) && hops < 3 => {
                    let to = r.head.location.clone().unwrap_or_default();
                    match Url::parse(&to) {
                        Ok(next) => {
                            info!(Step::Fetch, "{url} redirects to {next}");
                            url = next;
                            hops += 1;
                        }
                        Err(e) => {
                            why.push(format!("{url}: redirect refused: {e}"));
                            break;
                        }
                    }
                }
                Ok(r) => {
                    why.push(format!("{url}: HTTP {}", r.head.status));
                    break;
                }
                Err(e) if attempt < ATTEMPTS => {
                    warn!(
                        Step::Fetch,
                        "attempt {attempt}: {e}; retrying in {} s",
                        RETRY_MS / 1000
                    );
                    clock.sleep_ms(RETRY_MS);
                    attempt += 1;
                }
                Err(e) => {
                    why.push(e);
                    break;
                }
            }
        }
        if let Some(next) = urls.get(i + 1) {
            warn!(
                Step::Fetch,
                "{first} did not serve the image ({}); trying mirror {next}",
                why.last().map_or("", String::as_str)
            );
        }
    }
    Err(
        fail(format_args!("no URL served the image: {}", why.join("; ")))
            .hint("check the URL(s) and that the web server is reachable from this client"),
    )
}

/// Shared state of one download.
struct Progress {
    done: AtomicU64,
    /// Each range's next byte to store: the hash follows the stored prefix.
    at: Vec<AtomicU64>,
    stop: AtomicBool,
    /// Range threads still running.
    running: AtomicUsize,
    /// The thread that hashes and logs: woken whenever a range stores
    /// bytes or ends, so it waits on the download, not on a timer.
    watcher: Thread,
}

/// Marks one range thread as ended when dropped (also when it panics),
/// so the watcher cannot wait for it forever.
struct Running<'a>(&'a Progress);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Release);
        self.0.watcher.unpark();
    }
}

/// What [`download`] fetched.
#[derive(Debug)]
pub struct Fetched {
    pub url: Url,
    pub sha256: [u8; 32],
}

/// Probes, checks the size with `fits` (before a byte of the body is
/// stored), creates the file with `create`, and downloads into it. Every
/// wait is on `clock`; each range thread waits on its own copy.
pub fn download<C, K, T>(
    net: &C,
    clock: &mut T,
    plan: &FetchPlan,
    fits: impl FnOnce(u64) -> Result<(), StepError>,
    create: impl FnOnce(u64) -> Result<K, StepError>,
) -> Result<(Fetched, K), StepError>
where
    C: Connect,
    C::Stream: Send,
    K: Sink,
    T: Clock + Clone + Send + Sync,
{
    let (i, url, first, total) = probe(net, clock, &plan.urls)?;
    let which = if i == 0 {
        "the image's URL".to_owned()
    } else {
        format!("mirror {i} of {}", plan.urls.len() - 1)
    };
    info!(Step::Fetch, "{url} serves {} ({which})", human_bytes(total));
    fits(total)?;
    let sink = create(total)?;
    // A 200 answer means no Range support: one connection, no resume.
    let ranges = if first.head.status == 206 {
        http::split_ranges(total, plan.conns, MIN_RANGE)
    } else {
        vec![(0, total.saturating_sub(1))]
    };
    let progress = Progress {
        done: AtomicU64::new(0),
        at: ranges.iter().map(|r| AtomicU64::new(r.0)).collect(),
        stop: AtomicBool::new(false),
        running: AtomicUsize::new(0),
        watcher: std::thread::current(),
    };
    // The hash runs here while the ranges download: on a link slower than
    // the hash it costs no time after the last byte.
    let start = clock.now_ms();
    let job = Download {
        net,
        clock: &*clock,
        url: &url,
        sink: &sink,
        ranges: &ranges,
        progress: &progress,
        stall_ms: u64::from(plan.stall_secs).saturating_mul(1000),
        total,
    };
    let (results, hasher, hashed) = job.run(first, start);
    if let Some(Err(e)) = results
        .into_iter()
        .find(|r| r.as_ref().is_err_and(|e| e != "stopped"))
    {
        return Err(fail(e).hint(
            "the server went away or stalled; netinit.http_timeout= sets how long a stall may last",
        ));
    }
    let elapsed = clock.now_ms().saturating_sub(start);
    info!(
        Step::Fetch,
        "fetched {} from {url} in {elapsed} ms ({}/s, {} connection(s))",
        human_bytes(total),
        human_bytes(rate(total, elapsed)),
        ranges.len()
    );
    let rest = clock.now_ms();
    let sha256 = hash_from(&sink, hasher, hashed, total)?;
    info!(
        Step::Fetch,
        "sha256 {} ({} ms after the last byte)",
        sha256::hex(&sha256),
        clock.now_ms().saturating_sub(rest)
    );
    Ok((Fetched { url, sha256 }, sink))
}

/// One image's download: its ranges, each on its own thread.
struct Download<'a, C, K, T> {
    net: &'a C,
    clock: &'a T,
    url: &'a Url,
    sink: &'a K,
    ranges: &'a [(u64, u64)],
    progress: &'a Progress,
    /// How long a range may go without a byte before it fails.
    stall_ms: u64,
    total: u64,
}

impl<C, K, T> Download<'_, C, K, T>
where
    C: Connect,
    C::Stream: Send,
    K: Sink,
    T: Clock + Clone + Send + Sync,
{
    /// Runs every range on its own thread (`first` is the probe's open
    /// response, positioned at byte 0); the hasher and how far it got.
    fn run(
        &self,
        first: Response<C::Stream>,
        start: u64,
    ) -> (Vec<Result<(), String>>, Sha256, u64) {
        let mut hasher = Sha256::new();
        let mut hashed = 0u64;
        let mut first = Some(first);
        let results = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .ranges
                .iter()
                .filter(|_| self.total > 0)
                .enumerate()
                .map(|(i, &r)| {
                    let open = first.take();
                    let mut clock = self.clock.clone();
                    self.progress.running.fetch_add(1, Ordering::Relaxed);
                    s.spawn(move || {
                        let _running = Running(self.progress);
                        let out = self.fetch_range(r, open, i, &mut clock);
                        if out.is_err() {
                            // One range failing fails the image: stop the rest.
                            self.progress.stop.store(true, Ordering::Relaxed);
                        }
                        out
                    })
                })
                .collect();
            self.watch((&mut hasher, &mut hashed), start);
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a download thread panicked".into()))
                })
                .collect()
        });
        (results, hasher, hashed)
    }

    /// Until every range has ended: hashes the stored prefix as it
    /// grows, and logs the progress every [`PROGRESS_MS`].
    fn watch(&self, (hasher, hashed): (&mut Sha256, &mut u64), start: u64) {
        let mut buf = vec![0u8; 1 << 20];
        let mut next = PROGRESS_MS;
        while self.progress.running.load(Ordering::Acquire) > 0 {
            let stored = stored_prefix(self.ranges, &self.progress.at);
            let mut read = 0;
            if stored > *hashed {
                // A failed read only stops the overlap; the rest is hashed after.
                let want = usize::try_from(stored - *hashed)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let into = buf.get_mut(..want).unwrap_or(&mut []);
                if let Ok(n) = self.sink.read_at(*hashed, into) {
                    hasher.update(buf.get(..n).unwrap_or(&[]));
                    *hashed += n as u64;
                    read = n;
                }
            }
            let elapsed = self.clock.now_ms().saturating_sub(start);
            if elapsed >= next {
                let done = self.progress.done.load(Ordering::Relaxed);
                info!(
                    Step::Fetch,
                    "{} of {} ({} %), {}/s",
                    human_bytes(done),
                    human_bytes(self.total),
                    done.saturating_mul(100) / self.total.max(1),
                    human_bytes(rate(done, elapsed))
                );
                next = elapsed + PROGRESS_MS;
            }
            if read == 0 {
                // Until a range stores bytes or ends; the timeout only
                // keeps the progress line going on a stalled link.
                std::thread::park_timeout(Duration::from_millis(next.saturating_sub(elapsed)));
            }
        }
    }

    /// Downloads `first..=last` of the URL into the sink, starting with
    /// `open` (a response already positioned at `first`) if given. A
    /// dropped or stalled connection is resumed with Range until the stall
    /// time passes without a byte.
    fn fetch_range(
        &self,
        (first, last): (u64, u64),
        mut open: Option<Response<C::Stream>>,
        index: usize,
        clock: &mut T,
    ) -> Result<(), String> {
        let url = self.url;
        let mut pos = first;
        let mut last_byte = clock.now_ms();
        let mut delay = RESUME_FIRST_MS;
        let mut buf = vec![0u8; 64 << 10];
        while pos <= last {
            if self.progress.stop.load(Ordering::Relaxed) {
                return Err("stopped".into());
            }
            let r = match open.take() {
                Some(r) => Ok(r),
                None => resume(self.net, url, pos, last),
            };
            let dropped = match r {
                Ok(mut r) => {
                    let (err, at) =
                        self.copy_body(&mut r, (&mut pos, last), index, &mut buf, clock)?;
                    if let Some(at) = at {
                        last_byte = at;
                        delay = RESUME_FIRST_MS;
                    }
                    if pos > last {
                        return Ok(());
                    }
                    err.unwrap_or_else(|| "the server closed the connection".into())
                }
                Err(e) => e,
            };
            let quiet = clock.now_ms().saturating_sub(last_byte);
            if quiet + delay > self.stall_ms {
                return Err(format!(
                    "{dropped}; no data for {} s at byte {pos} of {url}",
                    quiet / 1000
                ));
            }
            warn!(
                Step::Fetch,
                "{dropped} at byte {pos}; resuming with Range in {delay} ms"
            );
            clock.sleep_ms(delay);
            delay = (delay * 2).min(RESUME_MAX_MS);
        }
        Ok(())
    }

    /// Copies one response's body into the sink from `pos` on, at most up
    /// to `last`; the read error that ended it (if any) and when (on
    /// `clock`) the last byte arrived (if one did).
    fn copy_body(
        &self,
        r: &mut Response<C::Stream>,
        (pos, last): (&mut u64, u64),
        index: usize,
        buf: &mut [u8],
        clock: &T,
    ) -> Result<(Option<String>, Option<u64>), String> {
        let progress = self.progress;
        let mut at = None;
        let mut err = None;
        let mut pending = std::mem::take(&mut r.body_start);
        loop {
            let n = if pending.is_empty() {
                match r.stream.read(buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        err = Some(format!("read: {}", io_err(&e)));
                        break;
                    }
                }
            } else {
                let n = pending.len().min(buf.len());
                buf.get_mut(..n)
                    .unwrap_or(&mut [])
                    .copy_from_slice(pending.get(..n).unwrap_or(&[]));
                pending.drain(..n);
                n
            };
            // Only this range's bytes; an open-ended first response
            // is cut where the next connection starts.
            let want = usize::try_from(last + 1 - *pos)
                .unwrap_or(usize::MAX)
                .min(n);
            self.sink
                .write_at(*pos, buf.get(..want).unwrap_or(&[]))
                .map_err(|e| e.to_string())?;
            *pos += want as u64;
            progress.done.fetch_add(want as u64, Ordering::Relaxed);
            if let Some(a) = progress.at.get(index) {
                a.store(*pos, Ordering::Release);
            }
            progress.watcher.unpark();
            at = Some(clock.now_ms());
            if *pos > last || progress.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        Ok((err, at))
    }
}

/// Asks `url` again for `pos..=last` after a dropped connection: the
/// response, if it really resumes at `pos`.
fn resume<C: Connect>(
    net: &C,
    url: &Url,
    pos: u64,
    last: u64,
) -> Result<Response<C::Stream>, String> {
    let r = get(net, url, Some((pos, Some(last))))?;
    match (r.head.status, r.head.range) {
        (206, Some((a, _, _))) if a == pos => Ok(r),
        (200, _) if pos == 0 => Ok(r),
        (200 | 206, _) => Err(format!(
            "{url} ignored the range request from byte {pos}: it cannot resume"
        )),
        (s, _) => Err(format!("{url}: HTTP {s} on resume")),
    }
}

/// Bytes `0..N` that are stored: ranges are in order, so it is the
/// first unfinished range's position, or everything.
fn stored_prefix(ranges: &[(u64, u64)], at: &[AtomicU64]) -> u64 {
    for (r, a) in ranges.iter().zip(at) {
        let pos = a.load(Ordering::Acquire);
        if pos <= r.1 {
            return pos;
        }
    }
    ranges.last().map_or(0, |r| r.1 + 1)
}

/// Bytes per second, from bytes in `ms` milliseconds.
fn rate(bytes: u64, ms: u64) -> u64 {
    bytes.saturating_mul(1000) / ms.max(1)
}

/// Goes on with `h`, which has hashed `sink`'s bytes up to `pos`.
fn hash_from<K: Sink>(
    sink: &K,
    mut h: Sha256,
    mut pos: u64,
    len: u64,
) -> Result<[u8; 32], StepError> {
    let mut buf = vec![0u8; 1 << 20];
    while pos < len {
        let want = usize::try_from(len - pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = sink
            .read_at(pos, buf.get_mut(..want).unwrap_or(&mut []))
            .map_err(fail)?;
        if n == 0 {
            return Err(fail(format_args!("the image ends at byte {pos} of {len}")));
        }
        h.update(buf.get(..n).unwrap_or(&[]));
        pos += n as u64;
    }
    Ok(h.finish())
}

/// A small file (a sums file), whole, or `None` when the server has none.
fn get_small<C: Connect>(net: &C, url: &Url) -> Option<String> {
    let mut r = get(net, url, None).ok()?;
    if r.head.status != 200 || r.head.content_length.is_none_or(|n| n > MAX_SUMS) {
        return None;
    }
    let mut body = std::mem::take(&mut r.body_start);
    let len = usize::try_from(r.head.content_length.unwrap_or(0)).ok()?;
    let mut chunk = [0u8; 4096];
    while body.len() < len {
        let n = r.stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
    }
    body.truncate(len);
    String::from_utf8(body).ok()
}

/// Checks the image: against `netinit.sha256=` (the trust anchor), else
/// against `NAME.sha256` or `SHA256SUMS` beside it, which only detects
/// corruption (whoever can change the image can change those too).
pub fn verify<C: Connect>(net: &C, plan: &FetchPlan, fetched: &Fetched) -> Result<(), StepError> {
    let name = fetched.url.file_name();
    let (want, from) = match plan.sha256 {
        Some(d) => (d, "netinit.sha256= on the cmdline".to_owned()),
        None => {
            let found = [format!("{name}.sha256"), "SHA256SUMS".to_owned()]
                .into_iter()
                .find_map(|f| {
                    let u = fetched.url.sibling(&f);
                    let d = sha256::find_in_sums(&get_small(net, &u)?, name)?;
                    Some((d, u))
                });
            match found {
                Some((d, u)) => (d, format!("{u} (detects corruption only, not tampering)")),
                None => {
                    warn!(
                        Step::Fetch,
                        "not verified: no netinit.sha256= and no {name}.sha256 or SHA256SUMS beside the image"
                    );
                    return Ok(());
                }
            }
        }
    };
    let got = fetched.sha256;
    if got != want {
        return Err(fail(format_args!(
            "sha256 mismatch: refusing the image {}: expected {} from {from}, got {}",
            fetched.url,
            sha256::hex(&want),
            sha256::hex(&got)
        ))
        .hint(
            "the image changed or was corrupted; fix it on the server or the hash on the cmdline",
        ));
    }
    info!(Step::Fetch, "sha256 {} matches {from}", sha256::hex(&got));
    Ok(())
}

/// Where the fetched image and its medium live (they move into the new
/// root with /run).
pub const HTTP_DIR: &str = "/run/netinit/http";
pub const ISO_DIR: &str = "/run/netinit/iso";

/// Fetches the image into a tmpfs, mounts it (through the ISO when it
/// is one) and builds the overlay in `newroot`.
pub fn assemble<S, C, T>(
    sys: &mut S,
    (net, clock): (&C, &mut T),
    plan: &BootPlan,
    f: &FetchPlan,
    newroot: &Path,
    modules: &mut dyn Modules,
) -> Result<Assembled, StepError>
where
    S: Mount + Loop + Files,
    C: Connect,
    C::Stream: Send,
    T: Clock + Clone + Send + Sync,
{
    let first = f.urls.first().ok_or_else(|| fail("no URL"))?;
    let path = Path::new(HTTP_DIR).join(place(first, &plan.live));
    let meminfo = sys.read_to_string(Path::new("/proc/meminfo"));
    let have = meminfo.as_deref().and_then(mem_available).unwrap_or(0);
    let total = meminfo.as_deref().and_then(mem_total).unwrap_or(have);
    let overlay = overlay_bytes(plan.overlay.size, total);
    let (fetched, file) = timed(Step::Fetch, || {
        let fits = |size: u64| {
            if toram_fits(size, have, overlay) {
                return Ok(());
            }
            Err(fail(format_args!(
                "the image is {}, the overlay may take {}, and {} of RAM is available: it does not fit, not downloading",
                human_bytes(size),
                human_bytes(overlay),
                human_bytes(have)
            ))
            .hint("give the machine more RAM, or a smaller netinit.overlay_size="))
        };
        let create = |size: u64| image_file(sys, &path, size);
        let (fetched, file) = download(net, clock, f, fits, create)?;
        verify(net, f, &fetched)?;
        Ok((fetched, file))
    })?;
    let mut head = vec![0u8; SNIFF_LEN];
    let n = file.read_at(0, &mut head).map_err(fail)?;
    drop(file);
    let kind = image_kind(head.get(..n).unwrap_or(&[])).ok_or_else(|| {
        fail(format_args!(
            "{} is neither a squashfs nor an ISO 9660 image",
            fetched.url
        ))
        .hint("url= / fetch= / root=live: name an .iso or a .squashfs")
    })?;
    let (medium, images) = match kind {
        ImageKind::Squashfs => (HTTP_DIR, vec![path.clone()]),
        ImageKind::Iso => {
            let images = timed(Step::Image, || mount_iso(sys, &path, &plan.live, modules))?;
            (ISO_DIR, images)
        }
    };
    stack_live(sys, plan, &images, (newroot, medium), modules)?;
    Ok(Assembled {
        newroot: newroot.to_path_buf(),
        // The hand-off's ROOTSERVER/ROOTPATH: the server that served.
        root: served_from(&fetched.url),
        images,
    })
}

/// The root as the hand-off names it: the server that served, the path.
fn served_from(url: &Url) -> ResolvedRoot {
    ResolvedRoot {
        server: url.host,
        servers: Vec::new(),
        path: url.path.clone(),
        options: Vec::new(),
        version: NfsVersion::V3,
        // The URL is the cmdline's (or a mirror it names).
        server_from: netinit_core::plan::ServerSource::Cmdline,
        options_from: Vec::new(),
        refused: Vec::new(),
    }
}

/// The file the image downloads into, on a tmpfs of its size at
/// [`HTTP_DIR`].
fn image_file<S: Mount + Files>(
    sys: &mut S,
    path: &Path,
    size: u64,
) -> Result<ImageFile, StepError> {
    // Room for the image and a sums file.
    ram_dir(
        sys,
        Path::new(HTTP_DIR),
        size.saturating_add(2 << 20),
        Step::Fetch,
    )?;
    if let Some(parent) = path.parent() {
        sys.mkdir_p(parent).map_err(fail)?;
    }
    ImageFile::create(path, size).map_err(fail)
}

/// Loop-mounts the fetched ISO at [`ISO_DIR`] and finds its images.
fn mount_iso<S: Mount + Loop + Files>(
    sys: &mut S,
    path: &Path,
    live: &LivePlan,
    modules: &mut dyn Modules,
) -> Result<Vec<PathBuf>, StepError> {
    modules.ensure(Step::Image, &["loop", "isofs"]);
    let hint = "is the isofs module in the initrd (netinit-mkinitrd's @live)?".to_owned();
    loop_mount(
        sys,
        path,
        (Path::new(ISO_DIR), "iso9660"),
        Step::Image,
        hint,
    )?;
    iso_images(sys, live)
}

/// The images inside a mounted ISO: the layout's search, or dracut's
/// `LiveOS/squashfs.img`.
fn iso_images<S: Files>(sys: &mut S, live: &LivePlan) -> Result<Vec<PathBuf>, StepError> {
    let base = Path::new(ISO_DIR);
    let found = if live.layout == LiveLayout::Plain {
        vec!["LiveOS/squashfs.img".to_owned()]
    } else {
        let list = |rel: &str| sys.list_dir(&base.join(rel));
        let read = |rel: &str| sys.read_in(base, rel);
        find_images(live, &list, &read).map_err(|e| {
            StepError::new(Step::Image, format_args!("{e} in the ISO"))
                .hint("is it a live ISO of this layout (casper/, live/, arch/)?")
        })?
    };
    info!(Step::Image, "{} layer(s): {}", found.len(), found.join(" "));
    found
        .iter()
        .map(|rel| sys.resolve_in(base, rel))
        .collect::<Result<_, _>>()
        .map_err(|e| StepError::new(Step::Image, e).hint("the ISO has no such image"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeClock;
    use netinit_core::fetch::{FetchSource, HttpParams};
    use std::net::TcpListener;
    use std::sync::Mutex;

    /// A sink in memory.
    #[derive(Debug)]
    struct Mem(Mutex<Vec<u8>>);
    impl Sink for Mem {
        fn write_at(&self, offset: u64, buf: &[u8]) -> netinit_sys::Result<()> {
            let mut v = self.0.lock().unwrap();
            let o = offset as usize;
            v[o..o + buf.len()].copy_from_slice(buf);
            Ok(())
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> netinit_sys::Result<usize> {
            let v = self.0.lock().unwrap();
            let o = (offset as usize).min(v.len());
            let n = buf.len().min(v.len() - o);
            buf[..n].copy_from_slice(&v[o..o + n]);
            Ok(n)
        }
    }

    /// A tiny range-capable server on loopback that drops the first
    /// `drops` connections after `cut` body bytes.
    fn serve(
        body: Vec<u8>,
        drops: usize,
        cut: usize,
    ) -> (Url, std::thread::JoinHandle<Vec<String>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut dropped = 0;
            l.set_nonblocking(false).unwrap();
            for conn in l.incoming() {
                let mut c = conn.unwrap();
                let mut req = Vec::new();
                let mut b = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = c.read(&mut b).unwrap();
                    if n == 0 {
                        break;
                    }
                    req.extend_from_slice(&b[..n]);
                }
                let req = String::from_utf8(req).unwrap();
                if req.starts_with("QUIT") || req.is_empty() {
                    break;
                }
                let path = req.split(' ').nth(1).unwrap().to_owned();
                seen.push(
                    req.lines()
                        .find(|l| l.starts_with("Range"))
                        .unwrap_or("no range")
                        .to_owned(),
                );
                if path != "/img" {
                    let _ = c.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                    continue;
                }
                let (a, z) = match req.lines().find_map(|l| l.strip_prefix("Range: bytes=")) {
                    Some(r) => {
                        let (a, z) = r.split_once('-').unwrap();
                        let a: usize = a.parse().unwrap();
                        let z: usize = if z.is_empty() {
                            body.len() - 1
                        } else {
                            z.parse().unwrap()
                        };
                        (a, z)
                    }
                    None => (0, body.len() - 1),
                };
                let head = format!(
                    "HTTP/1.1 206 Partial\r\nContent-Length: {}\r\nContent-Range: bytes {a}-{z}/{}\r\n\r\n",
                    z - a + 1,
                    body.len()
                );
                c.write_all(head.as_bytes()).unwrap();
                let part = &body[a..=z];
                if dropped < drops && part.len() > cut {
                    dropped += 1;
                    let _ = c.write_all(&part[..cut]);
                } else {
                    let _ = c.write_all(part);
                }
            }
            seen
        });
        (
            Url::parse(&format!("http://127.0.0.1:{port}/img")).unwrap(),
            h,
        )
    }

    fn plan_for(urls: Vec<Url>, conns: u32) -> FetchPlan {
        let _ = HttpParams::default();
        FetchPlan {
            urls,
            source: FetchSource::Casper,
            sha256: None,
            conns,
            stall_secs: 10,
        }
    }

    fn quit(url: &Url) {
        let mut s = std::net::TcpStream::connect(SocketAddr::new(url.host, url.port)).unwrap();
        s.write_all(b"QUIT\r\n\r\n").unwrap();
    }

    #[test]
    fn resumes_dropped_connections_and_falls_over_to_a_mirror() {
        let body: Vec<u8> = (0..(9u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
        let (url, server) = serve(body.clone(), 2, 100_000);
        let dead = Url::parse("http://127.0.0.1:1/img").unwrap();
        let missing = Url::parse(&format!("http://127.0.0.1:{}/nope", url.port)).unwrap();
        let mut plan = plan_for(vec![dead, missing, url.clone()], 2);
        plan.sha256 = Some(sha256::digest(&body));
        let net = netinit_sys::http::Tcp;
        let mut clock = FakeClock::default();
        let (f, sink) = download(
            &net,
            &mut clock,
            &plan,
            |_| Ok(()),
            |n| Ok(Mem(Mutex::new(vec![0; n as usize]))),
        )
        .unwrap();
        assert_eq!(f.url, url);
        assert_eq!(*sink.0.lock().unwrap(), body);
        // The dead URL's second attempt waited on the clock, not for real
        // (each range thread backs off on a copy of it).
        assert_eq!(clock.sleeps, [RETRY_MS]);
        verify(&net, &plan, &f).unwrap();
        plan.sha256 = Some([0; 32]);
        let e = verify(&net, &plan, &f).unwrap_err().to_string();
        assert!(
            e.contains("sha256 mismatch") && e.contains(&sha256::hex(&sha256::digest(&body))),
            "{e}"
        );
        quit(&url);
        let seen = server.join().unwrap();
        // Two ranges, each dropped once, each resumed from where it stopped.
        assert!(
            seen.iter().any(|r| r.starts_with("Range: bytes=100000-")),
            "{seen:?}"
        );
        assert!(seen.len() >= 5, "{seen:?}");
    }

    /// The throughput row of docs/benchmarks.md: run inside the namespace
    /// that serves the URL, beside curl.
    #[test]
    #[ignore = "benchmark: NETINIT_BENCH_URL=http://ADDR/FILE [NETINIT_BENCH_CONNS=N] cargo test --release -p netinit bench_fetch -- --ignored --nocapture"]
    fn bench_fetch() {
        // `--include-ignored` (scripts/test.sh) runs it with no server to measure.
        let Ok(url) = std::env::var("NETINIT_BENCH_URL") else {
            println!("SKIP bench_fetch: NETINIT_BENCH_URL is not set");
            return;
        };
        let url = Url::parse(&url).unwrap();
        let conns = std::env::var("NETINIT_BENCH_CONNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(2);
        let plan = plan_for(vec![url], conns);
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        let path = dir.path().join("image");
        let size = std::cell::Cell::new(0u64);
        let start = std::time::Instant::now();
        let (f, _sink) = download(
            &netinit_sys::http::Tcp,
            &mut netinit_sys::Linux,
            &plan,
            |_| Ok(()),
            |n| {
                size.set(n);
                Ok(netinit_sys::http::ImageFile::create(&path, n).unwrap())
            },
        )
        .unwrap();
        // Download and hash together, as at boot.
        let secs = start.elapsed().as_secs_f64();
        println!(
            "BENCH conns={conns} bytes={} secs={secs:.3} MiB/s={:.1} sha256={}",
            size.get(),
            size.get() as f64 / secs / 1048576.0,
            sha256::hex(&f.sha256),
        );
    }

    #[test]
    fn the_hash_follows_the_stored_prefix() {
        let ranges = [(0, 9), (10, 19), (20, 24)];
        let at = |p: [u64; 3]| p.map(AtomicU64::new);
        assert_eq!(stored_prefix(&ranges, &at([0, 10, 20])), 0);
        assert_eq!(stored_prefix(&ranges, &at([4, 15, 25])), 4);
        assert_eq!(stored_prefix(&ranges, &at([10, 12, 25])), 12);
        assert_eq!(stored_prefix(&ranges, &at([10, 20, 25])), 25);
        assert_eq!(stored_prefix(&[], &[]), 0);
    }

    #[test]
    fn too_big_fails_before_the_body() {
        let (url, server) = serve(vec![1; 1000], 0, 0);
        let plan = plan_for(vec![url.clone()], 1);
        let e = download(
            &netinit_sys::http::Tcp,
            &mut FakeClock::default(),
            &plan,
            |n| Err(fail(format_args!("{n} too big"))),
            |_| -> Result<Mem, _> { panic!("created") },
        )
        .unwrap_err();
        assert!(e.to_string().contains("1000 too big"), "{e}");
        quit(&url);
        server.join().unwrap();
    }
}
