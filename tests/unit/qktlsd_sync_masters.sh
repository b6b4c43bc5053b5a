#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A slave SAE with two masters (issue 14 item 8): agent S has two slave
# links for slave SAE SAE_B, one with master SAE SAE_A and one with SAE_C;
# agents A and C are the masters and connect to S's sync_listen.  Each
# master names its own SAE in its ClientHello (SYNC_EXT_MASTER_SAE), so S
# picks the link of that SAE pair and both key agreement sessions come up
# (before, both landed on one link, the one registered last, and the other
# master was refused with "no link for this SAE pair").  No KME answers and no module is loaded:
# only the sessions are tested (tests/kernel/qktlsd_feed.sh moves keys).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
qktlsd=$top/build/tests/helpers/qktlsd-san
[ -x "$qktlsd" ] || qktlsd=$top/build/bin/qktlsd
export ASAN_OPTIONS=exitcode=86 LSAN_OPTIONS=exitcode=86
export UBSAN_OPTIONS=exitcode=86:print_stacktrace=1:halt_on_error=1

cases=4
tap_plan $cases
if [ ! -x "$qktlsd" ] || ! command -v openssl >/dev/null; then
	for i in $(seq $cases); do tap_skip "masters $i" "qktlsd or openssl missing"; done
	tap_done
fi
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$tmp"' EXIT

mkcert a a.test || { cat "$tmp/req.err"; exit 1; }
cp "$tmp/a.pem" "$tmp/ca.pem"
# A port nothing listens on (nothing answers a connection to it).
for port in $(shuf -i 20000-60000 -n 20); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done

# flink NAME ROLE KME-ROLE SAE PEER-SAE [PEER-AGENT]: a link fed by a KME
# nobody runs.
flink() {
	cat <<EOT
	{
		name = "$1"; role = "$2"; peer_name = "a.test";
		certificate = "$tmp/a.pem"; private_key = "$tmp/a.key";
		ca = "$tmp/ca.pem";
		qkd = { policy = "preferred"; kme = {
			url = "https://127.0.0.1:9"; sae_id = "$4"; peer_sae_id = "$5";
			role = "$3"; certificate = "$tmp/a.pem";
			private_key = "$tmp/a.key"; ca = "$tmp/ca.pem";
			${6:+peer_agent = \"$6\";} }; };
	}
EOT
}
cat >"$tmp/s.conf" <<EOT
socket = "$tmp/s.sock";
log_level = "debug";
sync_listen = "127.0.0.1:$port";
links = (
$(flink s-a server slave SAE_B SAE_A),
$(flink s-c server slave SAE_B SAE_C)
);
EOT
for m in a c; do
	M=$(echo "$m" | tr a-z A-Z)
	cat >"$tmp/m$m.conf" <<EOT
socket = "$tmp/m$m.sock";
links = (
$(flink "m-$m" client master "SAE_$M" SAE_B "127.0.0.1:$port")
);
EOT
done

if start_agent s && start_agent ma && start_agent mc; then
	tap_ok "the slave agent and two master agents start"
else
	show "$tmp/s.log" "$tmp/ma.log" "$tmp/mc.log"
	tap_fail "the slave agent and two master agents start"
fi
if wait_log "$tmp/s.log" "link s-a: key agreement session from the master agent"; then
	tap_ok "master SAE_A's session reaches link s-a"
else
	show "$tmp/s.log" "$tmp/ma.log"
	tap_fail "master SAE_A's session reaches link s-a"
fi
if wait_log "$tmp/s.log" "link s-c: key agreement session from the master agent"; then
	tap_ok "master SAE_C's session reaches link s-c, not s-a"
else
	show "$tmp/s.log" "$tmp/mc.log"
	tap_fail "master SAE_C's session reaches link s-c, not s-a"
fi
if stop_agents ma mc s && ! grep -q "no link for this SAE pair\|asked for SAE pair" \
	"$tmp/s.log" "$tmp/ma.log" "$tmp/mc.log"; then
	tap_ok "the agents stop cleanly; no session was refused for its SAE pair"
else
	show "$tmp/s.log" "$tmp/ma.log" "$tmp/mc.log"
	tap_fail "the agents stop cleanly; no session was refused for its SAE pair"
fi
tap_done
