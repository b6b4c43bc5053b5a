#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Two agents fed from one ETSI GS QKD 004 key stream, without the kernel
# module (handshake stores only; tests/kernel/qktlsd_feed004.sh adds the
# kernel pools and handshakes): the KME simulator with its 004 listeners,
# agent A (client link, KME master, SAE_A), agent B (server link, KME
# slave, SAE_B), one key_stream_id in both configurations.
#
#   1  both agents start and open the stream (one stream at the simulator)
#      and the key agreement session comes up
#   2  both handshake stores are filled to the high watermark
#   3  the two KMEs delivered exactly the same indices, each once per side
#   4  the agents stop cleanly and close the stream at both KMEs
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
export ASAN_OPTIONS=exitcode=86 LSAN_OPTIONS=exitcode=86
export UBSAN_OPTIONS=exitcode=86:print_stacktrace=1:halt_on_error=1

cases=4
tap_plan $cases
if [ ! -x "$qktlsd" ] || ! command -v openssl >/dev/null || ! command -v socat >/dev/null ||
   ! command -v jq >/dev/null; then
	for i in $(seq $cases); do tap_skip "feed004 $i" "qktlsd, openssl, socat or jq missing"; done
	tap_done
fi
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; sim_stop >/dev/null 2>&1; wait; rm -rf "$tmp"' EXIT

. "$top/tools/kme-sim/sim-env.sh"
mkdir -p "$tmp/sim"
if ! sim_start "$tmp/sim" --a-listen-004 127.0.0.1:0 --b-listen-004 127.0.0.1:0 ||
   [ -z "$PORT004_A" ]; then
	for i in $(seq $cases); do tap_fail "feed004 $i" "the KME simulator did not start"; done
	tap_done
fi
mkcert ca "qktls test CA" && mkcert server server.test ca &&
	mkcert client client.test ca || { cat "$tmp/req.err"; exit 1; }
# A free port for the slave's sync_listen.
for sync_port in $(shuf -i 20000-60000 -n 20); do
	(exec 3<>"/dev/tcp/127.0.0.1/$sync_port") 2>/dev/null || break
done
kme_extra='key_stream_id = "5a5a5a5a-0000-4000-8000-00000000a004";'
a_links() {
	flink c-004 client server.test client required ua master SAE_A SAE_B \
		"qkd004://localhost:$PORT004_A" sae-a "127.0.0.1:$sync_port"
}
b_links() {
	flink s-004 server client.test server required ub slave SAE_B SAE_A \
		"qkd004://localhost:$PORT004_B" sae-b
}
write_conf a a_links
write_conf b b_links "sync_listen = \"127.0.0.1:$sync_port\";"
streams() { sim_ctl stats | jq .key_streams; }
# indices KME: the indices that KME delivered, one a line, sorted.
indices() {
	sed -n "s/.*kme-$1: 004: SAE_[AB]: GET_KEY [0-9a-f-]* index \\([0-9]*\\) -> 0 .*/\\1/p" \
		"$tmp/sim/sim.log" | sort -n
}

if start_agent b && start_agent a &&
   wait_log "$tmp/a.log" "link c-004: key agreement session with the agent" &&
   wait_log "$tmp/b.log" "link s-004: key agreement session from the master" &&
   [ "$(streams)" = 1 ]; then
	tap_ok "both agents open the key stream and their key agreement session"
else
	show "$tmp/a.log" "$tmp/b.log"
	tap_fail "both agents open the key stream and their key agreement session" "streams $(streams)"
fi
if wait_log "$tmp/a.log" "link c-004: batch [0-9]+ committed, [0-9]+ keys; stores hs 10" &&
   wait_log "$tmp/b.log" "link s-004: batch [0-9]+ committed, [0-9]+ keys; stores hs 10"; then
	tap_ok "both handshake stores filled from the stream"
else
	show "$tmp/a.log" "$tmp/b.log"
	tap_fail "both handshake stores filled from the stream"
fi
ia=$(indices a) ib=$(indices b)
if [ -n "$ia" ] && [ "$ia" = "$ib" ] && [ "$(uniq <<<"$ia" | wc -l)" = "$(wc -l <<<"$ia")" ] &&
   [ "$(wc -l <<<"$ia")" -ge 10 ]; then
	tap_ok "both KMEs delivered the same $(wc -l <<<"$ia") indices, each once"
else
	tap_fail "both KMEs delivered the same indices, each once" "A: $(echo $ia) B: $(echo $ib)"
fi
if stop_agents a b && [ "$(streams)" = 0 ]; then
	tap_ok "the agents stop cleanly and close the stream at both KMEs"
else
	show "$tmp/a.log" "$tmp/b.log"
	tap_fail "the agents stop cleanly and close the stream at both KMEs" "streams $(streams)"
fi
tap_done
