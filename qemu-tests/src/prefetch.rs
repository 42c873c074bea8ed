//! Builds every cached Debian root (and the bench's peer chroots) ahead
//! of the lab, several at a time. Each debootstrap mostly waits on the
//! mirror and on dpkg's fsyncs, so on a fresh machine running them side
//! by side instead of one by one, as each scenario first needs its root,
//! saves most of their time.

use std::sync::Mutex;
use std::time::Instant;

use crate::{bench, debian, debpkg, hook_scenarios, live_scenarios};

/// Build (or find cached) every Debian root the lab, the tests and the bench use.
#[derive(argh::FromArgs, Debug)]
#[argh(subcommand, name = "roots")]
pub struct RootsArgs {
    /// builds at once (default 3)
    #[argh(option, default = "3")]
    jobs: usize,
}

type Job = (&'static str, Box<dyn FnOnce() -> Result<(), String> + Send>);

fn jobs() -> Vec<Job> {
    let root =
        |r: debian::Recipe| -> Job { (r.name, Box::new(move || debian::root(&r).map(drop))) };
    vec![
        // The bench's two peer chroots are built one after the other by
        // one script: the longest job goes first.
        (
            "peers (live-boot, dracut)",
            Box::new(|| bench::peers().map(drop)),
        ),
        root(live_scenarios::debian_live_recipe()),
        root(live_scenarios::casper_recipe()),
        root(debpkg::recipe()),
        root(debian::realsys_recipe()),
        root(hook_scenarios::liveboot_recipe()),
        root(hook_scenarios::mkinitcpio_recipe()),
    ]
}

/// Runs the jobs `jobs` at a time; a failure is reported and the others
/// go on (the scenarios that need a missing root fail with the reason).
pub fn prefetch(a: &RootsArgs) -> Result<bool, String> {
    let queue = Mutex::new(jobs());
    let failed = Mutex::new(Vec::new());
    let begun = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.jobs.max(1) {
            s.spawn(|| {
                loop {
                    let next = queue
                        .lock()
                        .ok()
                        .and_then(|mut q| (!q.is_empty()).then(|| q.remove(0)));
                    let Some((name, job)) = next else { break };
                    let t = Instant::now();
                    match job() {
                        Ok(()) => eprintln!(
                            "netinit-lab: root {name}: ready ({} s)",
                            t.elapsed().as_secs()
                        ),
                        Err(e) => {
                            eprintln!("netinit-lab: root {name}: {e}");
                            if let Ok(mut f) = failed.lock() {
                                f.push(name);
                            }
                        }
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap_or_default();
    eprintln!(
        "netinit-lab: roots: {} s, {}",
        begun.elapsed().as_secs(),
        if failed.is_empty() {
            "all ready".to_owned()
        } else {
            format!("not built: {}", failed.join(", "))
        }
    );
    Ok(failed.is_empty())
}
