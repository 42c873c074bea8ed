//! netinit-mkinitrd: builds a netinit initrd from a module list, lists
//! initrds, and appends netinit to a distro initrd. Needs no distro tool,
//! only the kernel's module tree and a compressor.

mod build;
mod compress;
mod hook;
mod list;

use std::process::ExitCode;

use argh::FromArgs;

/// Build a netinit initrd: /init (the static netinit), /dev/console, and the
/// given kernel modules with their full dependency closure, their firmware, and
/// a module index for that subset.
///
/// Examples:
///   netinit-mkinitrd --moddir /tmp/kernel -o initrd.img
///   netinit-mkinitrd --modules nfsv3:e1000e:8139too:atl1c:alx,virtio_net -o initrd.img
///   netinit-mkinitrd --list initrd.img
///   netinit-mkinitrd --append-to /boot/initrd.img-6.1.0-56-amd64 -o initrd-netinit.img
///   netinit-mkinitrd --append-to live-initrd.img --network-only -o initrd-net.img
///   netinit-mkinitrd --shell /bin/busybox -o initrd.img   (rescue shell on failure)
///
/// Module groups (usable in --modules): @nfs (nfs nfsv3 nfsv4), @live (squashfs
/// overlay loop isofs), @nbd (nbd; add the root's filesystem, e.g. ext4), @nics (common Ethernet NICs and virtio), @virtio (virtio_pci
/// virtio_net), @ethernet (every driver under drivers/net/ethernet). The default
/// is @nfs,@live,@nbd,@nics.
#[derive(FromArgs, Debug)]
struct Args {
    /// modules to add, separated by colons or commas ("-" and "_" are the
    /// same); may be given more than once; groups start with @
    #[argh(option)]
    modules: Vec<String>,
    /// kernel version (default: the only one under MODDIR/lib/modules)
    #[argh(option)]
    kver: Option<String>,
    /// root holding lib/modules/KVER and lib/firmware: the host (/), an
    /// extracted kernel package, or an unpacked live root (default /)
    #[argh(option, default = "String::from(\"/\")")]
    moddir: String,
    /// the static netinit binary (default: the one built beside this tool)
    #[argh(option)]
    agent: Option<String>,
    /// a static shell to put in as /bin/sh, so that netinit offers a rescue
    /// shell when the boot fails (e.g. /bin/busybox from busybox-static)
    #[argh(option)]
    shell: Option<String>,
    /// gzip, zstd (default), xz (with CRC32 checks, as the kernel needs) or none
    #[argh(option, default = "String::from(\"zstd\")")]
    compress: String,
    /// output file
    #[argh(option, short = 'o')]
    output: Option<String>,
    /// keep this existing initrd and add netinit to it as a second segment
    #[argh(option)]
    append_to: Option<String>,
    /// with --append-to an initramfs-tools initrd: keep its /init and boot
    /// scripts (boot=live, boot=casper, boot=nfs), add netinit as the
    /// network-only hook (init-premount) and no modules
    #[argh(switch)]
    network_only: bool,
    /// list the contents and sizes of FILE (or of the initrd just built)
    #[argh(switch)]
    list: bool,
    /// the initrd to list, with --list
    #[argh(positional)]
    file: Option<String>,
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netinit-mkinitrd: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--append-to INITRD --network-only`: see hook.rs.
fn network_only(args: &Args, output: &str, method: compress::Method) -> Result<(), String> {
    let base_path = args
        .append_to
        .as_deref()
        .ok_or("--network-only goes with --append-to INITRD (the distribution's initrd)")?;
    if !args.modules.is_empty() || args.shell.is_some() {
        return Err(
            "--network-only adds no modules and no shell: the distribution's initrd has its own"
                .into(),
        );
    }
    let base = std::fs::read(base_path).map_err(|e| format!("read {base_path}: {e}"))?;
    let entries = list::read_all(base.clone())?;
    let agent = build::find_agent(args.agent.as_deref())?;
    let agent_bytes = build::read_static(
        &agent,
        "the distribution's initrd may lack its libraries (build with --target x86_64-unknown-linux-musl)",
    )?;
    let (archive, added) = hook::segment(&entries, agent_bytes)?;
    let mtime = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let compressed = compress::compress(method, &archive.write(mtime))?;
    let mut bytes = base;
    let base_len = bytes.len();
    // The kernel looks for the next segment at a 4-byte boundary.
    bytes.resize(base_len.next_multiple_of(4), 0);
    bytes.extend_from_slice(&compressed);
    let tmp = format!("{output}.tmp");
    std::fs::write(&tmp, &bytes).map_err(|e| format!("write {tmp}: {e}"))?;
    std::fs::rename(&tmp, output).map_err(|e| format!("rename {tmp} to {output}: {e}"))?;
    eprintln!(
        "netinit-mkinitrd: wrote {output}: {base_path} ({base_len} bytes) + {} {}: {}",
        method.name(),
        netinit_core::size::human_bytes(compressed.len() as u64),
        added.join(", ")
    );
    if args.list {
        list::print(output)?;
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), String> {
    if let (true, Some(file), None) = (args.list, &args.file, &args.output) {
        return list::print(file);
    }
    if args.file.is_some() {
        return Err("a positional FILE is only for --list (did you mean -o FILE?)".into());
    }
    let output = args
        .output
        .as_deref()
        .ok_or("no output: give -o FILE (or --list FILE to inspect an initrd)")?;
    let method = compress::Method::parse(&args.compress)?;
    if args.network_only {
        return network_only(args, output, method);
    }
    let spec = build::Spec {
        moddir: args.moddir.clone(),
        kver: args.kver.clone(),
        modules: if args.modules.is_empty() {
            vec!["@nfs,@live,@nbd,@nics".to_owned()]
        } else {
            args.modules.clone()
        },
        agent: args.agent.clone(),
        shell: args.shell.clone(),
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
    };
    let built = build::build(&spec)?;
    let compressed = compress::compress(method, &built.cpio)?;
    let mut bytes = match &args.append_to {
        Some(base) => std::fs::read(base).map_err(|e| format!("read {base}: {e}"))?,
        None => Vec::new(),
    };
    let base_len = bytes.len();
    bytes.extend_from_slice(&compressed);
    let tmp = format!("{output}.tmp");
    std::fs::write(&tmp, &bytes).map_err(|e| format!("write {tmp}: {e}"))?;
    std::fs::rename(&tmp, output).map_err(|e| format!("rename {tmp} to {output}: {e}"))?;
    eprintln!(
        "netinit-mkinitrd: wrote {output}: kernel {}, {} modules, {} firmware files{}; netinit {}{}; cpio {}, {} {}{}",
        built.kver,
        built.modules.len(),
        built.firmware,
        if built.firmware_missing > 0 {
            format!(
                " ({} declared but not in lib/firmware)",
                built.firmware_missing
            )
        } else {
            String::new()
        },
        netinit_core::size::human_bytes(built.agent_size),
        match built.shell_size {
            Some(n) => format!(", /bin/sh {}", netinit_core::size::human_bytes(n)),
            None => String::new(),
        },
        netinit_core::size::human_bytes(built.cpio.len() as u64),
        method.name(),
        netinit_core::size::human_bytes(compressed.len() as u64),
        if base_len > 0 {
            format!(
                ", appended to {} bytes of {}",
                base_len,
                args.append_to.as_deref().unwrap_or_default()
            )
        } else {
            String::new()
        },
    );
    for note in &built.notes {
        eprintln!("netinit-mkinitrd: note: {note}");
    }
    if args.list {
        list::print(output)?;
    }
    Ok(())
}
