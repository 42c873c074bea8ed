//! The root phase's modules, loaded in the background while the link
//! negotiates and DHCP waits.
//!
//! The plan names the modules ([`root_modules`]); a thread loads them
//! (concurrently by waves when there are CPUs to spare) and sends one
//! summary back. Each root step then collects it with a bounded wait and
//! reports the failures that concern its own modules, under its own step
//! name. Nothing waits on the thread without a bound: if it is late, the
//! step loads what it needs itself (the kernel serialises two loads of one
//! module), and exec ends the thread with the rest of the initramfs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use netinit_core::kmod::{ResolveError, normalize};
use netinit_core::plan::{BootPlan, root_modules};
use netinit_sys::kmod::{Finit, ModuleLoader};

use super::modules::{load_in_waves, loaded_modules, module_params, read_index};
use crate::step::Step;
use crate::{info, warn};

/// Generous for a handful of modules even on one emulated CPU; the bound
/// is there so a stuck module init cannot stall the boot silently.
pub const WAIT: Duration = Duration::from_secs(20);

/// What the background load did.
#[derive(Debug, Default)]
struct Summary {
    /// Modules it loaded, in load order.
    loaded: Vec<String>,
    /// Failure lines (call, object, errno) per requested name, covering
    /// the name's dependencies too.
    failures: BTreeMap<String, Vec<String>>,
    /// Requested names it dealt with (loaded, built in, already loaded or
    /// failed); the rest are the steps' to load.
    covered: BTreeSet<String>,
    /// A problem with the module tree itself (unreadable index).
    index_error: Option<String>,
    took: Duration,
}

/// The handle a root step collects the background load through.
#[derive(Debug)]
pub struct Preload {
    rx: Option<mpsc::Receiver<Summary>>,
    summary: Option<Summary>,
    /// Failure lines already printed (a shared dependency fails once).
    reported: BTreeSet<String>,
    wait: Duration,
}

impl Preload {
    /// Nothing in the background: every step loads its own modules.
    pub fn none() -> Self {
        Preload {
            rx: None,
            summary: None,
            reported: BTreeSet::new(),
            wait: WAIT,
        }
    }

    /// Starts loading the plan's root modules on the running system.
    pub fn start(plan: &BootPlan, jobs: usize) -> Self {
        let kver = netinit_sys::host::kernel_release();
        Self::spawn(PathBuf::from("/"), kver, Box::new(Finit), plan, jobs, WAIT)
    }

    /// Starts the thread against the tree at `root` (a fake in tests).
    pub fn spawn(
        root: PathBuf,
        kver: String,
        loader: Box<dyn ModuleLoader + Send>,
        plan: &BootPlan,
        jobs: usize,
        wait: Duration,
    ) -> Self {
        let names: Vec<String> = root_modules(plan).into_iter().map(normalize).collect();
        if names.is_empty() {
            return Self::none();
        }
        let params: BTreeMap<String, String> = plan
            .module_params
            .iter()
            .map(|p| (p.module.clone(), module_params(plan, &p.module)))
            .collect();
        let (tx, rx) = mpsc::channel();
        let work = move || {
            // On one CPU the link and DHCP must not wait behind us; failing
            // to lower the priority only costs that.
            let _ = netinit_sys::host::yield_to_others();
            let summary = load(&root, &kver, loader.as_ref(), &names, &params, jobs);
            // The receiver may have stopped waiting; nothing to tell then.
            let _ = tx.send(summary);
        };
        match std::thread::Builder::new()
            .name("preload".into())
            .spawn(work)
        {
            Ok(_) => Preload {
                rx: Some(rx),
                ..Self::none()
            }
            .with_wait(wait),
            // No thread: the steps load their modules themselves.
            Err(_) => Self::none(),
        }
    }

    fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Collects the background load for `step` (waiting at most the bound),
    /// reports the failures among `names` and their dependencies under
    /// `step`, and returns the names the step still has to load itself.
    pub fn settle(&mut self, step: Step, names: &[&str]) -> Vec<String> {
        if let Some(rx) = self.rx.take() {
            match rx.recv_timeout(self.wait) {
                Ok(summary) => {
                    info!(
                        step,
                        "loaded in the background while the network came up: {} ({} ms)",
                        if summary.loaded.is_empty() {
                            "nothing new".to_owned()
                        } else {
                            summary.loaded.join(" ")
                        },
                        summary.took.as_millis()
                    );
                    if let Some(e) = &summary.index_error {
                        warn!(step, "{e}");
                    }
                    self.summary = Some(summary);
                }
                Err(RecvTimeoutError::Timeout) => warn!(
                    step,
                    "background module load not done after {} ms; loading here",
                    self.wait.as_millis()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    warn!(step, "background module load ended without a result");
                }
            }
        }
        let Some(summary) = &self.summary else {
            return names.iter().map(|n| normalize(n)).collect();
        };
        let mut rest = Vec::new();
        for name in names.iter().map(|n| normalize(n)) {
            if !summary.covered.contains(&name) {
                rest.push(name);
                continue;
            }
            for line in summary.failures.get(&name).into_iter().flatten() {
                if self.reported.insert(line.clone()) {
                    warn!(step, "{line}");
                }
            }
        }
        rest
    }
}

/// The thread's work: the same index, order and loader as coldplug.
fn load(
    root: &Path,
    kver: &str,
    loader: &dyn ModuleLoader,
    names: &[String],
    params: &BTreeMap<String, String>,
    jobs: usize,
) -> Summary {
    let start = Instant::now();
    let moddir = root.join("lib/modules").join(kver);
    let mut summary = Summary::default();
    if !moddir.is_dir() {
        // Built-in kernel: nothing to load, nothing for the steps either.
        summary.covered = names.iter().cloned().collect();
        return summary;
    }
    let index = match read_index(&moddir) {
        Ok(i) => i,
        Err(e) => {
            summary.index_error = Some(e.reason);
            return summary;
        }
    };
    let already = loaded_modules(root);
    let (order, unknown) = index.load_order(names);
    for e in unknown {
        let ResolveError::Unknown(name) = &e;
        if !index.is_builtin(name) {
            summary
                .failures
                .entry(normalize(name))
                .or_default()
                .push(e.to_string());
        }
    }
    let todo: Vec<String> = order.into_iter().filter(|n| !already.contains(n)).collect();
    let param = |m: &str| params.get(m).cloned().unwrap_or_default();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    for (name, outcome) in load_in_waves(&index, &moddir, loader, &todo, &param, jobs) {
        match outcome {
            Ok(()) => summary.loaded.push(name),
            Err(e) => {
                failed.insert(name, e.to_string());
            }
        }
    }
    for name in names {
        let (closure, _) = index.load_order(std::slice::from_ref(name));
        for m in closure {
            if let Some(line) = failed.get(&m) {
                summary
                    .failures
                    .entry(name.clone())
                    .or_default()
                    .push(line.clone());
            }
        }
        summary.covered.insert(name.clone());
    }
    summary.took = start.elapsed();
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use netinit_sys::SysError;
    use std::sync::{Arc, Mutex};

    /// Records loads (thread-safe); fails the named modules; can stall.
    #[derive(Clone, Default)]
    struct Recorder {
        calls: Arc<Mutex<Vec<String>>>,
        fail: Vec<&'static str>,
        stall: bool,
    }

    impl ModuleLoader for Recorder {
        fn load(&self, name: &str, path: &Path, _: &str) -> netinit_sys::Result<()> {
            if self.stall {
                // A load that never returns; the thread ends with the test binary.
                loop {
                    std::thread::park();
                }
            }
            assert!(path.is_file(), "{}", path.display());
            self.calls.lock().unwrap().push(name.to_owned());
            if self.fail.contains(&name) {
                return Err(SysError {
                    call: "finit_module",
                    object: name.to_owned(),
                    errno: netinit_core::errno::ENOENT,
                });
            }
            Ok(())
        }
    }

    /// The NFS chain, squashfs and overlay as modules; loop built in.
    fn tree() -> tempfile::TempDir {
        let dep = format!(
            "{}kernel/fs/squashfs/squashfs.ko:\nkernel/fs/overlayfs/overlay.ko:\n",
            netinit_core::fixtures::NFSV3_DEP
        );
        crate::testing::module_tree(
            &dep,
            "",
            "kernel/drivers/block/loop.ko\n",
            "overlay 1 0 - Live 0x0\n",
        )
    }

    fn live_plan() -> BootPlan {
        netinit_core::plan::from_cmdline("boot=live netboot=nfs nfsroot=10.0.0.1:/x ip=dhcp")
            .unwrap()
    }

    fn spawn(t: &tempfile::TempDir, rec: &Recorder, jobs: usize, wait: Duration) -> Preload {
        Preload::spawn(
            t.path().to_path_buf(),
            "6.1.0-test".into(),
            Box::new(rec.clone()),
            &live_plan(),
            jobs,
            wait,
        )
    }

    #[test]
    fn loads_the_plans_root_modules_and_steps_only_collect() {
        for jobs in [1, 2, 4] {
            let t = tree();
            let rec = Recorder::default();
            let mut p = spawn(&t, &rec, jobs, WAIT);
            assert!(p.settle(Step::Nfs, &["nfs", "nfsv3"]).is_empty());
            assert!(p.settle(Step::Squashfs, &["loop", "squashfs"]).is_empty());
            assert!(p.settle(Step::Overlay, &["overlay"]).is_empty());
            let calls = rec.calls.lock().unwrap().clone();
            // Every module once, after its dependencies; overlay was loaded.
            let at = |m: &str| calls.iter().position(|c| c == m).unwrap();
            assert_eq!(calls.len(), 9, "{calls:?}");
            assert!(at("netfs") < at("fscache") && at("fscache") < at("nfs"));
            assert!(at("grace") < at("lockd") && at("lockd") < at("nfs"));
            assert!(at("nfs") < at("nfsv3") && at("nfs_acl") < at("nfsv3"));
            assert!(!calls.contains(&"overlay".to_owned()));
        }
    }

    #[test]
    fn a_failure_is_for_the_step_that_needs_the_module() {
        let t = tree();
        let rec = Recorder {
            fail: vec!["sunrpc", "squashfs"],
            ..Recorder::default()
        };
        let mut p = spawn(&t, &rec, 2, WAIT);
        let s = {
            p.settle(Step::Nfs, &[]);
            p.summary.as_ref().unwrap()
        };
        assert_eq!(
            s.failures["nfsv3"],
            ["finit_module sunrpc: ENOENT".to_owned()]
        );
        assert_eq!(s.failures["squashfs"], ["finit_module squashfs: ENOENT"]);
        assert!(!s.failures.contains_key("overlay"));
        // Failed modules are not the steps' to retry: the mount says why.
        assert!(p.settle(Step::Squashfs, &["loop", "squashfs"]).is_empty());
        // Modules the plan did not predict (a v4 root-path from DHCP) are.
        assert_eq!(p.settle(Step::Nfs, &["nfs", "nfsv4"]), ["nfsv4"]);
    }

    #[test]
    fn a_stalled_load_is_waited_for_only_so_long() {
        let t = tree();
        let rec = Recorder {
            stall: true,
            ..Recorder::default()
        };
        let mut p = spawn(&t, &rec, 1, Duration::from_millis(20));
        let start = Instant::now();
        assert_eq!(p.settle(Step::Nfs, &["nfs", "nfsv3"]), ["nfs", "nfsv3"]);
        assert!(start.elapsed() < Duration::from_millis(250));
        // Given up once: later steps don't wait again.
        assert_eq!(p.settle(Step::Overlay, &["overlay"]), ["overlay"]);
        assert!(start.elapsed() < Duration::from_millis(250));
    }

    #[test]
    fn no_module_tree_or_no_root_means_nothing_to_do() {
        let t = tempfile::tempdir().unwrap();
        let rec = Recorder::default();
        let mut p = spawn(&t, &rec, 2, WAIT);
        assert!(p.settle(Step::Nfs, &["nfs", "nfsv3"]).is_empty());
        assert!(rec.calls.lock().unwrap().is_empty());
        let plain = netinit_core::plan::from_cmdline("quiet").unwrap();
        let mut none = Preload::spawn(
            t.path().to_path_buf(),
            "x".into(),
            Box::new(rec.clone()),
            &plain,
            1,
            WAIT,
        );
        assert_eq!(none.settle(Step::Nfs, &["nfs"]), ["nfs"]);
    }
}
