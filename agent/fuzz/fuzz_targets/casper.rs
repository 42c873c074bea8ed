#![no_main]
//! casper session: casper.conf and .disk/info from the image, words from
//! the cmdline; resolving and rendering every file never panics, and a
//! session that resolves adds exactly one passwd line.
use libfuzzer_sys::fuzz_target;
use netinit_core::casper::{self, Accounts, Words};
use netinit_core::cmdline::Cmdline;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Four parts: casper.conf, .disk/info, the cmdline, /etc/passwd+group.
    let mut parts = text.splitn(4, '\u{0}');
    let conf = parts.next().unwrap_or("");
    let info = parts.next();
    let words = Words::from_params(&Cmdline::parse(parts.next().unwrap_or("")).params);
    let accounts = parts.next().unwrap_or("");
    let Ok(s) = casper::resolve(Some(conf), info, &words) else {
        return;
    };
    let a = Accounts {
        passwd: accounts,
        group: accounts,
        shadow: Some(accounts),
        gshadow: Some(accounts),
    };
    if let Some(n) = casper::add_user(&a, &s, "/bin/sh", 1) {
        assert_eq!(n.passwd.lines().count(), accounts.lines().count() + 1);
    }
    let _ = casper::gdm_autologin(Some(conf), &s.username);
    let _ = casper::hosts(Some(conf), &s.host);
    let _ = casper::sddm_autologin(&s.username, &[conf.to_owned()]);
});
