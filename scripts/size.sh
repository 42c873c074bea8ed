#!/usr/bin/env bash
# The static /init's size and what it is made of: the release binary as
# shipped (stripped), then the same build with its symbols kept (a separate
# target dir, same profile otherwise) read with nm: the biggest functions
# and the total per crate. Growth shows here when it happens.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
nice cargo build --release --locked -p netinit --target "$target" >&2
bin=target/$target/release/netinit
size=$(stat -c %s "$bin")
awk -v n="$size" 'BEGIN { printf "/init (netinit, stripped): %d bytes (%.1f KiB; budget 1024 KiB, stretch goal 600 KiB)\n", n, n / 1024 }'

CARGO_PROFILE_RELEASE_STRIP=false nice cargo build --release --locked -p netinit \
    --target "$target" --target-dir target/size >&2
# head closes its pipe early; that is not a failure here.
set +o pipefail
syms=$(mktemp)
trap 'rm -f "$syms"' EXIT
# Size and demangled name of every function and object in .text/.data/.rodata.
nm -C --size-sort -S --radix=d "target/size/$target/release/netinit" |
    awk '$3 ~ /^[TtDdRrBb]$/ { n=$2+0; $1=$2=$3=""; sub(/^ +/, ""); print n "\t" $0 }' >"$syms"

echo
echo "Biggest symbols (bytes, name):"
sort -rn "$syms" | head -15 | awk -F'\t' '{ printf "  %7d  %.110s\n", $1, $2 }'

echo
echo "Per crate (bytes in named symbols; the rest is tables, strings, padding):"
awk -F'\t' '{
    name = $2
    sub(/^(<|&|\*const |\*mut |dyn )+/, "", name)
    split(name, parts, "::")
    crate = parts[1]
    if (crate !~ /^[a-z_][a-z0-9_]*$/ || index(name, "::") == 0) crate = "(C / unnamed)"
    sum[crate] += $1; total += $1
} END {
    for (c in sum) printf "%d\t%s\n", sum[c], c
    printf "%d\t(total)\n", total
}' "$syms" | sort -rn | head -14 | awk -F'\t' '{ printf "  %7d  %s\n", $1, $2 }'
