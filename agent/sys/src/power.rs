//! Power off and reboot, for PID 1's failure path.

use rustix::system::{RebootCommand, reboot};

use crate::{Result, SysError};

/// Syncs and powers off. Only returns on failure.
pub fn power_off() -> Result<()> {
    rustix::fs::sync();
    reboot(RebootCommand::PowerOff).map_err(|e| SysError::new("reboot", "POWER_OFF", e))
}

/// Syncs and restarts. Only returns on failure.
pub fn restart() -> Result<()> {
    rustix::fs::sync();
    reboot(RebootCommand::Restart).map_err(|e| SysError::new("reboot", "RESTART", e))
}
