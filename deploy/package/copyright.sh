#!/bin/sh
# Prints the copyright file of the package: vrrpd's notice, then the license of every Go
# module the binaries link, the standard library included, as the module ships it (the
# Apache License 2.0 by reference, as Debian's policy asks).
# Run from the repository with the module cache filled (after a build).
set -eu
GO=${GO:-go}
cat <<'HEAD'
vrrpd: a VRRP daemon for Linux, built from https://github.com/vrrpd/vrrpd

Copyright: the vrrpd authors.
HEAD
if [ -f LICENSE ]; then
	printf '\n'
	cat LICENSE
else
	printf 'No license has been published for vrrpd itself yet.\n'
fi
printf '\nThe programs /usr/sbin/vrrpd and /usr/libexec/vrrpd/vrrpd-bgp are statically linked\nwith the Go modules below, each under its own license, reproduced here.\n'
{
	echo "go $($GO env GOVERSION) $($GO env GOROOT)"
	$GO list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' ./cmd/vrrpd ./cmd/vrrpd-bgp
} | sort -u | while read -r path version dir; do
	[ -n "$path" ] || continue
	license=
	for f in LICENSE LICENSE.md LICENSE.txt license COPYING; do
		if [ -f "$dir/$f" ]; then
			license=$dir/$f
			break
		fi
	done
	if [ -z "$license" ]; then
		echo "copyright.sh: no license file in $dir ($path)" >&2
		exit 1
	fi
	printf '\n%s %s\n%s\n\n' "$path" "$version" "--------------------------------------------------------------------------------"
	if grep -q 'Apache License' "$license" && grep -q 'Version 2.0, January 2004' "$license"; then
		# Debian keeps one copy of this license for every package.
		printf 'Licensed under the Apache License, Version 2.0. On Debian systems, its full text\n'
		printf 'is in /usr/share/common-licenses/Apache-2.0; it is also at\n'
		printf 'https://www.apache.org/licenses/LICENSE-2.0.\n'
	else
		cat "$license"
	fi
	if [ -f "$dir/NOTICE" ]; then
		printf '\n'
		cat "$dir/NOTICE"
	fi
done
