#!/usr/bin/env bash
# Writes the man pages into OUTDIR (gzipped with -z): netinit(8) and
# netinit-mkinitrd(8) from man/*.8 (mdoc), netinit.cmdline(7) generated
# from docs/cmdline.md, so the page and the tested docs are one text.
set -euo pipefail
cd "$(dirname "$0")/.."

gz=0
if [[ ${1:-} == -z ]]; then gz=1; shift; fi
out=${1:?usage: scripts/build-man.sh [-z] OUTDIR}
mkdir -p "$out"

# Reproducible: the page's date is the docs' last commit (or SOURCE_DATE_EPOCH).
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct -- docs/cmdline.md 2>/dev/null || true)}
date=$(date -u -d "@${epoch:-0}" +%Y-%m-%d)

cp man/netinit.8 man/netinit-mkinitrd.8 "$out/"
awk -v title=netinit.cmdline -v section=7 -v date="$date" -v source=netinit \
  -v name=netinit.cmdline -v desc="kernel command line parameters read by netinit" \
  -v seealso='.BR netinit (8),
.BR netinit-mkinitrd (8)' \
  -f man/md2man.awk docs/cmdline.md >"$out/netinit.cmdline.7"

if ((gz)); then
  for f in "$out"/netinit.8 "$out"/netinit-mkinitrd.8 "$out"/netinit.cmdline.7; do
    gzip -9nf "$f"
  done
fi
