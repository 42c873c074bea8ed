//! The subcommands' front-ends: dispatch, a small argv parser, help
//! text and exit codes. The phase modules they call know nothing of argv.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid
//! input (a malformed cmdline is invalid input).

mod check_kernel;
mod explain;
mod mount_root;
mod net;

use std::process::ExitCode;

use netinit_core::plan::{self, BootPlan};

const USAGE: &str = "\
netinit: network-boot /init (DHCP, NFS, live image, overlay, switch_root)

Usage: netinit <command> [options]

Commands:
  explain       print the boot plan for a cmdline
  net           bring the network up in this namespace and print the result
  mount-root    assemble the root into NEWROOT without switching (hook mode)
  check-kernel  check a kernel config for what netinit needs
  help          print this help

As PID 1 (/init) netinit boots the machine; see docs/cmdline.md.
Run 'netinit <command> --help' for a command's options.";

/// Options one subcommand accepts.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    /// `--flag` options without a value.
    pub flags: &'static [&'static str],
    /// `--opt VALUE` (or `--opt=VALUE`) options.
    pub valued: &'static [&'static str],
    /// Names of positional arguments, for messages; `max_positional` bounds them.
    pub min_positional: usize,
    pub max_positional: usize,
    pub help: &'static str,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub flags: Vec<&'static str>,
    pub values: Vec<(&'static str, String)>,
    pub positional: Vec<String>,
    pub help: bool,
}

impl Parsed {
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `args` (after the subcommand name) against `spec`.
pub fn parse(spec: &Spec, args: &[String]) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut iter = args.iter();
    let mut only_positional = false;
    while let Some(arg) = iter.next() {
        if only_positional || !arg.starts_with("--") || arg == "-" {
            if arg == "-h" && !only_positional {
                out.help = true;
                continue;
            }
            out.positional.push(arg.clone());
            continue;
        }
        if arg == "--" {
            only_positional = true;
            continue;
        }
        if arg == "--help" {
            out.help = true;
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let bare = &name[2..];
        if let Some(flag) = spec.flags.iter().find(|f| **f == bare) {
            if inline.is_some() {
                return Err(format!("{}: option '--{bare}' takes no value", spec.name));
            }
            out.flags.push(flag);
        } else if let Some(opt) = spec.valued.iter().find(|f| **f == bare) {
            let value = match inline {
                Some(v) => v,
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{}: option '--{bare}' needs a value", spec.name))?,
            };
            out.values.push((opt, value));
        } else {
            return Err(format!(
                "{}: unknown option '{name}' (see 'netinit {} --help')",
                spec.name, spec.name
            ));
        }
    }
    if !out.help && out.positional.len() < spec.min_positional {
        return Err(format!(
            "{}: missing argument (see 'netinit {} --help')",
            spec.name, spec.name
        ));
    }
    if out.positional.len() > spec.max_positional {
        return Err(format!(
            "{}: unexpected argument '{}'",
            spec.name, out.positional[spec.max_positional]
        ));
    }
    Ok(out)
}

/// Prints a usage error and returns exit status 2.
pub fn usage_error(msg: &str) -> ExitCode {
    eprintln!("netinit: {msg}");
    ExitCode::from(2)
}

/// Runs a subcommand's body after parsing and `--help` handling.
pub fn run(spec: &Spec, args: &[String], body: impl FnOnce(&Parsed) -> ExitCode) -> ExitCode {
    match parse(spec, args) {
        Err(msg) => usage_error(&msg),
        Ok(p) if p.help => {
            println!("{}", spec.help);
            ExitCode::SUCCESS
        }
        Ok(p) => body(&p),
    }
}

/// The cmdline to work on: `--cmdline STRING`, else /proc/cmdline.
pub fn cmdline_source(parsed: &Parsed) -> Result<String, String> {
    match parsed.value("cmdline") {
        Some(s) => Ok(s.to_owned()),
        None => crate::boot::read_cmdline(std::path::Path::new("/proc/cmdline"))
            .map(|(text, _)| text)
            .map_err(|e| format!("read /proc/cmdline: {e} (hint: pass --cmdline STRING)")),
    }
}

/// The plan for the cmdline the arguments name; on failure the usage
/// error (exit 2) is already printed, prefixed with the subcommand.
pub fn plan_or_usage(parsed: &Parsed, command: &str) -> Result<BootPlan, ExitCode> {
    let text = cmdline_source(parsed).map_err(|msg| usage_error(&format!("{command}: {msg}")))?;
    plan::from_cmdline(&text).map_err(|e| usage_error(&e.to_string()))
}

pub fn dispatch(args: &[String]) -> ExitCode {
    let rest = args.get(2..).unwrap_or(&[]);
    match args.get(1).map(String::as_str) {
        Some("explain") => explain::main(rest),
        Some("net") => net::main(rest),
        Some("mount-root") => mount_root::main(rest),
        Some("check-kernel") => check_kernel::main(rest),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("--version" | "version") => {
            println!("netinit {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown command '{other}' (see 'netinit help')")),
        None => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        name: "t",
        flags: &["json"],
        valued: &["cmdline"],
        min_positional: 0,
        max_positional: 1,
        help: "",
    };

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn parses_flags_values_positionals() {
        let p = parse(&SPEC, &s(&["--json", "--cmdline", "ip=dhcp", "/root"])).unwrap();
        assert!(p.flag("json"));
        assert_eq!(p.value("cmdline"), Some("ip=dhcp"));
        assert_eq!(p.positional, s(&["/root"]));
        let p = parse(&SPEC, &s(&["--cmdline=a b"])).unwrap();
        assert_eq!(p.value("cmdline"), Some("a b"));
    }

    #[test]
    fn rejects_bad_usage() {
        for (args, want) in [
            (vec!["--nope"], "unknown option '--nope'"),
            (vec!["--cmdline"], "needs a value"),
            (vec!["--json=1"], "takes no value"),
            (vec!["a", "b"], "unexpected argument 'b'"),
        ] {
            let err = parse(&SPEC, &s(&args)).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn help_wins_over_missing_arguments() {
        let spec = Spec {
            min_positional: 1,
            ..SPEC
        };
        assert!(parse(&spec, &s(&["--help"])).unwrap().help);
        assert!(parse(&spec, &s(&[])).is_err());
    }
}
