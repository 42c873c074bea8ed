//! tmpfs-style sizes: `50%`, `512M`, `2g`, `1048576`.

/// tmpfs size for the overlay's upper layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlaySize {
    /// Percent of RAM (the default, 50, as live-boot).
    Percent(u8),
    Bytes(u64),
}

/// Parses a tmpfs `size=` value. The error is the reason text.
pub fn parse_size(text: &str) -> Result<OverlaySize, String> {
    let text = text.trim();
    if let Some(pct) = text.strip_suffix('%') {
        return match pct.parse::<u8>() {
            Ok(p @ 1..=100) => Ok(OverlaySize::Percent(p)),
            _ => Err(format!("'{text}' is not a percentage of RAM (1%-100%)")),
        };
    }
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let shift = match unit {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        _ => return Err(format!("'{text}' is not a size (want e.g. 50%, 512M, 2G)")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size (want e.g. 50%, 512M, 2G)"))?;
    let bytes = n
        .checked_mul(1u64 << shift)
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("'{text}' is out of range"))?;
    Ok(OverlaySize::Bytes(bytes))
}

/// The tmpfs `size=` option text for a size.
pub fn tmpfs_option(size: OverlaySize) -> String {
    match size {
        OverlaySize::Percent(p) => format!("size={p}%"),
        OverlaySize::Bytes(b) => format!("size={b}"),
    }
}

impl std::fmt::Display for OverlaySize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            OverlaySize::Percent(p) => write!(f, "{p}% of RAM"),
            OverlaySize::Bytes(b) => write!(f, "{}", human_bytes(b)),
        }
    }
}

/// `1.5 GiB`, `512 MiB`, `300 B`.
///
/// Integer arithmetic on purpose: it prints what `{:.1}` of the f64 would
/// (ties to even), without linking float formatting into /init.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    let mut div: u128 = 1;
    while u128::from(b) >= div * 1024 && unit + 1 < UNITS.len() {
        div *= 1024;
        unit += 1;
    }
    let b = u128::from(b);
    if unit == 0 || b % div == 0 {
        return format!("{} {}", b / div, UNITS[unit]);
    }
    let (mut tenths, rest) = ((b * 10) / div, (b * 10) % div);
    if 2 * rest > div || (2 * rest == div && tenths % 2 == 1) {
        tenths += 1;
    }
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The float version it replaced: the oracle.
    fn human_bytes_f64(b: u64) -> String {
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut unit = 0;
        let mut v = b as f64;
        while v >= 1024.0 && unit + 1 < UNITS.len() {
            v /= 1024.0;
            unit += 1;
        }
        if unit == 0 || v.fract() == 0.0 {
            format!("{v:.0} {}", UNITS[unit])
        } else {
            format!("{v:.1} {}", UNITS[unit])
        }
    }

    proptest! {
        #[test]
        fn human_bytes_prints_what_the_float_did(b in 0u64..(1u64 << 52)) {
            prop_assert_eq!(human_bytes(b), human_bytes_f64(b));
        }
    }

    #[test]
    fn human_bytes_edges() {
        for b in [
            0,
            1,
            1023,
            1024,
            1025,
            1536,
            1024 * 1024 - 1,
            5 * 1024 * 1024 + 1,
            1280,
            2560,
            1 << 40,
            (1 << 50) + 1,
        ] {
            assert_eq!(human_bytes(b), human_bytes_f64(b), "{b}");
        }
    }

    #[test]
    fn sizes() {
        for (text, want) in [
            ("50%", OverlaySize::Percent(50)),
            ("100%", OverlaySize::Percent(100)),
            ("1024", OverlaySize::Bytes(1024)),
            ("512M", OverlaySize::Bytes(512 << 20)),
            ("1024m", OverlaySize::Bytes(1 << 30)),
            ("2G", OverlaySize::Bytes(2 << 30)),
            ("4k", OverlaySize::Bytes(4096)),
        ] {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
        for bad in [
            "",
            "0",
            "0%",
            "101%",
            "-5%",
            "12X",
            "G",
            "1.5G",
            "99999999999999T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rendering() {
        assert_eq!(tmpfs_option(OverlaySize::Percent(50)), "size=50%");
        assert_eq!(tmpfs_option(OverlaySize::Bytes(4096)), "size=4096");
        assert_eq!(human_bytes(512 << 20), "512 MiB");
        assert_eq!(human_bytes(1536 << 20), "1.5 GiB");
        assert_eq!(human_bytes(300), "300 B");
        assert_eq!(OverlaySize::Percent(50).to_string(), "50% of RAM");
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_size(&text);
        }

        #[test]
        fn mebibytes_round_trip(n in 1u64..1_000_000) {
            prop_assert_eq!(parse_size(&format!("{n}M")), Ok(OverlaySize::Bytes(n << 20)));
        }
    }
}
