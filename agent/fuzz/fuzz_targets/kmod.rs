#![no_main]
//! modules.dep/alias/softdep/builtin parsers, load order and alias
//! matching: never panic, never loop.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(5, '\u{1}');
    let (dep, alias, softdep, builtin) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let query = parts.next().unwrap_or("x");
    if let Ok(idx) = netinit_core::kmod::ModuleIndex::parse(dep, alias, softdep, builtin) {
        let _ = idx.load_order(&[query.to_owned()]);
        let names: Vec<String> = idx.modules.keys().cloned().collect();
        let (order, _) = idx.load_order(&names);
        let _ = idx.render_subset(&order.into_iter().collect());
    }
    let _ = netinit_core::kmod::fnmatch::fnmatch(query, dep);
});
