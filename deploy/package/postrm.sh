#!/bin/sh
# vrrpd, after its files are removed. dpkg runs it as `postrm remove`, `postrm purge`,
# `postrm upgrade NEW-VERSION` and others; rpm as %postun with the number of vrrpd
# packages left (0 on removal, 1 on an upgrade). The accounts stay, as their files may.
set -e

case "$1" in
purge)
	# The unit file is gone, so systemctl cannot disable it: remove its link by hand.
	rm -f /etc/systemd/system/multi-user.target.wants/vrrpd.service
	;;
remove | 0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || :
fi
exit 0
