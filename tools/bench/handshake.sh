#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# handshake.sh [qktls-bench-handshake client OPTIONS]: the handshake
# benchmark in the VM (tools/bench/run-handshake).
#
#   root netns: two qktls-kme-sim pairs, "kme0" answering at once and
#     "kme100" answering every request after 100 ms (its latency fault)
#       | 10.79.1.1 <-> 10.79.1.2          | 10.79.2.1 <-> 10.79.2.2
#   qkhsA netns --- veth 10.79.0.1 <-> 10.79.0.2 --- qkhsB netns
#     qktlsd (client links, master SAEs)            qktlsd (server links, slaves)
#     qktls-bench-handshake client                  one server per target
#
# Links of both agents (TLS_AES_256_GCM_SHA384, mutual certificates):
#   plain    QKD policy off: X25519MLKEM768
#   file     QKD hybrid, keys from a key file (no KME at all)
#   kme0     QKD hybrid, policy required, stores fed from kme0
#   kme100   QKD hybrid, policy required, stores fed from kme100
# and a plain OpenSSL server and client with the same certificates, suite
# and group as the baseline.  The KME-fed stores are full before the first
# handshake, so no handshake waits on a KME.  Writes build/bench/
# handshake.csv (a row per run), handshake-summary.csv and handshake.svg.
set -u
. "$(dirname "$0")/lib.sh"
. "$bench_top/tests/lib/qktlsd.sh"
. "$bench_top/tools/kme-sim/sim-env.sh"
qktlsd=$bench_bin/qktlsd
hs=$bench_bin/qktls-bench-handshake
tmp=$(mktemp -d /tmp/qktls-bench-hs.XXXXXX)
pids=()
sims=()
cleanup() {
	for p in "${pids[@]}" "${sims[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del qkhsA 2>/dev/null
	ip netns del qkhsB 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# fail WHAT [FILE...]: say why, show the files, stop.
fail() {
	echo "handshake: $1" >&2
	shift
	for f in "$@"; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
	exit 1
}
A() { ip netns exec qkhsA "$@"; }
B() { ip netns exec qkhsB "$@"; }

bench_netns qkhsA qkhsB 10.79.0.1 10.79.0.2 &&
	ip link add kme-ha type veth peer name kme0 netns qkhsA &&
	ip addr add 10.79.1.1/24 dev kme-ha && ip link set kme-ha up &&
	ip -n qkhsA addr add 10.79.1.2/24 dev kme0 && ip -n qkhsA link set kme0 up &&
	ip link add kme-hb type veth peer name kme0 netns qkhsB &&
	ip addr add 10.79.2.1/24 dev kme-hb && ip link set kme-hb up &&
	ip -n qkhsB addr add 10.79.2.2/24 dev kme0 && ip -n qkhsB link set kme0 up ||
	fail "cannot make the namespaces"

# Certificates: the link's (tests/lib/qktlsd.sh) and the KMEs' (mkcerts,
# with the addresses the agents reach the KMEs at).
mkcert ca "qktls bench CA" && mkcert server server.bench ca &&
	mkcert client client.bench ca || fail "openssl could not make certificates" "$tmp/req.err"
"$bench_top/tools/kme-sim/mkcerts" "$tmp/pki" IP:10.79.1.1 IP:10.79.2.1 >/dev/null 2>&1 ||
	fail "mkcerts failed"

# Static keys for the link "file": a 32-hex-digit reference and a 32-byte key a line.
nkeys=4000
openssl rand -hex $((48 * nkeys)) | fold -w 96 |
	awk '{ print substr($0, 1, 32), substr($0, 33) }' >"$tmp/a.keys" &&
	cp "$tmp/a.keys" "$tmp/b.keys" && chmod 600 "$tmp/a.keys" "$tmp/b.keys" &&
	[ "$(wc -l <"$tmp/a.keys")" = $nkeys ] || fail "cannot make the key file"

# The stores of the KME-fed links: a run of 64 clients takes 128 keys at
# once, more than the feeder refills meanwhile, and concurrent handshakes
# that all found a key available before the last was taken fail under
# policy required without waiting qkd.wait_ms (seen with 256-key stores):
# room for several runs.
low=768 high=1024
# conf HOST: the agent's configuration (A: client links and master SAEs).
conf() {
	local role=client peer=server.bench cert=client sae=a peer_sae=b kme_role=master ip=10.79.1.1 extra=
	if [ "$1" = b ]; then
		role=server peer=client.bench cert=server sae=b peer_sae=a kme_role=slave ip=10.79.2.1
		extra='sync_listen = "10.79.0.2:7443";'
	fi
	# kme LATENCY: the qkd group of a link fed by that KME pair.
	kme() {
		local port=$((8440 + $1 / 100)) peer_agent=
		[ "$role" = client ] && peer_agent="peer_agent = \"10.79.0.2:7443\";"
		cat <<EOT
qkd = { policy = "required"; low_watermark = $low; high_watermark = $high; wait_ms = 30000;
	kme = { url = "https://$ip:$port"; sae_id = "SAE_${sae^^}$1"; peer_sae_id = "SAE_${peer_sae^^}$1";
		role = "$kme_role"; certificate = "$tmp/pki/sae-$sae.pem";
		private_key = "$tmp/pki/sae-$sae.key"; ca = "$tmp/pki/ca.pem"; $peer_agent }; };
EOT
	}
	cat <<EOT
socket = "$tmp/$1.sock";
log_level = "debug";
handshake_timeout = 60;
max_handshakes = 256;
$extra
links = (
$(link plain "$role" "$peer" "$cert" off "" 'cipher_suites = [ "TLS_AES_256_GCM_SHA384" ];'),
$(link file "$role" "$peer" "$cert" preferred "$1.keys" 'cipher_suites = [ "TLS_AES_256_GCM_SHA384" ]; key_update = "standard";'),
	{ name = "kme0"; role = "$role"; peer_name = "$peer";
	  certificate = "$tmp/$cert.pem"; private_key = "$tmp/$cert.key"; ca = "$tmp/ca.pem";
	  cipher_suites = [ "TLS_AES_256_GCM_SHA384" ];
	  $(kme 0) },
	{ name = "kme100"; role = "$role"; peer_name = "$peer";
	  certificate = "$tmp/$cert.pem"; private_key = "$tmp/$cert.key"; ca = "$tmp/ca.pem";
	  cipher_suites = [ "TLS_AES_256_GCM_SHA384" ];
	  $(kme 100) }
);
EOT
}
conf a >"$tmp/a.conf" && conf b >"$tmp/b.conf" || fail "cannot write the configurations"
# Two KME pairs; kme100 answers every request after 100 ms.  Their SAEs
# have IDs of their own (the agents' key agreement names a link by them),
# mapped from the CNs of the SAE certificates (SAE_A, SAE_B).
for s in 0 100; do
	mkdir -p "$tmp/kme$s"
	ln -s "$tmp/pki" "$tmp/kme$s/pki"
	port=$((8440 + s / 100))
	sim_start "$tmp/kme$s" --a-listen "10.79.1.1:$port" --b-listen "10.79.2.1:$port" \
		--max-key-count 4000 --a-sae "SAE_A$s" --b-sae "SAE_B$s" \
		--map "SAE_A=SAE_A$s" --map "SAE_B=SAE_B$s" ||
		fail "the KME simulator kme$s did not start" "$tmp/kme$s/sim.log"
	sims+=("$SIM_PID")
	[ "$s" = 0 ] || [ "$(sim_ctl fault all "latency=$s")" = ok ] ||
		fail "cannot arm kme$s's latency fault"
done

start_agent_in() {	# NS NAME
	local line=
	mkfifo "$tmp/$2.ready"
	ip netns exec "$1" "$qktlsd" -c "$tmp/$2.conf" --ready-fd 3 3>"$tmp/$2.ready" 2>"$tmp/$2.log" &
	pids+=($!)
	read -r -t 60 line <"$tmp/$2.ready"
	[ "$line" = READY ]
}
start_agent_in qkhsB b || fail "qktlsd in qkhsB did not start" "$tmp/b.log"
start_agent_in qkhsA a || fail "qktlsd in qkhsA did not start" "$tmp/a.log"
# Full stores: both agents logged a batch that left every store of the
# KME-fed links at the high watermark.
for l in kme0 kme100; do
	for h in a b; do
		# On the log's growth; a busy emulated host may take minutes.
		grep -m1 -qE "link $l: batch [0-9]+ committed, [0-9]+ keys; stores hs $high c2s $high s2c $high" \
			< <(timeout 600 tail -n +1 -f "$tmp/$h.log") ||
			fail "link $l of agent $h did not fill its stores from the KMEs" \
				"$tmp/$h.log" "$tmp/kme0/sim.log" "$tmp/kme100/sim.log"
	done
done

# serve NAME PORT ARGS...: a server in qkhsB, once it listens.
serve() {
	local name=$1 port=$2 line=
	shift 2
	mkfifo "$tmp/$name.fifo"
	B "$hs" server --addr 10.79.0.2 --port "$port" "$@" >"$tmp/$name.fifo" 2>"$tmp/$name.err" &
	pids+=($!)
	exec {fd}<"$tmp/$name.fifo"
	read -r -t 60 -u "$fd" line
	exec {fd}<&-
	[ "$line" = "LISTEN $port" ] || fail "the $name server did not start" "$tmp/$name.err"
}
serve openssl 4400 --openssl --cert "$tmp/server.pem" --key "$tmp/server.key" --ca "$tmp/ca.pem"
serve plain 4401 --agent "$tmp/b.sock" --link plain
serve file 4402 --agent "$tmp/b.sock" --link file
serve kme0 4403 --agent "$tmp/b.sock" --link kme0
serve kme100 4404 --agent "$tmp/b.sock" --link kme100

mkdir -p "$bench_out"
requests() { CTL=$tmp/kme$1/ctl sim_ctl stats | jq .requests; }
r0=$(requests 0) r100=$(requests 100)
echo "handshake: client in netns qkhsA, servers in qkhsB, veth 10.79.0.0/24; agents' stores"
echo "full ($high keys a store); KME requests so far: kme0 $r0, kme100 $r100 (latency 100 ms)"
A "$hs" client --addr 10.79.0.2 --agent "$tmp/a.sock" \
	--cert "$tmp/client.pem" --key "$tmp/client.key" --ca "$tmp/ca.pem" --peer server.bench \
	--target "OpenSSL X25519MLKEM768 (baseline)=openssl:4400" \
	--target "qktlsd X25519MLKEM768=plain:plain:4401" \
	--target "qktlsd QKD hybrid key file=qkd:file:4402" \
	--target "qktlsd QKD hybrid KME 0 ms=qkd:kme0:4403" \
	--target "qktlsd QKD hybrid KME 100 ms=qkd:kme100:4404" \
	--unavailable "on-demand KME 0 ms=needs on-demand KME fetch (issue 15)" \
	--unavailable "on-demand KME 100 ms=needs on-demand KME fetch (issue 15)" \
	--csv "$bench_out/handshake.csv" --summary "$bench_out/handshake-summary.csv" "$@" ||
	fail "the client failed" "$tmp/a.log" "$tmp/b.log" "$tmp"/*.err
echo
echo "KME requests during the handshakes (the feeders' refills, none in a handshake):" \
	"kme0 $(( $(requests 0) - r0 )), kme100 $(( $(requests 100) - r100 ))"
# The plot: median latency per target, a group per number of clients.
awk -F, 'NR > 1 && $5 != "" {
		if (!($4 in seen)) { seen[$4] = 1; t[++nt] = $4 }
		if (!($3 in cs)) { cs[$3] = 1; c[++nc] = $3 }
		v[$3, $4] = $11
	}
	END {
		printf "clients"
		for (j = 1; j <= nt; j++) printf " \"%s\"", t[j]
		printf "\n"
		for (i = 1; i <= nc; i++) {
			printf "%s", c[i]
			for (j = 1; j <= nt; j++) printf " %s", v[c[i], t[j]]
			printf "\n"
		}
	}' "$bench_out/handshake-summary.csv" >"$bench_out/handshake.dat"
bench_plot "$bench_out/handshake.svg" \
	"handshake latency through a veth, $(uname -r), ${QKTLS_BENCH_ACCEL:-?}: median ms (concurrent clients)" \
	"ms" "$bench_out/handshake.dat" "$(awk -F, 'NR > 1 { print $4 }' "$bench_out/handshake-summary.csv" | sort -u | wc -l)" || exit 1
echo "handshake: figures in build/bench/handshake.csv, handshake-summary.csv, handshake.svg"
