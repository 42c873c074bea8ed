//! casper's live session, for when netinit is /init and casper's
//! initramfs scripts never run: who the live user is (from the image's
//! `/etc/casper.conf`, the medium's `.disk/info` and `username=`,
//! `userfullname=`, `hostname=`), and the files that make the session:
//! account lines, sudo, display-manager autologin, hostname.
//!
//! Pure: file contents in, file contents out. The executor reads and
//! writes them inside the new root (see docs/decisions/0017).

use crate::cmdline::Param;

/// casper's own defaults, before /etc/casper.conf.
pub const DEFAULT_USERNAME: &str = "casper";
pub const DEFAULT_FULLNAME: &str = "Live session user";
pub const DEFAULT_HOST: &str = "live";

/// The live user's uid and primary gid, as casper asks user-setup for.
pub const LIVE_UID: u32 = 999;

/// Groups the live user joins when the root has them: user-setup's
/// defaults on Ubuntu and Debian, and `sudo` (user-setup adds it when
/// root has no password, as in casper's session).
pub const LIVE_GROUPS: &[&str] = &[
    "adm",
    "audio",
    "cdrom",
    "dip",
    "lpadmin",
    "netdev",
    "plugdev",
    "sambashare",
    "sudo",
    "video",
];

/// casper's cmdline words that shape the session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    pub username: Option<String>,
    pub userfullname: Option<String>,
    pub hostname: Option<String>,
    /// `noautologin`: no display-manager autologin.
    pub noautologin: bool,
}

impl Words {
    /// Picks casper's words out of the words nothing else interprets
    /// (later words win, as casper's loop over the cmdline does).
    pub fn from_params(params: &[Param]) -> Words {
        let mut w = Words::default();
        for p in params {
            let v = || p.value.clone().filter(|v| !v.is_empty());
            match p.key.as_str() {
                "username" => w.username = v().or(w.username.take()),
                "userfullname" => w.userfullname = v().or(w.userfullname.take()),
                "hostname" => w.hostname = v().or(w.hostname.take()),
                "noautologin" if p.value.is_none() => w.noautologin = true,
                _ => {}
            }
        }
        w
    }
}

/// Who and what the live session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub username: String,
    pub fullname: String,
    pub host: String,
    pub autologin: bool,
}

/// `KEY=value` assignments of a shell-style config such as casper.conf:
/// `export` and matching quotes are stripped; anything else (comments,
/// commands, expansions) is skipped, since netinit runs no shell.
pub fn conf_values(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let (key, value) = line.split_once('=')?;
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return None;
            }
            let value = value.trim_end();
            let unquoted = ['"', '\''].iter().find_map(|q| {
                value
                    .strip_prefix(*q)
                    .and_then(|v| v.strip_suffix(*q))
                    .filter(|v| !v.contains(*q))
            });
            match unquoted {
                Some(v) => Some((key, v)),
                // An unquoted value with shell syntax is not a plain value.
                None if value.bytes().any(|b| b" \t\"'$`;&|<>()\\".contains(&b)) => None,
                None => Some((key, value)),
            }
        })
        .collect()
}

/// A user name as adduser accepts it by default: a lower-case letter or
/// `_`, then lower-case letters, digits, `_`, `-`; at most 32 bytes.
pub fn valid_username(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 32
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A full name that fits the GECOS field: no `:`, `,`, `=` or control
/// characters, at most 128 bytes.
pub fn valid_fullname(name: &str) -> bool {
    name.len() <= 128 && !name.chars().any(|c| c.is_control() || ":,=".contains(c))
}

/// The session, in casper's order: its defaults, then /etc/casper.conf,
/// then the medium's `.disk/info` flavour (user and host named after it,
/// unless casper.conf sets `FLAVOUR`), then `hostname=`, `username=`,
/// `userfullname=`. A value that would break the files it goes into is an
/// error naming the word and where it came from.
pub fn resolve(conf: Option<&str>, disk_info: Option<&str>, w: &Words) -> Result<Session, String> {
    let mut user = (DEFAULT_USERNAME.to_owned(), "casper's default");
    let mut full = (DEFAULT_FULLNAME.to_owned(), "casper's default");
    let mut host = (DEFAULT_HOST.to_owned(), "casper's default");
    let mut flavour = String::new();
    for (k, v) in conf.map(conf_values).unwrap_or_default() {
        let from = "/etc/casper.conf";
        match k {
            "USERNAME" => user = (v.to_owned(), from),
            "USERFULLNAME" => full = (v.to_owned(), from),
            "HOST" => host = (v.to_owned(), from),
            "FLAVOUR" => flavour = v.to_owned(),
            _ => {}
        }
    }
    if flavour.is_empty() {
        let first = disk_info
            .and_then(|i| i.split_whitespace().next())
            .map(str::to_ascii_lowercase)
            .filter(|f| !f.is_empty());
        if let Some(f) = first {
            user = (f.clone(), "the medium's .disk/info");
            host = (f, "the medium's .disk/info");
        }
    }
    if let Some(v) = &w.hostname {
        host = (v.clone(), "hostname=");
    }
    if let Some(v) = &w.username {
        user = (v.clone(), "username=");
    }
    if let Some(v) = &w.userfullname {
        full = (v.clone(), "userfullname=");
    }
    if !valid_username(&user.0) {
        return Err(format!(
            "user name {:?} from {} is not a valid user name",
            user.0, user.1
        ));
    }
    if !valid_fullname(&full.0) {
        return Err(format!(
            "full name {:?} from {} cannot go in /etc/passwd",
            full.0, full.1
        ));
    }
    if !crate::net::valid_hostname(&host.0) {
        return Err(format!(
            "host name {:?} from {} is not a valid host name",
            host.0, host.1
        ));
    }
    Ok(Session {
        username: user.0,
        fullname: full.0,
        host: host.0,
        autologin: !w.noautologin,
    })
}

/// The account files as read from the root (`None`: the file is absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct Accounts<'a> {
    pub passwd: &'a str,
    pub group: &'a str,
    pub shadow: Option<&'a str>,
    pub gshadow: Option<&'a str>,
}

/// The account files with the live user added, and where its home is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub passwd: String,
    pub group: String,
    pub shadow: Option<String>,
    pub gshadow: Option<String>,
    /// The supplementary groups it joined.
    pub groups: Vec<String>,
}

fn ids(file: &str) -> impl Iterator<Item = u32> + '_ {
    file.lines()
        .filter_map(|l| l.split(':').nth(2)?.parse().ok())
}

fn names(file: &str) -> impl Iterator<Item = &str> + '_ {
    file.lines().filter_map(|l| l.split(':').next())
}

/// casper's uid when free, else the first free id from 1000 (the range
/// adduser gives normal users).
fn free_id(file: &str, want: u32) -> u32 {
    let taken: Vec<u32> = ids(file).collect();
    if !taken.contains(&want) {
        return want;
    }
    (1000..).find(|i| !taken.contains(i)).unwrap_or(want)
}

fn with_line(file: &str, line: &str) -> String {
    let mut out = file.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out
}

/// Adds `user` to the member list (field `field`, 0-based) of the groups
/// in `join`; returns the file and the groups it joined.
fn join_groups(file: &str, field: usize, join: &[&str], user: &str) -> (String, Vec<String>) {
    let mut joined = Vec::new();
    let mut out = String::with_capacity(file.len() + 64);
    for line in file.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let fields: Vec<&str> = body.split(':').collect();
        let name = fields.first().copied().unwrap_or("");
        if fields.len() == field + 1 && join.contains(&name) {
            let members: Vec<&str> = fields[field].split(',').filter(|m| !m.is_empty()).collect();
            joined.push(name.to_owned());
            if !members.contains(&user) {
                let mut list = members.join(",");
                if !list.is_empty() {
                    list.push(',');
                }
                list.push_str(user);
                out.push_str(&fields[..field].join(":"));
                out.push(':');
                out.push_str(&list);
                out.push_str(&line[body.len()..]);
                continue;
            }
        }
        out.push_str(line);
    }
    (out, joined)
}

/// The account files with the live user added as casper's user-setup
/// run makes it: uid and gid 999 where free, a group of its own, the full
/// name in GECOS, home in /home, `shell`, an empty password (casper's is
/// the hash of the empty string), membership of [`LIVE_GROUPS`] the root
/// has. `None` if the root already has the user (a persistent or
/// pre-made session): casper leaves it alone then, and so does netinit.
/// `days` is today in days since the epoch (shadow's last change).
pub fn add_user(a: &Accounts<'_>, s: &Session, shell: &str, days: u64) -> Option<NewUser> {
    let u = s.username.as_str();
    if names(a.passwd).any(|n| n == u) {
        return None;
    }
    let uid = free_id(a.passwd, LIVE_UID);
    let own_group = names(a.group).any(|n| n == u);
    let gid = if own_group {
        a.group
            .lines()
            .find(|l| l.split(':').next() == Some(u))
            .and_then(|l| l.split(':').nth(2)?.parse().ok())
            .unwrap_or(uid)
    } else {
        free_id(a.group, uid)
    };
    let home = format!("/home/{u}");
    let passwd = with_line(
        a.passwd,
        &format!("{u}:x:{uid}:{gid}:{},,,:{home}:{shell}", s.fullname),
    );
    let (mut group, groups) = join_groups(a.group, 3, LIVE_GROUPS, u);
    if !own_group {
        group = with_line(&group, &format!("{u}:x:{gid}:"));
    }
    let shadow = a
        .shadow
        .map(|f| with_line(f, &format!("{u}::{days}:0:99999:7:::")));
    let gshadow = a.gshadow.map(|f| {
        let (mut out, _) = join_groups(f, 3, LIVE_GROUPS, u);
        if !own_group {
            out = with_line(&out, &format!("{u}:!::"));
        }
        out
    });
    Some(NewUser {
        uid,
        gid,
        home,
        passwd,
        group,
        shadow,
        gshadow,
        groups,
    })
}

/// /etc/sudoers.d/casper: the live user may run anything without a
/// password, casper's exact rule.
pub fn sudoers(user: &str) -> String {
    format!("{user}  ALL=(ALL) NOPASSWD: ALL\n")
}

/// A lightdm drop-in (read after the packaged defaults, before
/// lightdm.conf) that logs the live user in at once.
pub fn lightdm_autologin(user: &str) -> String {
    format!("[Seat:*]\nautologin-user={user}\nautologin-user-timeout=0\n")
}

/// gdm3's custom.conf with automatic login for `user` in `[daemon]`:
/// the keys set (commented or not) where they are, else added at the top
/// of `[daemon]`, which is added if missing.
pub fn gdm_autologin(existing: Option<&str>, user: &str) -> String {
    let keys = [
        ("AutomaticLoginEnable", "true".to_owned()),
        ("AutomaticLogin", user.to_owned()),
    ];
    let mut done = [false; 2];
    let mut section = String::new();
    let mut out = Vec::new();
    let text = existing.unwrap_or("");
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t.to_owned();
        }
        if section == "[daemon]" {
            let bare = t.trim_start_matches('#').trim_start();
            let key = bare.split('=').next().unwrap_or("").trim();
            if let Some(i) = keys.iter().position(|(k, _)| *k == key) {
                if !done[i] {
                    done[i] = true;
                    out.push(format!("{}={}", keys[i].0, keys[i].1));
                }
                continue;
            }
        }
        out.push(line.to_owned());
    }
    let missing: Vec<String> = keys
        .iter()
        .zip(done)
        .filter(|(_, d)| !d)
        .map(|((k, v), _)| format!("{k}={v}"))
        .collect();
    if !missing.is_empty() {
        match out.iter().position(|l| l.trim() == "[daemon]") {
            Some(at) => {
                for (i, l) in missing.into_iter().enumerate() {
                    out.insert(at + 1 + i, l);
                }
            }
            None => {
                out.push("[daemon]".to_owned());
                out.extend(missing);
            }
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// An sddm drop-in logging the live user into `session`: a Plasma
/// session when the root has one (Kubuntu's), else the first by name.
/// `None` without any session: sddm cannot autologin into nothing.
pub fn sddm_autologin(user: &str, sessions: &[String]) -> Option<String> {
    let mut names: Vec<&str> = sessions
        .iter()
        .filter_map(|s| s.strip_suffix(".desktop"))
        .collect();
    names.sort_unstable();
    let session = names
        .iter()
        .find(|n| n.starts_with("plasma"))
        .or_else(|| names.first())?;
    Some(format!(
        "[Autologin]\nUser={user}\nSession={session}\nRelogin=false\n"
    ))
}

/// /etc/hosts with `host` on the `127.0.1.1` line (Debian's convention,
/// and casper's), the other lines kept.
pub fn hosts(existing: Option<&str>, host: &str) -> String {
    let entry = format!("127.0.1.1\t{host}");
    let text = existing.unwrap_or("127.0.0.1\tlocalhost\n");
    let mut replaced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.split_whitespace().next() == Some("127.0.1.1") {
            if !replaced {
                out.push(entry.clone());
                replaced = true;
            }
            continue;
        }
        out.push(line.to_owned());
    }
    if !replaced {
        let at = out
            .iter()
            .position(|l| l.split_whitespace().next() == Some("127.0.0.1"))
            .map_or(0, |i| i + 1);
        out.insert(at, entry);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::Cmdline;
    use proptest::prelude::*;

    const UBUNTU_CONF: &str = "# This file should go in /etc/casper.conf\n\
export USERNAME=\"ubuntu\"\n\
export USERFULLNAME=\"Live session user\"\n\
export HOST=\"ubuntu\"\n\
export BUILD_SYSTEM=\"Ubuntu\"\n\
\n\
# USERNAME and HOSTNAME as specified above won't be honoured and will be set to\n\
# flavour string acquired at boot time, unless you set FLAVOUR to any\n\
# non-empty string.\n\
\n\
# export FLAVOUR=\"Ubuntu\"\n";

    fn words(cmdline: &str) -> Words {
        Words::from_params(&Cmdline::parse(cmdline).params)
    }

    fn session(conf: Option<&str>, info: Option<&str>, cmdline: &str) -> Result<Session, String> {
        resolve(conf, info, &words(cmdline))
    }

    #[test]
    fn conf_values_parse_what_livecd_rootfs_writes() {
        let v = conf_values(UBUNTU_CONF);
        assert_eq!(
            v,
            [
                ("USERNAME", "ubuntu"),
                ("USERFULLNAME", "Live session user"),
                ("HOST", "ubuntu"),
                ("BUILD_SYSTEM", "Ubuntu")
            ]
        );
        let odd = "USERNAME=kim\nHOST='box one'\nX=$(reboot)\nY=\"a\"b\"\nexport  Z=z \n=v\nA-B=c";
        assert_eq!(
            conf_values(odd),
            [("USERNAME", "kim"), ("HOST", "box one"), ("Z", "z")]
        );
    }

    /// casper.conf, .disk/info, cmdline; then user, full name, host, autologin.
    type Row<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        (&'a str, &'a str, &'a str, bool),
    );

    #[test]
    fn session_sources_in_casper_order() {
        let table: &[Row<'_>] = &[
            (
                None,
                None,
                "",
                ("casper", "Live session user", "live", true),
            ),
            (
                Some(UBUNTU_CONF),
                None,
                "",
                ("ubuntu", "Live session user", "ubuntu", true),
            ),
            // The medium's flavour names user and host when FLAVOUR is unset.
            (
                Some(UBUNTU_CONF),
                Some("Kubuntu 24.04 LTS \"Noble Numbat\" - Release amd64 (20240424)"),
                "",
                ("kubuntu", "Live session user", "kubuntu", true),
            ),
            (
                Some("export USERNAME=\"lab\"\nexport FLAVOUR=\"Lab\"\n"),
                Some("Ubuntu 24.04"),
                "",
                ("lab", "Live session user", "live", true),
            ),
            // The cmdline overrides all of it.
            (
                Some(UBUNTU_CONF),
                Some("Ubuntu 24.04"),
                "boot=casper username=kim userfullname=Kim hostname=kimbox noautologin",
                ("kim", "Kim", "kimbox", false),
            ),
            // Quoted words, as a boot loader may pass them; later words win.
            (
                None,
                None,
                "userfullname=\"Kim Live\" username=a username=b",
                ("b", "Kim Live", "live", true),
            ),
            // An empty value is no override.
            (
                Some(UBUNTU_CONF),
                None,
                "username= hostname=",
                ("ubuntu", "Live session user", "ubuntu", true),
            ),
        ];
        for (conf, info, cmdline, (u, f, h, auto)) in table {
            let s = session(*conf, *info, cmdline).unwrap();
            assert_eq!(
                (
                    s.username.as_str(),
                    s.fullname.as_str(),
                    s.host.as_str(),
                    s.autologin
                ),
                (*u, *f, *h, *auto),
                "{cmdline}"
            );
        }
    }

    #[test]
    fn bad_values_name_their_source() {
        let e = session(None, None, "username=Root:0").unwrap_err();
        assert!(e.contains("\"Root:0\" from username="), "{e}");
        let e = session(Some("USERFULLNAME=\"a:b\"\n"), None, "").unwrap_err();
        assert!(e.contains("from /etc/casper.conf"), "{e}");
        let e = session(None, None, "hostname=bad_host!").unwrap_err();
        assert!(e.contains("hostname="), "{e}");
        assert!(!valid_username("9lives") && !valid_username("") && valid_username("_x-1"));
        assert!(!valid_username(&"a".repeat(33)));
    }

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nsystemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\nlightdm:x:101:103:Light Display Manager:/var/lib/lightdm:/bin/false\n";
    const GROUP: &str = "root:x:0:\nadm:x:4:\ncdrom:x:24:\nsudo:x:27:\ndip:x:30:\nplugdev:x:46:someone\nvideo:x:44:\nlightdm:x:103:\n";
    const SHADOW: &str = "root:*:19000:0:99999:7:::\n";
    const GSHADOW: &str = "root:*::\nsudo:*::\nplugdev:*::someone\n";

    fn kim() -> Session {
        session(None, None, "username=kim userfullname=Kim").unwrap()
    }

    #[test]
    fn adds_the_user_as_casper_does() {
        let a = Accounts {
            passwd: PASSWD,
            group: GROUP,
            shadow: Some(SHADOW),
            gshadow: Some(GSHADOW),
        };
        let n = add_user(&a, &kim(), "/bin/bash", 20000).unwrap();
        assert_eq!((n.uid, n.gid, n.home.as_str()), (999, 999, "/home/kim"));
        assert!(n.passwd.ends_with("lightdm:x:101:103:Light Display Manager:/var/lib/lightdm:/bin/false\nkim:x:999:999:Kim,,,:/home/kim:/bin/bash\n"));
        assert_eq!(
            n.group,
            "root:x:0:\nadm:x:4:kim\ncdrom:x:24:kim\nsudo:x:27:kim\ndip:x:30:kim\nplugdev:x:46:someone,kim\nvideo:x:44:kim\nlightdm:x:103:\nkim:x:999:\n"
        );
        assert_eq!(
            n.groups,
            ["adm", "cdrom", "sudo", "dip", "plugdev", "video"]
        );
        assert_eq!(
            n.shadow.as_deref(),
            Some("root:*:19000:0:99999:7:::\nkim::20000:0:99999:7:::\n")
        );
        assert_eq!(
            n.gshadow.as_deref(),
            Some("root:*::\nsudo:*::kim\nplugdev:*::someone,kim\nkim:!::\n")
        );
        // Already there: left alone.
        let again = Accounts {
            passwd: &n.passwd,
            group: &n.group,
            ..a
        };
        assert_eq!(add_user(&again, &kim(), "/bin/bash", 1), None);
    }

    #[test]
    fn uid_999_taken_moves_to_1000_up_and_files_without_newline() {
        let a = Accounts {
            passwd: "root:x:0:0::/root:/bin/sh\nx:x:999:999::/:/bin/sh\ny:x:1000:1000::/:/bin/sh",
            group: "root:x:0:\nx:x:999:\nkim:x:1234:",
            shadow: None,
            gshadow: None,
        };
        let n = add_user(&a, &kim(), "/bin/sh", 1).unwrap();
        assert_eq!((n.uid, n.gid), (1001, 1234));
        assert!(
            n.passwd
                .ends_with(":1000:1000::/:/bin/sh\nkim:x:1001:1234:Kim,,,:/home/kim:/bin/sh\n")
        );
        // The group was there: not added twice.
        assert_eq!(n.group, "root:x:0:\nx:x:999:\nkim:x:1234:");
        assert_eq!((n.shadow, n.gshadow), (None, None));
    }

    #[test]
    fn display_managers() {
        assert_eq!(sudoers("kim"), "kim  ALL=(ALL) NOPASSWD: ALL\n");
        assert_eq!(
            lightdm_autologin("kim"),
            "[Seat:*]\nautologin-user=kim\nautologin-user-timeout=0\n"
        );
        // Debian's packaged custom.conf: the commented keys become real.
        let debian = "# GDM configuration storage\n\n[daemon]\n# Uncomment the line below to force the login screen to use Xorg\n#WaylandEnable=false\n\n# Enabling automatic login\n#  AutomaticLoginEnable = true\n#  AutomaticLogin = user1\n\n[security]\n\n[xdmcp]\n";
        assert_eq!(
            gdm_autologin(Some(debian), "kim"),
            "# GDM configuration storage\n\n[daemon]\n# Uncomment the line below to force the login screen to use Xorg\n#WaylandEnable=false\n\n# Enabling automatic login\nAutomaticLoginEnable=true\nAutomaticLogin=kim\n\n[security]\n\n[xdmcp]\n"
        );
        // Keys outside [daemon] are not touched; a missing section is added.
        assert_eq!(
            gdm_autologin(Some("[security]\nAutomaticLogin=x\n"), "kim"),
            "[security]\nAutomaticLogin=x\n[daemon]\nAutomaticLoginEnable=true\nAutomaticLogin=kim\n"
        );
        assert_eq!(
            gdm_autologin(Some("[daemon]\nWaylandEnable=false\n"), "kim"),
            "[daemon]\nAutomaticLoginEnable=true\nAutomaticLogin=kim\nWaylandEnable=false\n"
        );
        assert_eq!(
            gdm_autologin(None, "kim"),
            "[daemon]\nAutomaticLoginEnable=true\nAutomaticLogin=kim\n"
        );
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            sddm_autologin(
                "kim",
                &s(&["plasmawayland.desktop", "plasma.desktop", "lxqt.desktop"])
            ),
            Some("[Autologin]\nUser=kim\nSession=plasma\nRelogin=false\n".into())
        );
        assert_eq!(
            sddm_autologin("kim", &s(&["xfce.desktop", "lxqt.desktop", "README"])).unwrap(),
            "[Autologin]\nUser=kim\nSession=lxqt\nRelogin=false\n"
        );
        assert_eq!(sddm_autologin("kim", &s(&["README"])), None);
    }

    #[test]
    fn hosts_lines() {
        assert_eq!(hosts(None, "box"), "127.0.0.1\tlocalhost\n127.0.1.1\tbox\n");
        let debian = "127.0.0.1\tlocalhost\n127.0.1.1\told\n\n::1     localhost ip6-localhost\n";
        assert_eq!(
            hosts(Some(debian), "box"),
            "127.0.0.1\tlocalhost\n127.0.1.1\tbox\n\n::1     localhost ip6-localhost\n"
        );
        assert_eq!(
            hosts(Some("::1 localhost\n127.0.0.1 localhost\n"), "box"),
            "::1 localhost\n127.0.0.1 localhost\n127.0.1.1\tbox\n"
        );
    }

    proptest! {
        #[test]
        fn conf_parser_is_total(text in "\\PC{0,200}") {
            for (k, v) in conf_values(&text) {
                prop_assert!(!k.is_empty());
                prop_assert!(!v.contains('\n'));
            }
        }

        /// Whatever the names, the files stay line-per-entry: a valid
        /// session adds exactly one passwd line and never breaks a field.
        #[test]
        fn add_user_adds_one_well_formed_line(
            user in "[a-z_][a-z0-9_-]{0,12}",
            full in "[A-Za-z .'-]{0,20}",
            others in proptest::collection::vec(("[a-z]{1,8}", 0u32..2000), 0..8),
        ) {
            let passwd: String = others.iter().map(|(n, id)| format!("{n}:x:{id}:{id}::/:/bin/sh\n")).collect();
            let group: String = others.iter().map(|(n, id)| format!("{n}:x:{id}:\n")).collect();
            let s = resolve(None, None, &Words { username: Some(user.clone()), userfullname: Some(full), ..Words::default() });
            let s = match s { Ok(s) => s, Err(_) => return Ok(()) };
            let a = Accounts { passwd: &passwd, group: &group, shadow: Some(""), gshadow: None };
            match add_user(&a, &s, "/bin/sh", 1) {
                None => prop_assert!(others.iter().any(|(n, _)| *n == user)),
                Some(n) => {
                    prop_assert_eq!(n.passwd.lines().count(), passwd.lines().count() + 1);
                    let last = n.passwd.lines().last().unwrap_or("");
                    prop_assert_eq!(last.split(':').count(), 7);
                    prop_assert!(!ids(&passwd).any(|i| i == n.uid));
                    for l in n.group.lines() { prop_assert_eq!(l.split(':').count(), 4); }
                }
            }
        }
    }
}
