//! The error every syscall wrapper returns.

use std::fmt;

/// A failed syscall: which call, on what, and the errno.
///
/// Displays as `mount 10.77.0.1:/export on /run/netinit/nfs: EACCES`;
/// the executor prefixes the step, and may append a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysError {
    /// The call, e.g. `mount`, `finit_module`, `LOOP_CONFIGURE`.
    pub call: &'static str,
    /// The object it acted on: a path, a module, an interface.
    pub object: String,
    /// The raw errno.
    pub errno: i32,
}

impl SysError {
    pub fn new(call: &'static str, object: impl Into<String>, errno: rustix::io::Errno) -> Self {
        SysError {
            call,
            object: object.into(),
            errno: errno.raw_os_error(),
        }
    }

    /// From a std I/O error (file reads through std::fs).
    pub fn from_io(call: &'static str, object: impl Into<String>, err: &std::io::Error) -> Self {
        // Errors without an OS code (e.g. invalid UTF-8) are reported as EIO.
        SysError {
            call,
            object: object.into(),
            errno: err.raw_os_error().unwrap_or(netinit_core::errno::EIO),
        }
    }

    /// The errno's symbolic name, e.g. `ENOENT`.
    pub fn errno_name(&self) -> String {
        netinit_core::errno::describe(self.errno)
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.call, self.object, self.errno_name())
    }
}

impl std::error::Error for SysError {}

pub type Result<T> = std::result::Result<T, SysError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_call_object_errno() {
        let e = SysError::new("mount", "10.77.0.1:/x on /root", rustix::io::Errno::ACCESS);
        assert_eq!(e.to_string(), "mount 10.77.0.1:/x on /root: EACCES");
    }
}
