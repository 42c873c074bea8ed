//! Kernel `.config` parsing and the table of what netinit needs from a kernel.
//!
//! The table is the single source of truth: `netinit check-kernel` reports
//! against it, and the tests check that the fragments in `kernel-config/`
//! satisfy it.

use std::collections::BTreeMap;
use std::fmt;

/// The state of one option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// `=y`
    Builtin,
    /// `=m`
    Module,
    /// `=n`, `# … is not set`, or absent.
    Missing,
    /// A non-tristate value (number, string) is set.
    Value,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Builtin => "y",
            State::Module => "m",
            State::Missing => "missing",
            State::Value => "set",
        }
    }
}

/// A parsed kernel config: option name (without `CONFIG_`) → raw value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelConfig {
    values: BTreeMap<String, String>,
}

/// A line that is neither an option, an unset marker, a comment nor blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

impl KernelConfig {
    /// Parses `.config` / merge_config.sh fragment syntax.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut values = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if let Some(comment) = line.strip_prefix('#') {
                // `# CONFIG_FOO is not set` is an explicit `n`; other comments are prose.
                if let Some(name) = comment
                    .trim()
                    .strip_prefix("CONFIG_")
                    .and_then(|rest| rest.strip_suffix(" is not set"))
                {
                    values.insert(name.to_owned(), "n".to_owned());
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let bad = |reason: &str| ParseError {
                line: i + 1,
                reason: reason.to_owned(),
            };
            let rest = line
                .strip_prefix("CONFIG_")
                .ok_or_else(|| bad("expected CONFIG_NAME=value or a # comment"))?;
            let (name, value) = rest
                .split_once('=')
                .ok_or_else(|| bad("missing '=' after the option name"))?;
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(bad("invalid option name"));
            }
            values.insert(name.to_owned(), value.to_owned());
        }
        Ok(KernelConfig { values })
    }

    /// State of `name` (without the `CONFIG_` prefix).
    pub fn state(&self, name: &str) -> State {
        match self.values.get(name).map(String::as_str) {
            None | Some("n") => State::Missing,
            Some("y") => State::Builtin,
            Some("m") => State::Module,
            Some(_) => State::Value,
        }
    }

    /// Number of options mentioned (set or explicitly unset).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// What a requirement accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Must be `=y`: used before any module can load, or by PID 1 itself.
    Builtin,
    /// `=y` or `=m` (netinit loads modules by modalias or from the list).
    BuiltinOrModule,
}

/// How bad a missing requirement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The boot cannot work without it.
    Required,
    /// A feature is lost (NFSv4, virtio NICs, firmware); the boot may work.
    Recommended,
}

/// One line of the requirement table: any one of `options` satisfies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub options: &'static [&'static str],
    pub need: Need,
    pub severity: Severity,
    /// What breaks without it.
    pub feature: &'static str,
}

const fn req(
    options: &'static [&'static str],
    need: Need,
    severity: Severity,
    feature: &'static str,
) -> Requirement {
    Requirement {
        options,
        need,
        severity,
        feature,
    }
}

use Need::{Builtin as Y, BuiltinOrModule as YM};
use Severity::{Recommended as Rec, Required as Req};

/// Everything netinit needs from a kernel, in boot order.
pub const REQUIREMENTS: &[Requirement] = &[
    req(
        &["BLK_DEV_INITRD"],
        Y,
        Req,
        "initramfs: the kernel cannot run netinit as /init",
    ),
    req(
        &[
            "RD_GZIP", "RD_ZSTD", "RD_XZ", "RD_LZ4", "RD_LZMA", "RD_BZIP2", "RD_LZO",
        ],
        Y,
        Rec,
        "compressed initrd (any one compressor; an uncompressed initrd needs none)",
    ),
    req(
        &["BINFMT_ELF"],
        Y,
        Req,
        "executing /init (a static ELF binary)",
    ),
    req(
        &["DEVTMPFS"],
        Y,
        Req,
        "/dev (netinit mounts devtmpfs; there is no udev)",
    ),
    req(&["PROC_FS"], Y, Req, "/proc (cmdline, mounts, modules)"),
    req(
        &["SYSFS"],
        Y,
        Req,
        "/sys (modalias coldplug, carrier state)",
    ),
    req(&["TMPFS"], Y, Req, "/run and the overlay's writable layer"),
    req(&["NET"], Y, Req, "networking"),
    req(&["INET"], Y, Req, "IPv4"),
    req(
        &["PACKET"],
        Y,
        Req,
        "DHCP before the NIC has an address (AF_PACKET)",
    ),
    req(
        &["MODULES"],
        Y,
        Rec,
        "loading NIC, NFS and live-image drivers from the initrd (else build them in)",
    ),
    req(&["NFS_FS"], YM, Req, "the NFS root"),
    req(
        &["NFS_V3", "NFS_V4"],
        YM,
        Req,
        "an NFS protocol version (v3 is netinit's default)",
    ),
    req(&["NFS_V4"], YM, Rec, "NFSv4 roots (vers=4.x, nfs4:)"),
    req(&["NFS_V4_2"], Y, Rec, "NFSv4.2 (vers=4.2)"),
    req(
        &["SQUASHFS"],
        YM,
        Req,
        "live images (casper, live-boot, archiso, linomad sys=)",
    ),
    req(
        &[
            "SQUASHFS_XZ",
            "SQUASHFS_ZSTD",
            "SQUASHFS_ZLIB",
            "SQUASHFS_LZ4",
            "SQUASHFS_LZO",
        ],
        Y,
        Req,
        "a squashfs decompressor (xz and zstd are the common ones)",
    ),
    req(
        &["BLK_DEV_LOOP"],
        YM,
        Req,
        "mounting the squashfs image file",
    ),
    req(
        &["OVERLAY_FS"],
        YM,
        Req,
        "the writable live root (overlay over squashfs)",
    ),
    req(
        &["FW_LOADER"],
        Y,
        Rec,
        "NIC firmware (r8169, bnx2, tg3 … need it)",
    ),
    req(&["VIRTIO_PCI"], YM, Rec, "virtio devices in VMs"),
    req(&["VIRTIO_NET"], YM, Rec, "virtio-net NICs in VMs"),
    req(
        &[
            "E1000",
            "E1000E",
            "IGB",
            "IGC",
            "IXGBE",
            "R8169",
            "8139TOO",
            "8139CP",
            "TG3",
            "BNX2",
            "BNXT",
            "ALX",
            "ATL1C",
            "VIRTIO_NET",
            "VMXNET3",
            "MLX4_EN",
            "MLX5_CORE",
            "I40E",
            "ICE",
            "SKY2",
            "FORCEDETH",
            "USB_RTL8152",
            "USB_USBNET",
        ],
        YM,
        Rec,
        "an Ethernet driver (if yours is not among the common ones checked, check it yourself)",
    ),
];

/// The outcome for one requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub requirement: Requirement,
    /// The option that satisfied it, or the first one when none did.
    pub option: &'static str,
    pub state: State,
    pub ok: bool,
}

/// Advice that is not a requirement (e.g. the kernel's own ipconfig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub option: &'static str,
    pub text: &'static str,
    /// True when this makes the boot fail, not just slower.
    pub fatal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub notes: Vec<Note>,
}

impl Report {
    /// True when a required option is missing or a note is fatal.
    pub fn boot_cannot_work(&self) -> bool {
        self.findings
            .iter()
            .any(|f| !f.ok && f.requirement.severity == Severity::Required)
            || self.notes.iter().any(|n| n.fatal)
    }

    pub fn missing_required(&self) -> Vec<&'static str> {
        self.findings
            .iter()
            .filter(|f| !f.ok && f.requirement.severity == Severity::Required)
            .map(|f| f.option)
            .chain(self.notes.iter().filter(|n| n.fatal).map(|n| n.option))
            .collect()
    }
}

fn satisfies(state: State, need: Need) -> bool {
    match need {
        Need::Builtin => state == State::Builtin,
        Need::BuiltinOrModule => matches!(state, State::Builtin | State::Module),
    }
}

/// Checks a config against [`REQUIREMENTS`]. Pure.
pub fn check(config: &KernelConfig) -> Report {
    let findings = REQUIREMENTS
        .iter()
        .map(|r| {
            let hit = r
                .options
                .iter()
                .find(|o| satisfies(config.state(o), r.need));
            let option = hit.or(r.options.first()).copied().unwrap_or("");
            let state = config.state(option);
            // A module where a built-in is needed is reported with its real state.
            Finding {
                requirement: *r,
                option,
                state,
                ok: hit.is_some(),
            }
        })
        .collect();
    let mut notes = Vec::new();
    if config.state("IP_PNP") == State::Builtin {
        notes.push(Note {
            option: "IP_PNP",
            text: "the kernel's own ipconfig also acts on ip= before /init runs and can wait up to 120 s for carrier; netinit does not need it",
            fatal: false,
        });
    }
    let compressed = [
        "MODULE_COMPRESS_GZIP",
        "MODULE_COMPRESS_XZ",
        "MODULE_COMPRESS_ZSTD",
    ]
    .into_iter()
    .find(|o| config.state(o) == State::Builtin);
    if let Some(option) = compressed {
        if config.state("MODULE_DECOMPRESS") != State::Builtin {
            notes.push(Note {
                option,
                text: "modules are compressed but MODULE_DECOMPRESS is not set: finit_module cannot load .ko.xz/.ko.zst/.ko.gz; set MODULE_DECOMPRESS=y or ship uncompressed modules",
                fatal: true,
            });
        }
    }
    Report { findings, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> KernelConfig {
        KernelConfig::parse(text).unwrap()
    }

    #[test]
    fn parses_every_line_form() {
        let c = cfg(
            "#\n# Automatically generated\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"x y\"\nCONFIG_E=0x10\n\nCONFIG_F=n\n",
        );
        let got: Vec<State> = ["A", "B", "C", "D", "E", "F", "G"]
            .iter()
            .map(|o| c.state(o))
            .collect();
        use State::*;
        assert_eq!(
            got,
            [Builtin, Module, Missing, Value, Value, Missing, Missing]
        );
    }

    #[test]
    fn rejects_garbage_with_line_number() {
        for (text, line, reason) in [
            ("CONFIG_A=y\nhello\n", 2, "expected CONFIG_NAME=value"),
            ("CONFIG_A\n", 1, "missing '='"),
            ("CONFIG_=y\n", 1, "invalid option name"),
            ("CONFIG_A-B=y\n", 1, "invalid option name"),
        ] {
            let e = KernelConfig::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.reason.contains(reason), "{text:?}: {e}");
        }
    }

    #[test]
    fn empty_config_cannot_boot() {
        let r = check(&KernelConfig::default());
        assert!(r.boot_cannot_work());
        assert!(r.missing_required().contains(&"BLK_DEV_INITRD"));
    }

    #[test]
    fn any_of_takes_the_first_satisfied_option() {
        let r = check(&cfg("CONFIG_SQUASHFS_ZSTD=y\n"));
        let f = r
            .findings
            .iter()
            .find(|f| f.requirement.options.contains(&"SQUASHFS_XZ"))
            .unwrap();
        assert!(f.ok);
        assert_eq!(f.option, "SQUASHFS_ZSTD");
    }

    #[test]
    fn module_where_builtin_is_needed_fails() {
        let r = check(&cfg("CONFIG_PACKET=m\n"));
        let f = r.findings.iter().find(|f| f.option == "PACKET").unwrap();
        assert!(!f.ok);
        assert_eq!(f.state, State::Module);
    }

    #[test]
    fn compressed_modules_without_decompress_are_fatal() {
        let r = check(&cfg("CONFIG_MODULE_COMPRESS_ZSTD=y\n"));
        assert!(
            r.notes
                .iter()
                .any(|n| n.fatal && n.option == "MODULE_COMPRESS_ZSTD")
        );
        let r = check(&cfg(
            "CONFIG_MODULE_COMPRESS_ZSTD=y\nCONFIG_MODULE_DECOMPRESS=y\n",
        ));
        assert!(r.notes.iter().all(|n| !n.fatal));
    }

    #[test]
    fn debian_kernel_boots() {
        let c = cfg(include_str!("../tests/data/config-debian-6.1.0-56-amd64"));
        let r = check(&c);
        assert!(!r.boot_cannot_work(), "{:?}", r.missing_required());
        // The lab notes' facts about this kernel.
        for (o, s) in [
            ("NFS_FS", State::Module),
            ("PACKET", State::Builtin),
            ("IP_PNP", State::Missing),
            ("DEVTMPFS_MOUNT", State::Missing),
        ] {
            assert_eq!(c.state(o), s, "{o}");
        }
        assert!(
            r.findings.iter().all(|f| f.ok),
            "{:?}",
            r.findings.iter().filter(|f| !f.ok).collect::<Vec<_>>()
        );
    }

    #[test]
    fn debian_kernel_without_overlay_cannot_boot() {
        let text = include_str!("../tests/data/config-debian-6.1.0-56-amd64")
            .replace("CONFIG_OVERLAY_FS=m", "# CONFIG_OVERLAY_FS is not set");
        let r = check(&cfg(&text));
        assert_eq!(r.missing_required(), ["OVERLAY_FS"]);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC*") {
            let _ = KernelConfig::parse(&text).map(|c| check(&c));
        }
    }
}
