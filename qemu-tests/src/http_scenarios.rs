//! The image over HTTP: one boot per dialect (casper `url=` ISO,
//! live-boot `fetch=`, dracut `root=live:`, archiso `archiso_http_srv=`),
//! a wrong hash refused, too little RAM refused before the download, a
//! dead first mirror, and a server killed mid-transfer and restarted.
//! Images are served by the documented nginx from `tftp/http/`; the
//! resume scenario has an nginx of its own (port 8080, rate-limited, one
//! process) that the lab kills and restarts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::lab::{Lab, SERVER};
use crate::scenario::{Expect, Scenario};
use crate::scenario::{netinit_boot, pass};
use crate::util::run;

/// The fetch= image's sha256, known once it is built; `@SHA256@` in a
/// cmdline stands for it.
static SHA: OnceLock<String> = OnceLock::new();

pub const RESUME: &str = "http-resume";

fn scenario(name: &'static str, what: &'static str, cmdline: String, expect: Expect) -> Scenario {
    netinit_boot(name, what, cmdline, expect, 150)
}

pub fn all() -> Vec<Scenario> {
    let s = SERVER;
    let u = format!("http://{s}/http");
    vec![
        scenario(
            "http-url-iso",
            "Ubuntu's url=: a casper ISO over HTTP into RAM, checked against SHA256SUMS beside it, loop-mounted as iso9660, casper/filesystem.squashfs inside; the medium at /cdrom",
            format!("boot=casper url={u}/casper.iso ip=dhcp"),
            pass(&[
                ("root", "overlay"),
                ("http", "iso"),
                ("proto", "dhcp"),
                ("medium", "/cdrom"),
                ("kmsg", "matches_http://10.77.0.1/http/SHA256SUMS"),
            ]),
        ),
        scenario(
            "http-fetch",
            "live-boot fetch=: a squashfs over HTTP, checked against netinit.sha256= on the cmdline; the medium at /run/live/medium",
            format!("boot=live fetch={u}/live/filesystem.squashfs netinit.sha256=@SHA256@ ip=dhcp"),
            pass(&[
                ("root", "overlay"),
                ("http", "sfs"),
                ("proto", "dhcp"),
                ("kmsg", "matches_netinit.sha256=_on_the_cmdline"),
            ]),
        ),
        scenario(
            "http-fetch-v6",
            "fetch=http://[fd77::1]/… with ip=auto6 alone: the squashfs over HTTP on IPv6, no IPv4 at all, checked against netinit.sha256=",
            "boot=live fetch=http://[fd77::1]/http/live/filesystem.squashfs netinit.sha256=@SHA256@ ip=auto6".to_owned(),
            pass(&[
                ("root", "overlay"),
                ("http", "sfs"),
                ("proto", "none"),
                ("ipv6", "fd77::"),
                ("kmsg", "matches_netinit.sha256=_on_the_cmdline"),
            ]),
        ),
        scenario(
            "http-dracut-live",
            "dracut root=live:URL: an ISO with LiveOS/squashfs.img over HTTP",
            format!("root=live:{u}/dracut.iso ip=dhcp"),
            pass(&[("root", "overlay"), ("http", "iso"), ("proto", "dhcp")]),
        ),
        scenario(
            "http-archiso",
            "archiso_http_srv= with archisobasedir=: URL/arch/x86_64/airootfs.sfs over HTTP; the medium at /run/archiso/bootmnt",
            format!("archiso_http_srv={u}/ archisobasedir=arch ip=dhcp"),
            pass(&[("root", "overlay"), ("http", "sfs"), ("proto", "dhcp")]),
        ),
        scenario(
            "http-mirror",
            "the first URL is down (nothing listens on port 81), the mirror serves; the log says which",
            format!(
                "boot=casper url=http://{s}:81/http/casper.iso netinit.mirror={u}/mirror/casper.iso ip=dhcp"
            ),
            pass(&[
                ("root", "overlay"),
                ("http", "iso"),
                ("proto", "dhcp"),
                ("rootpath", "/http/mirror/casper.iso"),
                ("kmsg", "(mirror_1_of_1)"),
            ]),
        ),
        scenario(
            "http-wrong-hash",
            "netinit.sha256= does not match the image: refused, both hashes printed",
            format!(
                "boot=live fetch={u}/live/filesystem.squashfs netinit.sha256={} ip=dhcp",
                "0".repeat(64)
            ),
            Expect::Fail {
                step: "fetch",
                contains: "sha256 mismatch: refusing the image",
            },
        ),
        scenario(
            "http-too-big",
            "a 64 GiB image on a 768 MiB machine: a clear failure from Content-Length before the download starts",
            format!("boot=casper url={u}/big.iso ip=dhcp"),
            Expect::Fail {
                step: "fetch",
                contains: "does not fit, not downloading",
            },
        ),
        scenario(
            RESUME,
            "the server is killed mid-transfer and restarted 3 s later: the download resumes with Range",
            format!(
                "boot=live fetch=http://{s}:8080/http/slow/filesystem.squashfs netinit.http_conns=1 ip=dhcp"
            ),
            pass(&[
                ("root", "overlay"),
                ("http", "sfs"),
                ("proto", "dhcp"),
                ("kmsg", "resuming_with_Range"),
            ]),
        ),
    ]
}

pub fn is_http(s: &Scenario) -> bool {
    s.name.starts_with("http-")
}

/// `@SHA256@` replaced by the fetch= image's hash.
pub fn fill(cmdline: String) -> String {
    match SHA.get() {
        Some(h) => cmdline.replace("@SHA256@", h),
        None => cmdline,
    }
}

fn sha256sum(p: &Path) -> Result<String, String> {
    let out = run(Command::new("sha256sum").arg(p))?;
    out.split_whitespace()
        .next()
        .map(str::to_owned)
        .ok_or_else(|| format!("sha256sum {}: no output", p.display()))
}

fn link_or_copy(src: &Path, dst: &Path) -> Result<(), String> {
    if let Some(p) = dst.parent() {
        std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
    }
    let _ = std::fs::remove_file(dst);
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
    }
    Ok(())
}

/// An ISO 9660 image of `dir` (xorriso, Rock Ridge).
fn iso(dir: &Path, out: &Path) -> Result<(), String> {
    run(Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-R", "-V", "NETINIT_LAB", "-o"])
        .arg(out)
        .arg(dir))
    .map(drop)
    .map_err(|e| format!("{e} (apt-get install xorriso)"))
}

/// Builds every image under `work/tftp/http` from the live export's
/// squashfs (the checker root).
pub fn prepare(work: &Path) -> Result<(), String> {
    let sfs = work.join("export/live/live/filesystem.squashfs");
    let http = work.join("tftp/http");
    let stage = work.join("stage/http");
    std::fs::create_dir_all(&http).map_err(|e| e.to_string())?;
    link_or_copy(&sfs, &http.join("live/filesystem.squashfs"))?;
    let _ = SHA.set(sha256sum(&sfs)?);
    link_or_copy(&sfs, &http.join("arch/x86_64/airootfs.sfs"))?;
    // casper ISO: casper/filesystem.squashfs and the medium marker.
    let cas = stage.join("casper-iso");
    link_or_copy(&sfs, &cas.join("casper/filesystem.squashfs"))?;
    std::fs::write(cas.join("nfs-only.txt"), "nfs-only\n").map_err(|e| e.to_string())?;
    iso(&cas, &http.join("casper.iso"))?;
    link_or_copy(&http.join("casper.iso"), &http.join("mirror/casper.iso"))?;
    let sum = sha256sum(&http.join("casper.iso"))?;
    std::fs::write(http.join("SHA256SUMS"), format!("{sum}  casper.iso\n"))
        .map_err(|e| e.to_string())?;
    // dracut ISO: LiveOS/squashfs.img.
    let dra = stage.join("dracut-iso");
    link_or_copy(&sfs, &dra.join("LiveOS/squashfs.img"))?;
    std::fs::write(dra.join("nfs-only.txt"), "nfs-only\n").map_err(|e| e.to_string())?;
    iso(&dra, &http.join("dracut.iso"))?;
    // Sparse: nginx announces 64 GiB without the disk holding it.
    let big = std::fs::File::create(http.join("big.iso")).map_err(|e| e.to_string())?;
    big.set_len(64 << 30).map_err(|e| e.to_string())?;
    // The resume image: the checker root plus 8 MiB that do not compress.
    let slow = stage.join("slow-root");
    let _ = std::fs::remove_dir_all(&slow);
    run(Command::new("cp")
        .arg("-a")
        .arg(work.join("stage/full"))
        .arg(&slow))?;
    run(Command::new("dd")
        .args(["if=/dev/urandom", "bs=1M", "count=8", "status=none"])
        .arg(format!("of={}", slow.join("padding").display())))?;
    crate::roots::squash(&slow, &http.join("slow/filesystem.squashfs"))?;
    Ok(())
}

/// The resume scenario's server: one nginx process (no master, so a kill
/// drops the transfer), 1 MiB/s per connection, on port 8080.
fn slow_conf(work: &Path) -> Result<PathBuf, String> {
    let logs = work.join("logs");
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {pid};\nerror_log {logs}/nginx-slow-error.log;\n\
         events {{ worker_connections 16; }}\n\
         http {{ default_type application/octet-stream; access_log {logs}/nginx-slow-access.log;\n\
           server {{ listen {SERVER}:8080; root {root}; limit_rate 1m; }} }}\n",
        pid = work.join("nginx-slow.pid").display(),
        logs = logs.display(),
        root = work.join("tftp").display(),
    );
    let out = work.join("nginx-slow.conf");
    std::fs::write(&out, conf).map_err(|e| e.to_string())?;
    Ok(out)
}

fn start_slow(lab: &Lab, conf: &Path, n: u32) -> Result<Child, String> {
    let log = lab.work.join(format!("logs/nginx-slow-{n}.out"));
    let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let child = lab
        .in_ns("nginx")
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("nginx: {e}"))?;
    crate::cleanup::track_pid(child.id(), "nginx");
    Ok(child)
}

/// Runs the slow server and, once the guest's first progress line shows
/// the download under way, kills it and starts it again 3 s later. In a
/// thread; returns at once.
pub fn start_resume_server(lab: &Lab) -> Result<(), String> {
    let conf = slow_conf(&lab.work)?;
    let first = start_slow(lab, &conf, 1)?;
    let console = lab.work.join(format!("logs/{RESUME}.console"));
    let ns = lab.ns.clone();
    let work = lab.work.clone();
    std::thread::spawn(move || {
        let mut pid = first.id();
        // The scenario may boot late in a full run: the 300 s bound starts
        // when its console appears, not when the lab does.
        let lab_start = Instant::now();
        while !console.exists() && lab_start.elapsed() < Duration::from_secs(4 * 3600) {
            std::thread::sleep(Duration::from_millis(500));
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(300) {
            let text = std::fs::read_to_string(&console).unwrap_or_default();
            if text.contains("netinit: fetch: ") && text.contains(" %), ") {
                crate::cleanup::stop(pid);
                let _ = std::fs::write(work.join("logs/nginx-slow-killed"), "killed\n");
                std::thread::sleep(Duration::from_secs(3));
                let log = work.join("logs/nginx-slow-2.out");
                if let Ok(file) = std::fs::File::create(&log) {
                    let err = file.try_clone().ok();
                    let mut cmd = Command::new("ip");
                    cmd.args(["netns", "exec", &ns, "nginx", "-c"]).arg(&conf);
                    cmd.stdin(Stdio::null()).stdout(file);
                    if let Some(e) = err {
                        cmd.stderr(e);
                    }
                    if let Ok(c) = cmd.spawn() {
                        pid = c.id();
                        crate::cleanup::track_pid(pid, "nginx");
                    }
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        crate::cleanup::stop(pid);
    });
    Ok(())
}
