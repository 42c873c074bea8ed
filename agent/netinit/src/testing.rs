//! Fixtures shared by the unit tests (compiled only for them).

use std::fs;

use netinit_sys::Clock;

/// A clock that never waits: a sleep advances it. A clone goes on from
/// the same time on its own (one per thread).
#[derive(Debug, Default, Clone)]
pub struct FakeClock {
    pub now_ms: u64,
    /// Every sleep, in milliseconds.
    pub sleeps: Vec<u64>,
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn sleep_ms(&mut self, ms: u64) {
        self.sleeps.push(ms);
        self.now_ms += ms;
    }
}

/// A root with a module tree for kernel `6.1.0-test`: `dep` as its
/// modules.dep (an ELF stub at each module's path), `alias` and `builtin`
/// as modules.alias and modules.builtin, and `loaded` as /proc/modules.
pub fn module_tree(dep: &str, alias: &str, builtin: &str, loaded: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let m = t.path().join("lib/modules/6.1.0-test");
    fs::create_dir_all(&m).unwrap();
    fs::write(m.join("modules.dep"), dep).unwrap();
    for line in dep.lines() {
        let path = m.join(line.split(':').next().unwrap());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"\x7fELF").unwrap();
    }
    fs::write(m.join("modules.alias"), alias).unwrap();
    fs::write(m.join("modules.builtin"), builtin).unwrap();
    fs::create_dir_all(t.path().join("proc")).unwrap();
    fs::write(t.path().join("proc/modules"), loaded).unwrap();
    t
}
