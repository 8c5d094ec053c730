#!/bin/sh
# vrrpd, before its files are removed. dpkg runs it as `prerm remove`, or `prerm
# upgrade NEW-VERSION` and others; rpm as %preun with the number of vrrpd packages left
# once it is done (0 on removal, 1 on an upgrade). Only a removal stops the service: an
# upgrade leaves vrrpd running (see postinst).
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if ! command -v systemctl >/dev/null 2>&1; then
	exit 0
fi
if [ -d /run/systemd/system ]; then
	# Masters send priority 0 and release their VIPs as they stop.
	systemctl stop vrrpd.service || :
fi
# rpm keeps no state after a removal: disable now. dpkg keeps the unit enabled until
# a purge, so that a reinstall finds it as it was (postrm).
if [ "$1" = 0 ]; then
	systemctl --no-reload disable vrrpd.service || :
fi
exit 0
