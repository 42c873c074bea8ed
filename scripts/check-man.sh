#!/usr/bin/env bash
# The man pages: built, clean under `mandoc -T lint` (warnings and worse),
# and netinit.cmdline(7) names every parameter the cmdline parser knows, so
# the parser, docs/cmdline.md and the page cannot drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/build-man.sh "$tmp"

mandoc -T lint -W warning "$tmp"/netinit.8 "$tmp"/netinit-mkinitrd.8 "$tmp"/netinit.cmdline.7
echo "man: mandoc -T lint clean: netinit.8 netinit-mkinitrd.8 netinit.cmdline.7"

page=$tmp/cmdline.txt
MANWIDTH=200 mandoc -T utf8 "$tmp/netinit.cmdline.7" | col -b >"$page"

# Every key of the parser's match arms (agent/core/src/config.rs).
mapfile -t keys < <(grep -oE '^\s+"[A-Za-z_.-]+"( \| "[A-Za-z_.-]+")* =>' agent/core/src/config.rs |
  tr -d ' =>' | tr '|' '\n' | tr -d '"' | sort -u)
((${#keys[@]} > 20)) || { echo "man: found only ${#keys[@]} parser keys; has config.rs changed shape?" >&2; exit 1; }
missing=()
for k in "${keys[@]}"; do
  grep -qF -- "$k=" "$page" || grep -qw -- "$k" "$page" || missing+=("$k")
done
if ((${#missing[@]})); then
  echo "man: netinit.cmdline(7) lacks parameters the parser knows: ${missing[*]} (document them in docs/cmdline.md)" >&2
  exit 1
fi
# Every example block of docs/cmdline.md is in the page.
n=0
while IFS= read -r ex; do
  grep -qF -- "$ex" "$page" || { echo "man: example missing from netinit.cmdline(7): $ex" >&2; exit 1; }
  n=$((n + 1))
done < <(awk '/^```cmdline/{f=1;next} /^```/{f=0} f' docs/cmdline.md)
echo "man: netinit.cmdline(7) has all ${#keys[@]} parser keys and all $n cmdline examples"
