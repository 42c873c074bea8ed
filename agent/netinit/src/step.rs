//! Boot steps and the error that names one.
//!
//! Step names are a contract: the QEMU lab builds its per-phase timing
//! table from the `<step>: done in N ms` lines, and users grep for
//! `FAILED at <step>`. Keep them stable.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    /// Early mounts and the console.
    Init,
    Cmdline,
    Modules,
    Link,
    Dhcp,
    Static,
    Nfs,
    /// The NBD connection, its handshake and the device's mount.
    Nbd,
    Image,
    Squashfs,
    Toram,
    Overlay,
    Handoff,
    SwitchRoot,
    /// The image over HTTP.
    Fetch,
}

impl Step {
    pub const ALL: [Step; 15] = [
        Step::Init,
        Step::Cmdline,
        Step::Modules,
        Step::Link,
        Step::Dhcp,
        Step::Static,
        Step::Nfs,
        Step::Nbd,
        Step::Image,
        Step::Squashfs,
        Step::Toram,
        Step::Overlay,
        Step::Handoff,
        Step::SwitchRoot,
        Step::Fetch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Init => "init",
            Step::Cmdline => "cmdline",
            Step::Modules => "modules",
            Step::Link => "link",
            Step::Dhcp => "dhcp",
            Step::Static => "static",
            Step::Nfs => "nfs",
            Step::Nbd => "nbd",
            Step::Image => "image",
            Step::Squashfs => "squashfs",
            Step::Toram => "toram",
            Step::Overlay => "overlay",
            Step::Handoff => "handoff",
            Step::SwitchRoot => "switch_root",
            Step::Fetch => "fetch",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The step PID 1 is in, for the panic hook's `FAILED at` line.
static CURRENT: AtomicU8 = AtomicU8::new(Step::Init as u8);

pub fn set_current(step: Step) {
    CURRENT.store(step as u8, Ordering::Relaxed);
}

pub fn current() -> Step {
    let raw = CURRENT.load(Ordering::Relaxed);
    Step::ALL
        .iter()
        .copied()
        .find(|s| *s as u8 == raw)
        .unwrap_or(Step::Init)
}

/// A failed step: `FAILED at <step>: <reason> (hint: …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub step: Step,
    /// Names the object and the errno, e.g. `mount 10.77.0.1:/x on /root: EACCES`.
    pub reason: String,
    pub hint: Option<String>,
}

impl StepError {
    pub fn new(step: Step, reason: impl fmt::Display) -> Self {
        StepError {
            step,
            reason: reason.to_string(),
            hint: None,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Just the reason and hint; callers add `FAILED at <step>: `.
impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for StepError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_round_trips_every_step() {
        for s in Step::ALL {
            set_current(s);
            assert_eq!(current(), s);
        }
    }

    #[test]
    fn display_with_hint() {
        let e = StepError::new(Step::Nfs, "mount x: EACCES").hint("export path not allowed");
        assert_eq!(
            e.to_string(),
            "mount x: EACCES (hint: export path not allowed)"
        );
    }
}
