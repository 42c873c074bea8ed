#!/usr/bin/env bash
# The project's test command: lint, unit + privileged integration tests,
# the static /init build, a fuzz smoke run of every target, every QEMU PXE lab
# scenario, one boot of each benchmark initrd (netinit, the floor, live-boot,
# dracut) and a 10-client boot storm. Run as root on
# Debian 12; installs what it needs (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== fmt"
cargo fmt --all --check
cargo fmt --manifest-path agent/fuzz/Cargo.toml --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
# Functions of the shipped binaries stay under 80 lines (clippy.toml's
# threshold); test tables and the lab harness are left out.
cargo clippy --locked -p netinit-core -p netinit-sys -p netinit -p netinit-mkinitrd --lib --bins \
  -- -D warnings -D clippy::too_many_lines
echo "== clippy (fuzz crate, nightly)"
cargo +nightly clippy --manifest-path agent/fuzz/Cargo.toml --all-targets --locked -- -D warnings
echo "== man pages"
scripts/check-man.sh
echo "== server recipes (docs/server-setup.md), each by its own tool"
scripts/check-recipes.sh
echo "== static /init"
cargo build --release --locked -p netinit --target x86_64-unknown-linux-musl
bin=target/x86_64-unknown-linux-musl/release/netinit
file "$bin" | grep -q 'static' || { echo "test: $bin is not statically linked" >&2; exit 1; }
size=$(stat -c %s "$bin")
echo "netinit static binary: $size bytes"
# The budget (docs/benchmarks.md): /init must fit in 1 MiB.
((size <= 1048576)) || { echo "test: $bin is $size bytes, over the 1 MiB budget" >&2; exit 1; }
echo "== lab setup (Debian kernel package, fetched, not installed)"
cargo build --release --locked -p netinit-lab
target/release/netinit-lab setup
# The debootstraps wait mostly on the mirror and dpkg, so on a fresh
# machine they run beside the packaging checks and the fuzz smoke.
roots_log=$(mktemp /tmp/netinit-roots.XXXXXX)
echo "== Debian roots for the lab, tests and bench: started in the background (log: $roots_log)"
# Its own process group, so a failed step below stops every debootstrap.
setsid -w target/release/netinit-lab roots >"$roots_log" 2>&1 &
roots_pid=$!
trap 'kill -- -"$roots_pid" 2>/dev/null || true' EXIT
echo "== packages (Debian: contents + lintian; Arch: PKGBUILD package())"
scripts/check-packaging.sh
echo "== fuzz smoke: every target, 12 s each, from agent/fuzz/seeds (docs/testing.md)"
scripts/fuzz.sh smoke 12
echo "== Debian roots (cached; a fresh machine debootstraps them, three at a time)"
if wait "$roots_pid"; then
  grep '^netinit-lab: root' "$roots_log"
else
  tail -n 40 "$roots_log"
  echo "test: some roots were not built (above); the scenarios that boot them fail with the reason"
fi
trap - EXIT
rm -f "$roots_log"
echo "== tests (including root-only and real-kernel integration tests)"
cargo test --workspace --locked -- --include-ignored
echo "== QEMU PXE lab: every scenario"
target/release/netinit-lab run
echo "== bench smoke: each initrd (netinit, the floor, live-boot, dracut) boots once; numbers come from scripts/bench.sh"
target/release/netinit-lab bench --boots 1
echo "== boot storm smoke: 10 clients each with netinit, dhclient and udhcpc all lease and fetch; no timing asserted"
target/release/netinit-lab storm --clients 10
