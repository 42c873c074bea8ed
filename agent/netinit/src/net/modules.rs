//! Coldplug: load the drivers for the devices present, plus the modules
//! the cmdline asks for, with dependencies and softdeps, in order.
//!
//! There is no udev. We read every `/sys/bus/*/devices/*/modalias`, match
//! it against modules.alias, load, and rescan: loading a bus driver
//! (virtio_pci) makes new devices appear (the virtio NIC), so we go round
//! until a scan finds nothing new.
//!
//! Modules load in waves (modules.dep order): the modules of one wave are
//! independent of each other and load concurrently when there is more
//! than one CPU. The root phase's modules (NFS, loop, squashfs, overlay)
//! are started in the background by [`Preload`] so they load while the
//! link negotiates and DHCP waits; the root steps then only collect them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use netinit_core::kmod::{ModuleIndex, ResolveError};
use netinit_core::plan::BootPlan;
use netinit_sys::kmod::{Finit, ModuleLoader};

use crate::step::{Step, StepError};
use crate::{info, warn};

/// Enough for bus → device → function chains; real boots need 2 or 3.
const MAX_ROUNDS: usize = 8;

/// What coldplug did. The log has said it line by line; the tests read
/// it whole, so only they keep it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ModulesReport {
    pub loaded: Vec<String>,
    /// `(module, reason)`.
    pub failed: Vec<(String, String)>,
    /// `(interface, driver)` for every NIC with a driver.
    pub nic_drivers: Vec<(String, String)>,
    pub rounds: usize,
}

/// Loads modules on the running system.
pub fn load(plan: &BootPlan) -> Result<(), StepError> {
    let kver = netinit_sys::host::kernel_release();
    coldplug(Path::new("/"), &kver, &Finit, plan, jobs(plan)).map(drop)
}

/// How the phases get kernel modules: the one seam they see. The real
/// [`Kernel`] resolves names through the module index and loads through
/// [`ModuleLoader`] (finit_module); tests record what was asked.
pub trait Modules {
    /// Loads drivers for devices that appeared since the last look.
    fn rescan(&mut self);
    /// Loads `names` and what they need before `step` uses them.
    fn ensure(&mut self, step: Step, names: &[&str]);
}

/// The running system's modules; the root's come from `preload` where it
/// loaded them, and a step loads what is missing itself.
pub struct Kernel<'a> {
    pub plan: &'a BootPlan,
    pub preload: Option<&'a mut super::Preload>,
}

impl Modules for Kernel<'_> {
    fn rescan(&mut self) {
        if let Err(e) = load(self.plan) {
            warn!(Step::Modules, "{e}");
        }
    }

    fn ensure(&mut self, step: Step, names: &[&str]) {
        let rest = match self.preload.as_deref_mut() {
            Some(p) => p.settle(step, names),
            None => names.iter().map(|n| (*n).to_owned()).collect(),
        };
        if !rest.is_empty() {
            let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
            ensure(step, &rest, jobs(self.plan));
        }
    }
}

/// How many modules may load at once: `netinit.module_jobs=`, at most one
/// per CPU the machine has.
pub fn jobs(plan: &BootPlan) -> usize {
    (plan.module_jobs as usize).clamp(1, netinit_sys::host::cpus())
}

/// Adds one coldplug round's outcomes to the report, with its log line.
fn report_round(report: &mut ModulesReport, round: usize, devices: usize, outcomes: Vec<Outcome>) {
    let mut loaded_now = Vec::new();
    for (name, outcome) in outcomes {
        match outcome {
            Ok(()) => loaded_now.push(name),
            Err(e) => {
                warn!(Step::Modules, "{e}");
                report.failed.push((name, e.errno_name()));
            }
        }
    }
    info!(
        Step::Modules,
        "round {round}: {devices} new devices, loaded {}{}",
        if loaded_now.is_empty() {
            "nothing".to_owned()
        } else {
            loaded_now.join(" ")
        },
        if report.failed.is_empty() {
            String::new()
        } else {
            format!(", {} failed so far", report.failed.len())
        }
    );
    report.loaded.extend(loaded_now);
}

/// One module's outcome.
pub(crate) type Outcome = (String, netinit_sys::Result<()>);

/// Loads `order` (a load order from the index) wave by wave; inside a wave
/// on up to `jobs` threads. Results come back in `order`'s order, so logs
/// stay stable whatever the threads did.
pub(crate) fn load_in_waves(
    index: &ModuleIndex,
    moddir: &Path,
    loader: &dyn ModuleLoader,
    order: &[String],
    params: &(dyn Fn(&str) -> String + Sync),
    jobs: usize,
) -> Vec<Outcome> {
    let load_one = |name: &String| -> Option<Outcome> {
        let module = index.modules.get(name)?;
        Some((
            name.clone(),
            loader.load(name, &moddir.join(&module.path), &params(name)),
        ))
    };
    let mut by_name: BTreeMap<String, netinit_sys::Result<()>> = BTreeMap::new();
    for wave in index.load_waves(order) {
        if jobs <= 1 || wave.len() <= 1 {
            by_name.extend(wave.iter().filter_map(load_one));
            continue;
        }
        let next = AtomicUsize::new(0);
        let done: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
        let work = || {
            while let Some(name) = wave.get(next.fetch_add(1, Ordering::Relaxed)) {
                if let Some(outcome) = load_one(name) {
                    if let Ok(mut d) = done.lock() {
                        d.push(outcome);
                    }
                }
            }
        };
        std::thread::scope(|s| {
            for _ in 1..jobs.min(wave.len()) {
                // No thread to spare: the calling thread does the rest.
                if std::thread::Builder::new().spawn_scoped(s, work).is_err() {
                    break;
                }
            }
            work();
        });
        by_name.extend(done.into_inner().unwrap_or_default());
    }
    order
        .iter()
        .filter_map(|n| by_name.remove_entry(n))
        .collect()
}

/// Coldplug against the tree at `root` (`/` in real life, a fake in tests).
pub fn coldplug(
    root: &Path,
    kver: &str,
    loader: &dyn ModuleLoader,
    plan: &BootPlan,
    jobs: usize,
) -> Result<ModulesReport, StepError> {
    let moddir = root.join("lib/modules").join(kver);
    let mut report = ModulesReport::default();
    if !moddir.is_dir() {
        let what = if plan.modules.is_empty() {
            "built-in drivers only"
        } else {
            "cannot load netinit.modules"
        };
        warn!(Step::Modules, "no {}: {what}", moddir.display());
        report.nic_drivers = nic_drivers(root);
        return Ok(report);
    }
    let index = read_index(&moddir)?;
    let mut done: BTreeSet<String> = loaded_modules(root);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut wanted: Vec<String> = plan.modules.clone();
    for round in 1..=MAX_ROUNDS {
        let fresh: Vec<String> = modaliases(root)
            .into_iter()
            .filter(|a| seen.insert(a.clone()))
            .collect();
        if fresh.is_empty() && wanted.is_empty() {
            break;
        }
        report.rounds = round;
        wanted.extend(fresh.iter().cloned());
        let (order, unknown) = index.load_order(&wanted);
        // Unmatched device modaliases are normal (bridges, USB hubs…);
        // only names the user asked for are worth a warning.
        for e in &unknown {
            let ResolveError::Unknown(name) = e;
            if plan.modules.contains(name) {
                warn!(Step::Modules, "{e}");
                report
                    .failed
                    .push((name.clone(), "unknown module".to_owned()));
            }
        }
        let todo: Vec<String> = order
            .into_iter()
            .filter(|n| done.insert(n.clone()))
            .collect();
        let params = |name: &str| module_params(plan, name);
        let outcomes = load_in_waves(&index, &moddir, loader, &todo, &params, jobs);
        report_round(&mut report, round, fresh.len(), outcomes);
        wanted.clear();
    }
    report.nic_drivers = nic_drivers(root);
    for (iface, driver) in &report.nic_drivers {
        info!(Step::Modules, "{iface}: driver {driver}");
    }
    Ok(report)
}

/// Loads `names` (with dependencies) if they are modules that aren't loaded
/// yet: the root phase needs nfs, squashfs, loop and overlay, and the
/// kernel cannot load them itself (there is no modprobe for
/// request_module). Built-ins and an absent module tree are fine; failures
/// are warnings, since the mount that needs the module reports the real error.
pub fn ensure(step: Step, names: &[&str], jobs: usize) {
    let kver = netinit_sys::host::kernel_release();
    ensure_in(Path::new("/"), &kver, &Finit, step, names, jobs);
}

pub fn ensure_in(
    root: &Path,
    kver: &str,
    loader: &dyn ModuleLoader,
    step: Step,
    names: &[&str],
    jobs: usize,
) -> Vec<String> {
    let moddir = root.join("lib/modules").join(kver);
    if !moddir.is_dir() {
        return Vec::new();
    }
    let index = match read_index(&moddir) {
        Ok(i) => i,
        Err(e) => {
            warn!(step, "{e}");
            return Vec::new();
        }
    };
    let loaded = loaded_modules(root);
    let wanted: Vec<String> = names
        .iter()
        .map(|n| netinit_core::kmod::normalize(n))
        .collect();
    let (order, unknown) = index.load_order(&wanted);
    for e in unknown {
        let ResolveError::Unknown(name) = &e;
        if !index.is_builtin(name) {
            warn!(step, "{e}");
        }
    }
    let todo: Vec<String> = order.into_iter().filter(|n| !loaded.contains(n)).collect();
    let mut done = Vec::new();
    for (name, outcome) in load_in_waves(&index, &moddir, loader, &todo, &|_| String::new(), jobs) {
        match outcome {
            Ok(()) => done.push(name),
            Err(e) => warn!(step, "{e}"),
        }
    }
    if !done.is_empty() {
        info!(step, "loaded {}", done.join(" "));
    }
    done
}

pub(crate) fn read_index(moddir: &Path) -> Result<ModuleIndex, StepError> {
    let read = |name: &str, required: bool| -> Result<String, StepError> {
        let path = moddir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(String::new()),
            Err(e) => Err(StepError::new(
                Step::Modules,
                format_args!("read {}: {e}", path.display()),
            )
            .hint("the initrd's module index is missing; rebuild it with netinit-mkinitrd")),
        }
    };
    ModuleIndex::read(read, |e| {
        StepError::new(Step::Modules, format_args!("{}: {e}", moddir.display()))
    })
}

/// Every device's modalias, sorted so logs and load order are stable.
fn modaliases(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for bus in read_dir_paths(&root.join("sys/bus")) {
        for dev in read_dir_paths(&bus.join("devices")) {
            if let Ok(alias) = std::fs::read_to_string(dev.join("modalias")) {
                let alias = alias.trim();
                if !alias.is_empty() {
                    out.insert(alias.to_owned());
                }
            }
        }
    }
    out
}

/// Names from /proc/modules (first word per line).
pub(crate) fn loaded_modules(root: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(root.join("proc/modules"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(netinit_core::kmod::normalize)
        .collect()
}

/// `(iface, driver)` from /sys/class/net/*/device/driver.
fn nic_drivers(root: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = read_dir_paths(&root.join("sys/class/net"))
        .into_iter()
        .filter_map(|iface| {
            let driver = std::fs::read_link(iface.join("device/driver")).ok()?;
            let name = iface.file_name()?.to_string_lossy().into_owned();
            Some((name, driver.file_name()?.to_string_lossy().into_owned()))
        })
        .collect();
    out.sort();
    out
}

pub(crate) fn module_params(plan: &BootPlan, module: &str) -> String {
    plan.module_params
        .iter()
        .filter(|p| p.module == module)
        .map(|p| p.param.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netinit_sys::SysError;
    use std::fs;

    /// Records loads; "loading" virtio_pci makes the virtio NIC appear.
    struct Recorder<'a> {
        root: &'a Path,
        calls: Mutex<Vec<(String, String)>>,
        fail: &'a [&'a str],
    }

    impl ModuleLoader for Recorder<'_> {
        fn load(&self, name: &str, path: &Path, params: &str) -> netinit_sys::Result<()> {
            assert!(path.is_file(), "{}", path.display());
            self.calls
                .lock()
                .unwrap()
                .push((name.to_owned(), params.to_owned()));
            if self.fail.contains(&name) {
                return Err(SysError {
                    call: "finit_module",
                    object: name.to_owned(),
                    errno: netinit_core::errno::ENODEV,
                });
            }
            if name == "virtio_pci" {
                let dev = self.root.join("sys/bus/virtio/devices/virtio0");
                fs::create_dir_all(&dev).unwrap();
                fs::write(dev.join("modalias"), "virtio:d00000001v00001AF4\n").unwrap();
            }
            Ok(())
        }
    }

    fn tree() -> tempfile::TempDir {
        let dep = "\
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/e1000.ko:
kernel/fs/squashfs/squashfs.ko:
";
        let t = crate::testing::module_tree(
            dep,
            "alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_pci\nalias virtio:d00000001v* virtio_net\nalias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n",
            "",
            "e1000 163840 0 - Live 0x0\n",
        );
        for (bus, dev, alias) in [
            (
                "pci",
                "0000:00:02.0",
                "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00",
            ),
            (
                "pci",
                "0000:00:01.0",
                "pci:v00008086d00007000sv0sd0bc06sc01i00",
            ),
            (
                "pci",
                "0000:00:03.0",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
            ),
        ] {
            let d = t.path().join("sys/bus").join(bus).join("devices").join(dev);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("modalias"), alias).unwrap();
        }
        let net = t.path().join("sys/class/net/eth0/device");
        fs::create_dir_all(&net).unwrap();
        std::os::unix::fs::symlink("../../../../bus/pci/drivers/e1000", net.join("driver"))
            .unwrap();
        t
    }

    fn plan(cmdline: &str) -> BootPlan {
        netinit_core::plan::from_cmdline(cmdline).unwrap()
    }

    #[test]
    fn rounds_until_no_new_device() {
        let t = tree();
        let rec = Recorder {
            root: t.path(),
            calls: Mutex::new(vec![]),
            fail: &[],
        };
        let report = coldplug(
            t.path(),
            "6.1.0-test",
            &rec,
            &plan("virtio_net.napi_tx=1 netinit.modules=squashfs"),
            1,
        )
        .unwrap();
        let calls = rec.calls.into_inner().unwrap();
        let names: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
        // e1000 is already loaded; virtio_net only appears after virtio_pci.
        assert_eq!(
            names,
            [
                "squashfs",
                "virtio_ring",
                "virtio",
                "virtio_pci",
                "virtio_net"
            ]
        );
        assert_eq!(calls[4].1, "napi_tx=1");
        assert_eq!(report.rounds, 2);
        assert_eq!(
            report.nic_drivers,
            [("eth0".to_string(), "e1000".to_string())]
        );
        assert!(report.failed.is_empty());
    }

    #[test]
    fn one_failure_does_not_stop_the_others() {
        let t = tree();
        let rec = Recorder {
            root: t.path(),
            calls: Mutex::new(vec![]),
            fail: &["squashfs"],
        };
        let report = coldplug(
            t.path(),
            "6.1.0-test",
            &rec,
            &plan("netinit.modules=squashfs:nosuch"),
            2,
        )
        .unwrap();
        assert!(report.loaded.contains(&"virtio_net".to_string()));
        assert!(
            report
                .failed
                .contains(&("squashfs".to_string(), "ENODEV".to_string()))
        );
        assert!(
            report
                .failed
                .contains(&("nosuch".to_string(), "unknown module".to_string()))
        );
    }

    #[test]
    fn ensure_loads_only_what_is_missing() {
        let t = tree();
        let rec = Recorder {
            root: t.path(),
            calls: Mutex::new(vec![]),
            fail: &[],
        };
        let done = ensure_in(
            t.path(),
            "6.1.0-test",
            &rec,
            Step::Nfs,
            &["virtio-net", "e1000", "squashfs", "loop"],
            1,
        );
        // e1000 is loaded, loop is unknown here (built-in elsewhere): neither is loaded.
        assert_eq!(done, ["virtio_ring", "virtio", "virtio_net", "squashfs"]);
        assert!(ensure_in(t.path(), "none", &rec, Step::Nfs, &["squashfs"], 1).is_empty());
    }

    #[test]
    fn missing_module_tree_is_not_fatal() {
        let t = tree();
        let rec = Recorder {
            root: t.path(),
            calls: Mutex::new(vec![]),
            fail: &[],
        };
        let report = coldplug(t.path(), "9.9.9", &rec, &plan(""), 1).unwrap();
        assert!(rec.calls.lock().unwrap().is_empty());
        assert_eq!(report.rounds, 0);
    }

    #[test]
    fn broken_index_is_fatal_with_file_and_line() {
        let t = tree();
        fs::write(
            t.path().join("lib/modules/6.1.0-test/modules.alias"),
            "alias onlyone\n",
        )
        .unwrap();
        let rec = Recorder {
            root: t.path(),
            calls: Mutex::new(vec![]),
            fail: &[],
        };
        let e = coldplug(t.path(), "6.1.0-test", &rec, &plan(""), 1).unwrap_err();
        assert_eq!(e.step, Step::Modules);
        assert!(
            e.reason
                .ends_with("modules.alias line 1: want 'alias PATTERN MODULE'"),
            "{}",
            e.reason
        );
    }
}
