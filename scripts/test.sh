#!/usr/bin/env bash
# The project's test command: lint, unit + privileged integration tests,
# the static /init build, and the QEMU PXE lab scenarios. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== fmt"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== static /init"
cargo build --release --locked -p netinit --target x86_64-unknown-linux-musl
bin=target/x86_64-unknown-linux-musl/release/netinit
file "$bin" | grep -q 'static' || { echo "test: $bin is not statically linked" >&2; exit 1; }
echo "netinit static binary: $(stat -c %s "$bin") bytes"
echo "== tests (including root-only integration tests)"
cargo test --workspace --locked -- --include-ignored
