//! Compression through the standard tools. Every distro's initrd
//! generator does the same; they are deterministic with these flags, and
//! the kernel's decompressors accept their output (xz needs CRC32 checks).

use std::io::Write;
use std::process::{Command, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    None,
    Gzip,
    Zstd,
    Xz,
}

impl Method {
    pub fn parse(s: &str) -> Result<Method, String> {
        Ok(match s {
            "none" => Method::None,
            "gzip" => Method::Gzip,
            "zstd" => Method::Zstd,
            "xz" => Method::Xz,
            other => return Err(format!("--compress {other}: want gzip, zstd, xz or none")),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::None => "uncompressed",
            Method::Gzip => "gzip",
            Method::Zstd => "zstd",
            Method::Xz => "xz",
        }
    }

    fn command(self) -> Option<(&'static str, &'static [&'static str], &'static str)> {
        match self {
            Method::None => None,
            Method::Gzip => Some(("gzip", &["-9", "-n", "-c"], "gzip")),
            Method::Zstd => Some(("zstd", &["-19", "-q", "-c", "-T1"], "zstd")),
            Method::Xz => Some((
                "xz",
                &["--check=crc32", "--lzma2=dict=1MiB", "-9", "-c", "-T1"],
                "xz-utils",
            )),
        }
    }
}

/// Runs `program args` with `input` on stdin; returns stdout. Any failed
/// exit is an error (the lab's `util::pipe` accepts one with output).
pub fn pipe(program: &str, args: &[&str], input: &[u8], package: &str) -> Result<Vec<u8>, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e} (hint: apt-get install {package})"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    // Feed on a thread so a full stdout pipe can't deadlock us.
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

pub fn compress(method: Method, data: &[u8]) -> Result<Vec<u8>, String> {
    match method.command() {
        None => Ok(data.to_vec()),
        Some((prog, args, pkg)) => pipe(prog, args, data, pkg),
    }
}
