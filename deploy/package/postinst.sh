#!/bin/sh
# vrrpd, after the files are in place. dpkg runs it as `postinst configure OLD-VERSION`
# (OLD-VERSION empty on a first install) or `postinst abort-*`; rpm as %post with the
# number of vrrpd packages installed once it is done (1 on a first install, 2 on an
# upgrade). It runs again safely: every step checks or is idempotent.
#
# It never restarts a running vrrpd: a restart of a master moves every VIP twice, to a
# backup and back. It says how to restart instead.
set -e

case "$1" in
configure) if [ -z "$2" ]; then mode=install; else mode=upgrade; fi ;;
1) mode=install ;;
[0-9]*) mode=upgrade ;;
*) mode=other ;;
esac

# The group that may use the control socket, and the user hooks run as, from the
# sysusers file; by hand where systemd-sysusers is missing.
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers vrrpd.conf
else
	getent group vrrpd >/dev/null || groupadd --system vrrpd
	getent passwd vrrpd-script >/dev/null ||
		useradd --system --user-group --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin --comment "vrrpd scripts" vrrpd-script
fi

if ! command -v systemctl >/dev/null 2>&1; then
	exit 0
fi
# Only where systemd runs: in a chroot or a container being built there is none.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || :
fi

if [ "$mode" = install ]; then
	# Enabled, not started: the unit starts once /etc/vrrpd/vrrpd.yaml exists.
	systemctl enable vrrpd.service || :
	if [ ! -s /etc/vrrpd/vrrpd.yaml ]; then
		cat <<'MSG'
vrrpd is installed and enabled. To start it:
  cp /etc/vrrpd/vrrpd.yaml.example /etc/vrrpd/vrrpd.yaml   # then edit it
  vrrpd check
  systemctl start vrrpd
MSG
	fi
fi

if [ "$mode" = upgrade ] && systemctl is-active --quiet vrrpd.service 2>/dev/null; then
	cat <<'MSG'
vrrpd was not restarted: the running daemon is the old version until it is.
A restart of a master hands its VIPs to a backup, then takes them back when it
preempts. To move no VIP, restart the backups first:
  1. vrrpd show                  # the state of each instance on this node
  2. where every instance is BACKUP (or after upgrading the backups):
       systemctl restart vrrpd
  3. the master last, at a quiet moment: systemctl restart vrrpd
     (it sends priority 0, so a backup takes over within Skew_Time)
MSG
fi
exit 0
