//! HTTP image fetch: the dialects that name an image by URL, planned into
//! one [`FetchPlan`]. Pure.
//!
//! - live-boot `fetch=URL` (a squashfs, or an ISO with `live/` inside);
//! - dracut `root=live:URL` (a squashfs, or an ISO with `LiveOS/squashfs.img`);
//! - archiso `archiso_http_srv=URL` + `archisobasedir=` (fetches
//!   `URL<basedir>/x86_64/airootfs.sfs`);
//! - casper `url=URL` (Ubuntu's live server ISO, `casper/*.squashfs` inside);
//! - ours: `netinit.mirror=URL` (repeatable: the same image elsewhere, tried
//!   in order), `netinit.sha256=HEX`, `netinit.http_conns=N`,
//!   `netinit.http_timeout=SECONDS`.

use crate::config::ConfigError;
use crate::config::{LiveLayout, err};
use crate::http::Url;
use crate::live::LivePlan;

pub use crate::config::HttpParams;

/// Which word named the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchSource {
    LiveBoot,
    Dracut,
    Archiso,
    Casper,
}

impl FetchSource {
    /// The cmdline word, as `explain` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            FetchSource::LiveBoot => "fetch",
            FetchSource::Dracut => "root=live:",
            FetchSource::Archiso => "archiso_http_srv",
            FetchSource::Casper => "url",
        }
    }
}

/// The fetch, decided before the network is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPlan {
    /// The image's URL first, then the mirrors, tried in this order.
    pub urls: Vec<Url>,
    pub source: FetchSource,
    /// `netinit.sha256=`: the trust anchor (the cmdline comes from the
    /// boot loader). Without it a `SHA256SUMS` or `NAME.sha256` beside
    /// the image is checked, which only detects corruption.
    pub sha256: Option<[u8; 32]>,
    /// Parallel range requests (`netinit.http_conns=`).
    pub conns: u32,
    /// How long a download may go without a byte before it fails.
    pub stall_secs: u32,
}

/// Default parallel connections: two filled the lab link (docs/benchmarks.md).
pub const DEFAULT_CONNS: u32 = 2;
pub const DEFAULT_STALL_SECS: u32 = 30;

/// The fetch and its layout, or `None` when no word names an image.
/// When several do, the first of url=, fetch=, root=live:, archiso wins
/// and the others are noted.
pub fn plan_fetch(
    h: &HttpParams,
    archisobasedir: Option<&str>,
    live_media_path: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Option<(FetchPlan, LivePlan)>, ConfigError> {
    let archiso = h.archiso_srv.as_ref().map(|srv| {
        let base = archisobasedir.unwrap_or("arch");
        let sep = if srv.ends_with('/') { "" } else { "/" };
        format!("{srv}{sep}{base}/x86_64/airootfs.sfs")
    });
    let named = [
        (FetchSource::Casper, h.url.clone(), "url"),
        (FetchSource::LiveBoot, h.fetch.clone(), "fetch"),
        (FetchSource::Dracut, h.dracut_live.clone(), "root"),
        (FetchSource::Archiso, archiso, "archiso_http_srv"),
    ];
    let mut given = named
        .into_iter()
        .filter_map(|(s, u, k)| u.map(|u| (s, u, k)));
    let Some((source, first, key)) = given.next() else {
        if !h.mirrors.is_empty() || h.sha256.is_some() {
            notes.push("netinit.mirror= / netinit.sha256= have no effect without an image URL (url=, fetch=, root=live:, archiso_http_srv=)".to_owned());
        }
        return Ok(None);
    };
    for (_, _, other) in given {
        notes.push(format!("{other}= is ignored: {key}= names the image"));
    }
    let mut urls = vec![Url::parse(&first).map_err(|r| err(key, r))?];
    for m in &h.mirrors {
        urls.push(Url::parse(m).map_err(|r| err("netinit.mirror", r))?);
    }
    let (layout, base) = match source {
        FetchSource::Casper => (LiveLayout::Casper, live_media_path.unwrap_or("casper")),
        FetchSource::LiveBoot => (LiveLayout::LiveBoot, live_media_path.unwrap_or("live")),
        FetchSource::Archiso => (LiveLayout::Archiso, archisobasedir.unwrap_or("arch")),
        FetchSource::Dracut => (LiveLayout::Plain, "LiveOS"),
    };
    let live = LivePlan {
        layout,
        base_dir: Some(base.to_owned()),
        module: None,
    };
    Ok(Some((
        FetchPlan {
            urls,
            source,
            sha256: h.sha256,
            conns: h.conns.unwrap_or(DEFAULT_CONNS),
            stall_secs: h.timeout.unwrap_or(DEFAULT_STALL_SECS),
        },
        live,
    )))
}

/// What a downloaded file is, from its first 32 KiB + 6 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Squashfs,
    Iso,
}

/// Bytes [`image_kind`] needs to see.
pub const SNIFF_LEN: usize = 0x8006;

/// squashfs starts with `hsqs`; ISO 9660's first volume descriptor is at
/// 32 KiB with `CD001` at byte 1.
pub fn image_kind(head: &[u8]) -> Option<ImageKind> {
    if head.starts_with(b"hsqs") {
        Some(ImageKind::Squashfs)
    } else if head.get(0x8001..0x8006) == Some(b"CD001") {
        Some(ImageKind::Iso)
    } else {
        None
    }
}

/// Where the download goes in the fetch tmpfs, so that the layout finds
/// it there like on a medium: an ISO under its own name (it is mounted
/// and searched), a squashfs where the layout looks.
pub fn place(url: &Url, live: &LivePlan) -> String {
    let name = url.file_name();
    let base = live.base_dir.as_deref().unwrap_or("");
    if name.to_ascii_lowercase().ends_with(".iso") {
        return safe_name(name, "image.iso");
    }
    match live.layout {
        LiveLayout::Archiso => format!("{base}/x86_64/airootfs.sfs"),
        LiveLayout::Casper | LiveLayout::LiveBoot if name.ends_with(".squashfs") => {
            format!("{base}/{}", safe_name(name, "filesystem.squashfs"))
        }
        LiveLayout::Casper | LiveLayout::LiveBoot => format!("{base}/filesystem.squashfs"),
        _ => "LiveOS/squashfs.img".to_owned(),
    }
}

/// A name from a URL as one safe path component.
fn safe_name(name: &str, fallback: &str) -> String {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+~".contains(&b));
    if ok {
        name.to_owned()
    } else {
        fallback.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::Cmdline;

    fn params(text: &str) -> HttpParams {
        let mut h = HttpParams::default();
        for p in &Cmdline::parse(text).params {
            h.apply(p).unwrap();
        }
        h
    }

    fn planned(text: &str, archisobasedir: Option<&str>) -> (FetchPlan, LivePlan, Vec<String>) {
        let mut notes = Vec::new();
        let (f, l) = plan_fetch(&params(text), archisobasedir, None, &mut notes)
            .unwrap()
            .unwrap();
        (f, l, notes)
    }

    #[test]
    fn dialects() {
        let cases = [
            (
                "url=http://10.0.0.1/u.iso",
                FetchSource::Casper,
                LiveLayout::Casper,
                "http://10.0.0.1/u.iso",
                "u.iso",
            ),
            (
                "fetch=http://10.0.0.1/live/filesystem.squashfs",
                FetchSource::LiveBoot,
                LiveLayout::LiveBoot,
                "http://10.0.0.1/live/filesystem.squashfs",
                "live/filesystem.squashfs",
            ),
            (
                "fetch=http://10.0.0.1/img",
                FetchSource::LiveBoot,
                LiveLayout::LiveBoot,
                "http://10.0.0.1/img",
                "live/filesystem.squashfs",
            ),
            (
                "root=live:http://10.0.0.1/squashfs.img",
                FetchSource::Dracut,
                LiveLayout::Plain,
                "http://10.0.0.1/squashfs.img",
                "LiveOS/squashfs.img",
            ),
            (
                "archiso_http_srv=http://10.0.0.1/iso/",
                FetchSource::Archiso,
                LiveLayout::Archiso,
                "http://10.0.0.1/iso/arch/x86_64/airootfs.sfs",
                "arch/x86_64/airootfs.sfs",
            ),
        ];
        for (text, source, layout, url, at) in cases {
            let (f, l, _) = planned(text, None);
            assert_eq!((f.source, l.layout), (source, layout), "{text}");
            assert_eq!(f.urls[0].to_string(), url, "{text}");
            assert_eq!(place(&f.urls[0], &l), at, "{text}");
        }
        let (f, l, _) = planned("archiso_http_srv=http://10.0.0.1:8080", Some("x"));
        assert_eq!(
            f.urls[0].to_string(),
            "http://10.0.0.1:8080/x/x86_64/airootfs.sfs"
        );
        assert_eq!(place(&f.urls[0], &l), "x/x86_64/airootfs.sfs");
    }

    #[test]
    fn mirrors_hash_and_knobs() {
        let h = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let (f, _, notes) = planned(
            &format!(
                "url=http://10.0.0.1/a.iso netinit.mirror=http://10.0.0.2/a.iso netinit.mirror=http://10.0.0.3:81/a.iso netinit.sha256={h} netinit.http_conns=4 fetch=http://10.0.0.9/x"
            ),
            None,
        );
        let urls: Vec<String> = f.urls.iter().map(|u| u.to_string()).collect();
        assert_eq!(
            urls,
            [
                "http://10.0.0.1/a.iso",
                "http://10.0.0.2/a.iso",
                "http://10.0.0.3:81/a.iso"
            ]
        );
        assert_eq!(f.sha256.map(|d| crate::sha256::hex(&d)).as_deref(), Some(h));
        assert_eq!((f.conns, f.stall_secs), (4, DEFAULT_STALL_SECS));
        assert_eq!(notes, ["fetch= is ignored: url= names the image"]);
    }

    #[test]
    fn refusals() {
        for (text, part) in [
            ("netinit.sha256=abc", "64 hex"),
            ("netinit.http_conns=0", "1 to 16"),
            ("netinit.http_conns=17", "1 to 16"),
            ("url=", "needs a value"),
        ] {
            let mut h = HttpParams::default();
            let e = Cmdline::parse(text)
                .params
                .iter()
                .try_for_each(|p| h.apply(p).map(|_| ()))
                .unwrap_err();
            assert!(e.to_string().contains(part), "{text}: {e}");
        }
        for text in [
            "url=https://10.0.0.1/a.iso",
            "fetch=http://mirror.example/a",
            "url=http://10.0.0.1/a netinit.mirror=ftp://x/y",
        ] {
            assert!(
                plan_fetch(&params(text), None, None, &mut Vec::new()).is_err(),
                "{text}"
            );
        }
        let mut notes = Vec::new();
        assert_eq!(
            plan_fetch(
                &params("root=/dev/sda1 netinit.mirror=http://1.2.3.4/x"),
                None,
                None,
                &mut notes
            ),
            Ok(None)
        );
        assert_eq!(notes.len(), 1);
        let mut h = HttpParams::default();
        assert!(!h.apply(&Cmdline::parse("root=/dev/nfs").params[0]).unwrap());
    }

    #[test]
    fn planned_as_a_whole() {
        use crate::plan::{NetMethod, RootKind, from_cmdline, root_modules};
        let p = from_cmdline("boot=casper url=http://10.0.0.1/u.iso").unwrap();
        assert_eq!(
            (p.root.is_none(), p.network.method),
            (true, NetMethod::Dhcp)
        );
        assert_eq!(root_modules(&p), ["loop", "isofs", "squashfs", "overlay"]);
        assert_eq!(p.fetch.map(|f| f.source), Some(FetchSource::Casper));
        let e = from_cmdline("fetch=http://10.0.0.1/a ip=off").unwrap_err();
        assert!(e.to_string().contains("the root is on HTTP"), "{e}");
        let p = from_cmdline("root=/dev/nfs nfsroot=10.0.0.1:/x").unwrap();
        assert_eq!(
            (p.root.map(|r| r.kind), p.fetch),
            (Some(RootKind::Nfs), None)
        );
        assert!(from_cmdline("netinit.sha256=xyz").is_err());
        // The HTTP words are ours: root=live: is not a local device.
        let p = from_cmdline("root=live:http://10.0.0.1/s.img").unwrap();
        assert_eq!(p.fetch.map(|f| f.source), Some(FetchSource::Dracut));
    }

    #[test]
    fn kinds() {
        let mut iso = vec![0u8; SNIFF_LEN];
        iso[0x8001..0x8006].copy_from_slice(b"CD001");
        assert_eq!(image_kind(&iso), Some(ImageKind::Iso));
        assert_eq!(image_kind(b"hsqs...."), Some(ImageKind::Squashfs));
        assert_eq!(image_kind(b"<html>"), None);
        assert_eq!(image_kind(&iso[..0x8003]), None);
    }

    #[test]
    fn unsafe_names_fall_back() {
        let live = LivePlan {
            layout: LiveLayout::LiveBoot,
            base_dir: Some("live".into()),
            module: None,
        };
        let u = Url::parse("http://1.2.3.4/a%2F..%2Fb.squashfs").unwrap();
        assert_eq!(place(&u, &live), "live/filesystem.squashfs");
        let u = Url::parse("http://1.2.3.4/..iso").unwrap();
        assert_eq!(place(&u, &live), "..iso");
    }
}
