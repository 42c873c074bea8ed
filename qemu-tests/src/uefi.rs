//! UEFI netboot in the lab: OVMF (Debian's `ovmf`) under TCG, GRUB's EFI
//! netboot image (grub-mknetdir, from grub-efi-amd64-bin) on TFTP and
//! HTTP, and the boot rules and menus (GRUB, pxelinux) taken verbatim from
//! docs/server-setup.md, so the documented recipes are what boots.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{run, workspace};

pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
const GRUB_EFI: &str = "/usr/lib/grub/x86_64-efi";
/// As in docs/server-setup.md: GRUB's own DHCP, then its files over HTTP.
const HTTP_EARLY_CFG: &str = "net_bootp\nset root=(http,10.77.0.1)\nset prefix=($root)/grub\n";
/// How GRUB shows that root: without the parentheses.
const HTTP_ROOT: &str = "http,10.77.0.1";

/// The fenced blocks of `lang` in docs/server-setup.md.
pub fn doc_blocks(lang: &str) -> Result<Vec<String>, String> {
    let path = workspace().join("docs/server-setup.md");
    let doc = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let open = format!("```{lang}");
    let mut blocks = Vec::new();
    // Like docs_pages.rs's extractor (a test of another crate the lab cannot
    // link), but for any fence tag.
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match (&mut cur, line.trim_end()) {
            (None, l) if l == open => cur = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    Ok(blocks)
}

/// The BIOS+UEFI recipe's rules (client-arch matching, iPXE, HTTP boot),
/// as a dnsmasq conf file the lab loads on top of its own base settings.
pub fn dnsmasq_rules(work: &Path) -> Result<PathBuf, String> {
    let block = doc_blocks("dnsmasq")?
        .into_iter()
        .find(|b| b.contains("client-arch"))
        .ok_or("docs/server-setup.md has no dnsmasq block with client-arch matching")?;
    let keys = [
        "dhcp-match=",
        "dhcp-userclass=",
        "dhcp-vendorclass=",
        "dhcp-option-force=",
        "dhcp-boot=",
    ];
    let rules: String = block
        .lines()
        .filter(|l| keys.iter().any(|k| l.starts_with(k)))
        .map(|l| format!("{l}\n"))
        .collect();
    if !rules.contains("option:client-arch,7") || !rules.contains("HTTPClient") {
        return Err("the dnsmasq recipe lost its UEFI PXE or HTTP boot rules".into());
    }
    let out = work.join("dnsmasq-recipe.conf");
    std::fs::write(&out, rules).map_err(|e| e.to_string())?;
    Ok(out)
}

/// One UEFI VM: which MAC, the lab's cmdline words for it, and which entry
/// of the documented GRUB menu it boots.
#[derive(Debug, Clone)]
pub struct Client {
    pub mac: String,
    pub words: String,
    pub entry: usize,
    pub http: bool,
}

/// GRUB's netboot directory in the TFTP root (also the HTTP root), the
/// kernel and initrd where the menu expects them, and grub.cfg: a serial
/// console, the documented menu with the lab's words added to each
/// `linux` line, and per-MAC defaults.
pub fn tftp_setup(
    tftp: &Path,
    bzimage: &Path,
    initrd: &Path,
    clients: &[Client],
) -> Result<(), String> {
    run(Command::new("grub-mknetdir")
        .arg(format!("--net-directory={}", tftp.display()))
        .args(["--subdir=grub", "-d", GRUB_EFI]))
    .map_err(|e| format!("grub-mknetdir (apt-get install grub-efi-amd64-bin): {e}"))?;
    // HTTP boot: Debian's GRUB 2.06 cannot tell where it was fetched from
    // ("variable `root' isn't set"), so the documented image names its
    // server in an embedded config.
    let early = tftp.join("grub/http-early.cfg");
    std::fs::write(&early, HTTP_EARLY_CFG).map_err(|e| e.to_string())?;
    run(Command::new("grub-mkimage")
        .args(["-O", "x86_64-efi", "-d", GRUB_EFI, "-p", "/grub", "-c"])
        .arg(&early)
        .arg("-o")
        .arg(tftp.join("grub/grubx64-http.efi"))
        .args(["efinet", "http", "net", "normal", "configfile"]))
    .map_err(|e| format!("grub-mkimage: {e}"))?;
    let menu = doc_blocks("grub")?
        .into_iter()
        .find(|b| b.matches("menuentry").count() >= 2)
        .ok_or("docs/server-setup.md has no GRUB menu with several entries")?;
    let mut cfg = String::from(
        "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n",
    );
    for line in menu.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("linux ") {
            let kernel = rest.split_whitespace().next().unwrap_or_default();
            copy_into(tftp, kernel, bzimage)?;
            cfg.push_str(&format!("{line} $lab\n"));
        } else {
            if let Some(rest) = t.strip_prefix("initrd ") {
                copy_into(tftp, rest.trim(), initrd)?;
            }
            cfg.push_str(line);
            cfg.push('\n');
        }
    }
    cfg.push_str("set timeout=1\n");
    for c in clients {
        // PXE: GRUB knows the MAC it booted from. HTTP boot: after GRUB's
        // own DHCP no MAC variable matched here, but the embedded config
        // set root, which tells the (single) HTTP client apart.
        let test = if c.http {
            format!("[ \"$root\" = \"{HTTP_ROOT}\" ]")
        } else {
            format!("[ \"$net_default_mac\" = \"{}\" ]", c.mac)
        };
        cfg.push_str(&format!(
            "if {test}; then set default={}; set lab=\"{}\"; fi\n",
            c.entry, c.words
        ));
    }
    cfg.push_str("echo \"lab: root=$root default=$default\"\n");
    std::fs::write(tftp.join("grub/grub.cfg"), cfg).map_err(|e| e.to_string())
}

fn copy_into(root: &Path, rel: &str, src: &Path) -> Result<(), String> {
    let dst = root.join(rel.trim_start_matches('/'));
    if dst.exists() {
        return Ok(());
    }
    if let Some(p) = dst.parent() {
        std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
    }
    std::fs::copy(src, &dst)
        .map(|_| ())
        .map_err(|e| format!("{} -> {}: {e}", src.display(), dst.display()))
}

/// A fresh copy of OVMF's variable store for one VM.
pub fn vars_for(work: &Path, name: &str) -> Result<PathBuf, String> {
    let out = work.join(format!("ovmf-vars-{name}.fd"));
    std::fs::copy(OVMF_VARS, &out)
        .map_err(|e| format!("{OVMF_VARS}: {e} (apt-get install ovmf)"))?;
    Ok(out)
}

/// The nginx recipe of docs/server-setup.md, pointed at the lab's TFTP
/// root, pid and logs; the lab runs it in its namespace.
pub fn nginx_conf(work: &Path) -> Result<PathBuf, String> {
    let block = doc_blocks("nginx")?
        .into_iter()
        .next()
        .ok_or("docs/server-setup.md has no nginx block")?;
    let tftp = work.join("tftp");
    let logs = work.join("logs");
    let conf = block
        .replace("/srv/tftp", &tftp.display().to_string())
        // The lab also serves on its IPv6 address, for the IPv6 fetch.
        .replace(
            "listen 10.77.0.1:80;",
            "listen 10.77.0.1:80;\n        listen [fd77::1]:80;",
        )
        .replace(
            "/run/nginx-netboot.pid",
            &work.join("nginx.pid").display().to_string(),
        )
        .replace("/var/log/nginx/", &format!("{}/nginx-", logs.display()));
    let out = work.join("nginx.conf");
    std::fs::write(&out, conf).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The documented pxelinux menu as one client's config: its own default
/// label, a short timeout, the lab's words on each APPEND line, and the
/// menu's modules, kernels and initrds in the TFTP root.
pub fn pxelinux_menu(
    tftp: &Path,
    mac: &str,
    label: &str,
    words: &str,
    bzimage: &Path,
    initrd: &Path,
) -> Result<(), String> {
    let menu = doc_blocks("pxelinux")?
        .into_iter()
        .find(|b| b.contains("UI menu.c32"))
        .ok_or("docs/server-setup.md has no pxelinux menu (UI menu.c32)")?;
    let mut cfg = String::new();
    for line in menu.lines() {
        let t = line.trim_start();
        if t.starts_with("DEFAULT ") {
            cfg.push_str(&format!("DEFAULT {label}\n"));
        } else if t.starts_with("TIMEOUT ") {
            cfg.push_str("TIMEOUT 10\n");
        } else if t.starts_with("APPEND ") {
            cfg.push_str(&format!("{line} {words}\n"));
        } else {
            if let Some(k) = t.strip_prefix("KERNEL ") {
                copy_into(tftp, k.trim(), bzimage)?;
            }
            if let Some(i) = t.strip_prefix("INITRD ") {
                copy_into(tftp, i.trim(), initrd)?;
            }
            cfg.push_str(line);
            cfg.push('\n');
        }
    }
    if !cfg.contains(&format!("LABEL {label}\n")) {
        return Err(format!("the documented pxelinux menu has no LABEL {label}"));
    }
    for m in ["menu.c32", "libutil.c32"] {
        copy_into(
            tftp,
            m,
            &Path::new("/usr/lib/syslinux/modules/bios").join(m),
        )?;
    }
    let name = format!("01-{}", mac.replace(':', "-"));
    std::fs::write(tftp.join("pxelinux.cfg").join(name), cfg).map_err(|e| e.to_string())
}
