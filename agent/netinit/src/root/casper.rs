//! casper's live session when netinit is /init: the files casper's
//! casper-bottom scripts would have made, written into the new root
//! (docs/decisions/0017). Only for a casper image, one that carries
//! /etc/casper.conf. Each part that fails is a warning: the system still
//! boots, with a login prompt instead of a session.

use std::path::Path;

use netinit_core::casper::{self, Accounts, Session};
use netinit_core::plan::{BootPlan, LiveLayout};
use netinit_sys::host::Hostname;
use netinit_sys::mount::{Files, under};

use super::assemble::NFS_DIR;
use crate::step::Step;
use crate::{info, warn};

/// Sets the session up in `root`; returns what it did, for the log.
pub fn setup<S: Files + Hostname>(
    sys: &mut S,
    plan: &BootPlan,
    root: &Path,
    days: u64,
) -> Vec<String> {
    let mut did = Vec::new();
    if plan.live.layout != LiveLayout::Casper {
        return did;
    }
    let Some(conf) = sys.read_in(root, "etc/casper.conf") else {
        info!(
            Step::Handoff,
            "the image has no /etc/casper.conf: no casper live session set up"
        );
        return did;
    };
    let info = sys.read_in(Path::new(NFS_DIR), ".disk/info");
    let s = match casper::resolve(Some(&conf), info.as_deref(), &plan.casper) {
        Ok(s) => s,
        Err(e) => {
            warn!(Step::Handoff, "casper session: {e}; no live user set up");
            return did;
        }
    };
    let mut put = |sys: &mut S, rel: &str, text: &str, did: &mut Vec<String>| -> bool {
        match sys.write_in(root, rel, text) {
            Ok(()) => {
                did.push(format!("/{rel}"));
                true
            }
            Err(e) => {
                warn!(Step::Handoff, "casper session: {e}");
                false
            }
        }
    };
    add_user(sys, root, &s, days, &mut put, &mut did);
    if sys.exists(&under(root, "etc/sudoers.d")) {
        let rel = "etc/sudoers.d/casper";
        if put(sys, rel, &casper::sudoers(&s.username), &mut did) {
            owner(sys, root, rel, 0, 0, 0o440);
        }
    }
    if s.autologin {
        autologin(sys, root, &s, &mut put, &mut did);
    } else {
        info!(Step::Handoff, "noautologin: no display-manager autologin");
    }
    let hosts = casper::hosts(sys.read_in(root, "etc/hosts").as_deref(), &s.host);
    put(sys, "etc/hostname", &format!("{}\n", s.host), &mut did);
    put(sys, "etc/hosts", &hosts, &mut did);
    if let Err(e) = sys.set_hostname(&s.host) {
        warn!(Step::Handoff, "casper session: {e}");
    }
    info!(
        Step::Handoff,
        "casper live session: user {} ({}), host {}", s.username, s.fullname, s.host
    );
    did
}

type Put<'a, S> = dyn FnMut(&mut S, &str, &str, &mut Vec<String>) -> bool + 'a;

fn owner<S: Files>(sys: &mut S, root: &Path, rel: &str, uid: u32, gid: u32, mode: u32) {
    if let Err(e) = sys.chown_in(root, rel, uid, gid, mode) {
        warn!(Step::Handoff, "casper session: {e}");
    }
}

/// The account lines, then the home with /etc/skel's files in it.
fn add_user<S: Files>(
    sys: &mut S,
    root: &Path,
    s: &Session,
    days: u64,
    put: &mut Put<'_, S>,
    did: &mut Vec<String>,
) {
    let (Some(passwd), Some(group)) = (
        sys.read_in(root, "etc/passwd"),
        sys.read_in(root, "etc/group"),
    ) else {
        warn!(
            Step::Handoff,
            "casper session: the image has no /etc/passwd or /etc/group; no live user"
        );
        return;
    };
    let shadow = sys.read_in(root, "etc/shadow");
    let gshadow = sys.read_in(root, "etc/gshadow");
    let a = Accounts {
        passwd: &passwd,
        group: &group,
        shadow: shadow.as_deref(),
        gshadow: gshadow.as_deref(),
    };
    let shell = if sys.exists(&under(root, "usr/bin/bash")) || sys.exists(&under(root, "bin/bash"))
    {
        "/bin/bash"
    } else {
        "/bin/sh"
    };
    let Some(n) = casper::add_user(&a, s, shell, days) else {
        info!(
            Step::Handoff,
            "user {} already in the image: left as it is", s.username
        );
        return;
    };
    // group before passwd: a user whose group is missing is worse than
    // a group without its user.
    let files = [
        ("etc/group", Some(n.group.as_str())),
        ("etc/gshadow", n.gshadow.as_deref()),
        ("etc/shadow", n.shadow.as_deref()),
        ("etc/passwd", Some(n.passwd.as_str())),
    ];
    for (rel, text) in files {
        if let Some(text) = text {
            if !put(sys, rel, text, did) {
                return;
            }
        }
    }
    let Some(home) = make_home(sys, root, &n) else {
        return;
    };
    owner(sys, root, &home, n.uid, n.gid, 0o750);
    did.push(format!("/{home}"));
    info!(
        Step::Handoff,
        "user {} uid {} in {}",
        s.username,
        n.uid,
        if n.groups.is_empty() {
            "no extra groups".to_owned()
        } else {
            n.groups.join(",")
        }
    );
}

/// The new user's home with /etc/skel's files (dotfiles; sub-folders are
/// left out) owned by the user; the home's path in the root.
fn make_home<S: Files>(sys: &mut S, root: &Path, n: &casper::NewUser) -> Option<String> {
    let home = n.home.trim_start_matches('/').to_owned();
    if let Err(e) = sys.mkdir_in(root, &home) {
        warn!(Step::Handoff, "casper session: {e}");
        return None;
    }
    // /etc/skel's files (dotfiles); sub-folders are left out.
    let mut skel = sys.list_dir(&under(root, "etc/skel")).unwrap_or_default();
    skel.sort();
    for name in skel {
        let Some(text) = sys.read_in(root, &format!("etc/skel/{name}")) else {
            continue;
        };
        let rel = format!("{home}/{name}");
        if sys.write_in(root, &rel, &text).is_ok() {
            owner(sys, root, &rel, n.uid, n.gid, 0o644);
        }
    }
    Some(home)
}

/// Autologin for each display manager the image has.
fn autologin<S: Files>(
    sys: &mut S,
    root: &Path,
    s: &Session,
    put: &mut Put<'_, S>,
    did: &mut Vec<String>,
) {
    let u = s.username.as_str();
    if sys.exists(&under(root, "etc/lightdm")) {
        put(
            sys,
            "etc/lightdm/lightdm.conf.d/50-casper-autologin.conf",
            &casper::lightdm_autologin(u),
            did,
        );
    }
    if sys.exists(&under(root, "etc/gdm3")) {
        // Ubuntu's gdm3 reads custom.conf, Debian's daemon.conf.
        let rel = if !sys.exists(&under(root, "etc/gdm3/custom.conf"))
            && sys.exists(&under(root, "etc/gdm3/daemon.conf"))
        {
            "etc/gdm3/daemon.conf"
        } else {
            "etc/gdm3/custom.conf"
        };
        let text = casper::gdm_autologin(sys.read_in(root, rel).as_deref(), u);
        put(sys, rel, &text, did);
    }
    if sys.exists(&under(root, "usr/bin/sddm")) {
        let mut sessions = Vec::new();
        for dir in ["usr/share/wayland-sessions", "usr/share/xsessions"] {
            sessions.extend(sys.list_dir(&under(root, dir)).unwrap_or_default());
        }
        match casper::sddm_autologin(u, &sessions) {
            Some(text) => {
                put(sys, "etc/sddm.conf.d/50-casper-autologin.conf", &text, did);
            }
            None => warn!(
                Step::Handoff,
                "casper session: sddm has no session in /usr/share/xsessions or wayland-sessions; no autologin"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::assemble::fake::FakeSys;
    use super::*;

    const CONF: &str = "export USERNAME=\"ubuntu\"\nexport USERFULLNAME=\"Live session user\"\nexport HOST=\"ubuntu\"\n";

    fn sys() -> FakeSys {
        let mut s = FakeSys::default();
        for (p, t) in [
            ("/newroot/etc/casper.conf", CONF),
            ("/newroot/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"),
            ("/newroot/etc/group", "root:x:0:\nsudo:x:27:\n"),
            ("/newroot/etc/shadow", "root:*:1:0:99999:7:::\n"),
            ("/newroot/etc/skel/.bashrc", "# bashrc\n"),
            ("/newroot/usr/bin/bash", ""),
            ("/newroot/etc/hosts", "127.0.0.1\tlocalhost\n"),
        ] {
            s.files.insert(p.into(), t.into());
        }
        for d in ["/newroot/etc/sudoers.d", "/newroot/etc/lightdm"] {
            s.dirs.insert(d.into(), vec![]);
        }
        s.dirs
            .insert("/newroot/etc/skel".into(), vec![".bashrc".into()]);
        s
    }

    fn plan(cmdline: &str) -> BootPlan {
        netinit_core::plan::from_cmdline(cmdline).unwrap()
    }

    #[test]
    fn writes_the_session_into_a_casper_root() {
        let mut s = sys();
        let p = plan("boot=casper netboot=nfs nfsroot=10.0.0.1:/x ip=dhcp username=kim");
        let did = setup(&mut s, &p, Path::new("/newroot"), 20000);
        assert_eq!(
            did,
            [
                "/etc/group",
                "/etc/shadow",
                "/etc/passwd",
                "/home/kim",
                "/etc/sudoers.d/casper",
                "/etc/lightdm/lightdm.conf.d/50-casper-autologin.conf",
                "/etc/hostname",
                "/etc/hosts"
            ]
        );
        let f = |p: &str| s.files.get(p).cloned().unwrap_or_default();
        assert!(
            f("/newroot/etc/passwd")
                .ends_with("kim:x:999:999:Live session user,,,:/home/kim:/bin/bash\n")
        );
        assert_eq!(
            f("/newroot/etc/group"),
            "root:x:0:\nsudo:x:27:kim\nkim:x:999:\n"
        );
        assert_eq!(f("/newroot/home/kim/.bashrc"), "# bashrc\n");
        assert_eq!(f("/newroot/etc/hostname"), "ubuntu\n");
        assert!(s.calls.contains(&"sethostname ubuntu".to_owned()));
        assert!(
            s.calls
                .contains(&"chown /newroot/home/kim 999:999 750".to_owned())
        );
        assert!(
            s.calls
                .contains(&"chown /newroot/etc/sudoers.d/casper 0:0 440".to_owned())
        );
        assert!(
            s.calls
                .contains(&"chown /newroot/home/kim/.bashrc 999:999 644".to_owned())
        );
    }

    #[test]
    fn noautologin_and_other_layouts() {
        let mut s = sys();
        let p = plan("boot=casper netboot=nfs nfsroot=10.0.0.1:/x ip=dhcp noautologin");
        let did = setup(&mut s, &p, Path::new("/newroot"), 1);
        assert!(!did.iter().any(|d| d.contains("lightdm")));
        assert!(did.contains(&"/etc/sudoers.d/casper".to_owned()));
        // live-boot, or a casper image without casper.conf: nothing at all.
        let mut s = sys();
        let p = plan("boot=live netboot=nfs nfsroot=10.0.0.1:/x ip=dhcp");
        assert!(setup(&mut s, &p, Path::new("/newroot"), 1).is_empty());
        let mut s = sys();
        s.files.remove("/newroot/etc/casper.conf");
        let p = plan("boot=casper netboot=nfs nfsroot=10.0.0.1:/x ip=dhcp");
        assert!(setup(&mut s, &p, Path::new("/newroot"), 1).is_empty());
        assert!(s.calls.is_empty());
    }

    #[test]
    fn a_bad_name_sets_up_nothing() {
        let mut s = sys();
        let p = plan("boot=casper netboot=nfs nfsroot=10.0.0.1:/x ip=dhcp username=Bad:Name");
        assert!(setup(&mut s, &p, Path::new("/newroot"), 1).is_empty());
        assert!(s.calls.is_empty());
    }
}
