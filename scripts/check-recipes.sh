#!/usr/bin/env bash
# Every server recipe in docs/server-setup.md, checked by its own tool:
# each fenced block's language says which (dnsmasq, kea, nginx, grub,
# exports). pxelinux has no checker; the lab boots the rest of the chain.
set -euo pipefail
cd "$(dirname "$0")/.."

doc=docs/server-setup.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Writes each ```LANG block to $tmp/LANG.N; prints how many.
extract() {
  awk -v lang="$1" -v dir="$tmp" '
    $0 == "```" lang { n++; f = dir "/" lang "." n; inb = 1; next }
    inb && /^```/ { inb = 0; next }
    inb { print > f }
    END { print n + 0 }' "$doc"
}

need() { # count lang
  if (($1 < 1)); then echo "recipes: no \`\`\`$2 block in $doc" >&2; exit 1; fi
}

n=$(extract dnsmasq); need "$n" dnsmasq
for f in "$tmp"/dnsmasq.*; do
  dnsmasq --test -C "$f" 2>&1 | sed "s|^|recipes: $(basename "$f"): |"
done
echo "recipes: $n dnsmasq configs pass dnsmasq --test"

n=$(extract kea); need "$n" kea
for f in "$tmp"/kea.*; do
  kea-dhcp4 -t "$f" >"$tmp/kea.out" 2>&1 || { cat "$tmp/kea.out" >&2; echo "recipes: kea-dhcp4 -t failed on $(basename "$f")" >&2; exit 1; }
done
echo "recipes: $n Kea config passes kea-dhcp4 -t"

n=$(extract nginx); need "$n" nginx
# nginx -t binds the listen address: give it 10.77.0.1 on a bridge (no dummy module here) in
# a network namespace of its own, deleted afterwards.
ns=nirecipes$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
ip -n "$ns" link add d0 type bridge
ip -n "$ns" addr add 10.77.0.1/24 dev d0
ip -n "$ns" link set d0 up
for f in "$tmp"/nginx.*; do
  # -e: the error log before the config is read.
  ip netns exec "$ns" nginx -t -q -e stderr -c "$f" ||
    { echo "recipes: nginx -t failed on $(basename "$f")" >&2; exit 1; }
done
echo "recipes: $n nginx config passes nginx -t"

n=$(extract grub); need "$n" grub
for f in "$tmp"/grub.*; do
  grub-script-check "$f" || { echo "recipes: grub-script-check failed on $(basename "$f")" >&2; exit 1; }
done
echo "recipes: $n GRUB menu passes grub-script-check"

n=$(extract exports); need "$n" exports
# exportfs comes from nfs-kernel-server, unpacked (not installed: its
# services are of no use on a host without nfsd), cached like the lab's kernel.
cache=${NETINIT_LAB_CACHE:-$HOME/.cache/netinit-lab}/nfs-kernel-server
exportfs=$cache/usr/sbin/exportfs
if [[ ! -x $exportfs ]]; then
  mkdir -p "$cache"
  (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root nfs-kernel-server >/dev/null)
  dpkg-deb -x "$tmp"/nfs-kernel-server_*.deb "$cache"
fi
for f in "$tmp"/exports.*; do
  # Private mount namespace: the file over /etc/exports, a scratch
  # /var/lib/nfs, and the exported paths made in a tmpfs over /srv.
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare -m --propagation private -- sh -c '
    set -e
    mkdir -p "$2/etc"; cp -a /etc/. "$2/etc/"; cp "$1" "$2/etc/exports"
    mount --bind "$2/etc" /etc
    mount -t tmpfs recipes /var/lib/nfs
    mount -t tmpfs recipes /srv
    grep -o "^/[^ ]*" /etc/exports | while read -r p; do mkdir -p "$p"; done
    "$3" -ra 2>"$2/ra.err"
    "$3" -v' sh "$f" "$tmp/root" "$exportfs" >"$tmp/exportfs.out" 2>&1 ||
    { cat "$tmp/exportfs.out" >&2; echo "recipes: exportfs -ra failed on $(basename "$f")" >&2; exit 1; }
  if [[ -s $tmp/root/ra.err ]]; then
    cat "$tmp/root/ra.err" >&2; echo "recipes: exportfs -ra complained about $(basename "$f")" >&2; exit 1
  fi
  echo "recipes: /etc/exports passes exportfs -ra: $(grep -c '^/' "$tmp/exportfs.out") exports"
done
