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
# With that route a lookup would wait for the resolver until it times out (seconds); an unreachable route to
# each nameserver makes name lookups fail at once, as they did without it.
for server in $(awk '$1 == "nameserver" {print $2}' /etc/resolv.conf 2>/dev/null); do
  if [[ $server == *:* ]]; then ip -6 route add unreachable "$server" 2>/dev/null || true
  else ip route add unreachable "$server" 2>/dev/null || true; fi
done
export NOOM_TEST_NETNS=1
exec "$@"
