#!/usr/bin/env bash
# make demo: two vrrpd nodes and a client in network namespaces on one bridge, a VIP,
# a crash of the master and the takeover, then the old master back by preemption, with
# the pings the client lost at each step.
# Everything it creates is removed on exit, Ctrl-C included. Needs root and iproute2.
set -euo pipefail

VRRPD=${VRRPD:-$(cd "$(dirname "$0")/../.." && pwd)/bin/vrrpd}
P=vd$$                     # namespace prefix, unique to this run
VIP=192.0.2.100
work=$(mktemp -d /tmp/vrrpd-demo.XXXXXX)
declare -A pid=()

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ns() { ip netns exec "$P-$1" "${@:2}"; }

cleanup() {
	trap - EXIT INT TERM
	for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
	for n in "${!pid[@]}"; do wait "${pid[$n]}" 2>/dev/null || true; done
	[[ -n ${ping_pid:-} ]] && kill "$ping_pid" 2>/dev/null || true
	for n in lb1 lb2 client sw; do ip netns del "$P-$n" 2>/dev/null || true; done
	rm -rf "$work"
	echo "cleaned up"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) == 0 ]] || { echo "make demo needs root (network namespaces)"; exit 1; }
command -v ip >/dev/null || { echo "make demo needs iproute2 (apt-get install iproute2)"; exit 1; }
[[ -x $VRRPD ]] || { echo "no $VRRPD: run make build"; exit 1; }

bold "A LAN in network namespaces: lb1 192.0.2.1, lb2 192.0.2.2, client 192.0.2.10"
ip netns add "$P-sw"
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 type bridge forward_delay 0 mcast_snooping 0
ip -n "$P-sw" link set br0 up
port=0
for n in lb1 lb2 client; do
	ip netns add "$P-$n"
	port=$((port + 1))
	ip -n "$P-sw" link add "p$port" type veth peer name eth0 netns "$P-$n"
	ip -n "$P-sw" link set "p$port" master br0 up
	ip -n "$P-$n" link set lo up
	ip -n "$P-$n" link set eth0 up
done
ip -n "$P-lb1" addr add 192.0.2.1/24 dev eth0
ip -n "$P-lb2" addr add 192.0.2.2/24 dev eth0
ip -n "$P-client" addr add 192.0.2.10/24 dev eth0

config() { # node priority
	cat >"$work/$1.yaml" <<YAML
node: $1
socket: $work/$1.sock
state_file: $work/$1-vips.json
script_user: root
instances:
  - name: web
    interface: eth0
    vrid: 51
    priority: $2
    version: 3
    advert_interval: 1s
    vips: [$VIP/24]
YAML
}
config lb1 150
config lb2 100

start() { # node; ip netns exec execs vrrpd, so $! is vrrpd's own PID
	ip netns exec "$P-$1" "$VRRPD" run --config "$work/$1.yaml" >>"$work/$1.log" 2>&1 &
	pid[$1]=$!
}
show() { ns "$1" "$VRRPD" show --socket "$work/$1.sock" "${@:2}"; }
state() { show "$1" --json 2>/dev/null | sed -n 's/.*"state": "\([A-Z]*\)".*/\1/p' | head -1; }
wait_state() { # node state seconds
	local end=$((SECONDS + $3))
	until [[ $(state "$1") == "$2" ]]; do
		((SECONDS < end)) || { echo "$1 did not become $2 within $3 s"; tail -5 "$work/$1.log"; exit 1; }
		sleep 0.1
	done
}
holder() {
	for n in lb1 lb2; do ip -n "$P-$n" -br addr show dev eth0 | grep -q "$VIP/" && printf '%s ' "$n"; done
	echo
}

bold "Starting vrrpd on lb1 (priority 150) and lb2 (priority 100), VRRPv3, 1 s adverts"
cat "$work/lb1.yaml"
start lb1
start lb2
wait_state lb1 MASTER 10
wait_state lb2 BACKUP 10
bold "vrrpd show on lb1"
show lb1
bold "vrrpd show on lb2"
show lb2
echo
echo "VIP $VIP is on: $(holder)"

ping_start() {
	ip netns exec "$P-client" ping -n -D -O -i 0.05 "$VIP" >"$work/ping.log" 2>&1 &
	ping_pid=$!
}
ping_report() { # what
	kill -INT "$ping_pid"; wait "$ping_pid" 2>/dev/null || true; ping_pid=
	local sent lost
	sent=$(grep -c 'icmp_seq=' "$work/ping.log" || true)
	lost=$(grep -c 'no answer yet' "$work/ping.log" || true)
	awk -v l="$lost" -v s="$sent" -v w="$1" 'BEGIN { printf "client: %d of %d pings (every 50 ms) unanswered %s: about %.2f s without the VIP\n", l, s, w, l * 0.05 }'
}

bold "The client pings $VIP every 50 ms"
ping_start
sleep 2

bold "Crash: lb1, the master, loses power (vrrpd killed with -9, its link down)"
kill -KILL "${pid[lb1]}"
wait "${pid[lb1]}" 2>/dev/null || true
unset 'pid[lb1]'
ip -n "$P-lb1" link set eth0 down
t0=$(date +%s.%N)
wait_state lb2 MASTER 10
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "lb2 took over after %.2f s (Master_Down_Interval at priority 100, 1 s adverts: 3.61 s)\n", b - a }'
sleep 1
ping_report "during the failover"
bold "vrrpd show on lb2"
show lb2
echo
echo "VIP $VIP is on: $(holder)"

bold "lb1 comes back: link up, vrrpd starts, removes the VIP the crash left, preempts lb2"
echo "(lb1 still holds $VIP from before the crash: $(holder))"
ping_start
ip -n "$P-lb1" link set eth0 up
start lb1
wait_state lb1 MASTER 15
wait_state lb2 BACKUP 5
sleep 1
ping_report "during the hand-back"
show lb1 web
echo
echo "VIP $VIP is on: $(holder)"

bold "Stop both (SIGTERM): the master sends priority 0 and releases the VIP"
for n in lb1 lb2; do kill -TERM "${pid[$n]}"; done
for n in lb1 lb2; do wait "${pid[$n]}" || true; unset "pid[$n]"; done
echo "VIP $VIP is on: $(holder)(nowhere)"
bold "Logs of lb1"
cat "$work/lb1.log"
