#!/bin/sh
# Makes the Debian root that the packaging tests install the .deb into, once: a minbase
# debootstrap of this machine's Debian release, with systemd (systemctl,
# systemd-sysusers) and man-db, from the mirror apt uses here. Later runs reuse it, as
# the tests never change it: each installs into an overlay over it. It is remade when
# what it is made of changes; delete it to remake it by hand.
# Usage: test-root.sh DIR   (the tests use /var/cache/vrrpd-test-root)
set -eu
root=$1
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
include=systemd,man-db
stamp="debootstrap --variant=minbase --include=$include $suite"
if [ -f "$root/.vrrpd-test-root" ] && [ "$(cat "$root/.vrrpd-test-root")" = "$stamp" ]; then
	exit 0
fi
mirror=$(sed -n 's|^URIs: *\([^ ]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
if [ -z "$mirror" ]; then
	mirror=$(sed -n 's|^deb  *\([^ ]*/debian\)/* .*|\1|p' /etc/apt/sources.list 2>/dev/null | head -n 1)
fi
tmp=$root.new.$$
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$(dirname "$root")"
# shellcheck disable=SC2086 # an empty mirror is debootstrap's default
debootstrap --variant=minbase --include="$include" "$suite" "$tmp" $mirror >"$tmp.log" 2>&1 || {
	tail -n 30 "$tmp.log" >&2
	rm -f "$tmp.log"
	exit 1
}
rm -f "$tmp.log"
# Nothing of this machine's state in it: no apt lists, no downloaded packages.
rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
echo "$stamp" >"$tmp/.vrrpd-test-root"
rm -rf "$root"
mv "$tmp" "$root"
