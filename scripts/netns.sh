#!/usr/bin/env bash
# Inside a fresh network namespace: bring up loopback and a veth pair with private addresses (aioice
# gathers no loopback candidates, so WebRTC peers need a non-loopback interface), then run "$@".
# Nothing outside this namespace is reachable from here: the default route points into the veth, whose
# other end is in this namespace too (Firefox gathers no ICE candidates at all without a default route).
set -euo pipefail
ip link set lo up
ip link add noom0 type veth peer name noom1
ip addr add 10.99.0.1/24 dev noom0
ip addr add 10.99.0.2/24 dev noom1
ip link set noom0 up
ip link set noom1 up
ip route add default dev noom0
export NOOM_TEST_NETNS=1
exec "$@"
