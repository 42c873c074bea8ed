#![no_main]
//! Cmdline tokenizer: never panics, and rendering what it parsed is stable.
use libfuzzer_sys::fuzz_target;
use netinit_core::cmdline::Cmdline;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let once = Cmdline::parse(text);
        let twice = Cmdline::parse(&once.to_string());
        // Words holding double quotes can't be re-rendered faithfully; all others must be.
        let quoted =
            once.params.iter().any(|p| {
                p.key.contains('"') || p.value.as_deref().is_some_and(|v| v.contains('"'))
            }) || once.init_args.iter().any(|a| a.contains('"'));
        if !quoted {
            assert_eq!(once, twice);
        }
    }
});
