#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Certificates renewed in place and CRLs (issue 14 item 7), in the build
# root: stock openssl s_client against a server link of the real agent
# (the TLS handshake completes; without the kernel's tls ULP the agent's
# kTLS install then fails, which no check here depends on), and two
# agents' key agreement session (no KME answers, as in
# qktlsd_sync_masters.sh).  Groups of checks:
#
#   1  the agent serves the link's certificate
#   2  SIGHUP after the certificate and key were renewed at the same paths:
#      the next handshake gets the new certificate
#   3  SIGHUP with a key that does not match the certificate (same path):
#      a clear error, the running configuration kept, the last good
#      certificate still served
#      (and a reload that removes a link leaves the other serving)
#   4  a link with a crl: a client certificate it lists is refused with an
#      error naming the revocation, another client is accepted
#   5  SIGHUP after the CRL was renewed in place listing that client too:
#      it is refused from the next handshake on
#   6  an expired CRL, a file that is no CRL, and an unparsable one are
#      errors with the file's line (--check-config), and an expired CRL
#      put in place of a good one refuses a reload
#   7  kme crl: an expired one is an error at load
#   8  the agents stop cleanly
#   9  the agents' key agreement session checks the link's crl: a master
#      whose crl lists the slave's certificate refuses it, naming the
#      revocation
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/qktlsd.sh"
qktlsd=$top/build/tests/helpers/qktlsd-san
[ -x "$qktlsd" ] || qktlsd=$top/build/bin/qktlsd
export ASAN_OPTIONS=exitcode=86 LSAN_OPTIONS=exitcode=86
export UBSAN_OPTIONS=exitcode=86:print_stacktrace=1:halt_on_error=1

cases=12
tap_plan $cases
if [ ! -x "$qktlsd" ] || [ ! -x "$app" ] || ! command -v openssl >/dev/null; then
	for i in $(seq $cases); do tap_skip "reload $i" "qktlsd, qktlsd_app or openssl missing"; done
	tap_done
fi
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$tmp"' EXIT

{ mkcert ca ca.test && mkcert srv server.test ca && mkcert cli client.test ca &&
  mkcert cli2 client.test ca && mkcrl ca crl cli2; } ||
	{ cat "$tmp/req.err"; exit 1; }
chmod 600 "$tmp"/*.key

# Agent a serves link "s", agent c link "s-crl" with the CRL.
cat >"$tmp/a.conf" <<EOT
socket = "$tmp/a.sock";
log_level = "debug";
links = ( $(link s server client.test srv off ""), $(link s-gone server client.test srv off "") );
EOT
cat >"$tmp/c.conf" <<EOT
socket = "$tmp/c.sock";
log_level = "debug";
links = ( $(link s-crl server client.test srv off "" "crl = \"$tmp/crl.pem\";") );
EOT
fp=

# sc NAME LINK CERT: stock s_client with client certificate CERT against
# LINK (of agent a, or c for s-crl); the app's lines in $tmp/NAME.out, the server certificate's
# SHA-256 fingerprint in $fp.
sc() {
	fp=
	local agent=a
	[ "$2" = s-crl ] && agent=c
	if ! start_server "$1" "$app" server --agent "$tmp/$agent.sock" --link "$2" --mode none; then
		show "$tmp/$1.out" "$tmp/$1.err"
		return 1
	fi
	timeout 60 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
		-CAfile "$tmp/ca.pem" -verify_return_error -verify_hostname server.test \
		-cert "$tmp/$3.pem" -key "$tmp/$3.key" </dev/null \
		>"$tmp/$1-sc.out" 2>"$tmp/$1-sc.err"
	wait_server || true
	fp=$(openssl x509 -in "$tmp/$1-sc.out" -noout -fingerprint -sha256 2>/dev/null)
}
fingerprint() { openssl x509 -in "$tmp/$1.pem" -noout -fingerprint -sha256; }
# hup AGENT N: SIGHUP to AGENT, wait for its Nth reload verdict.
hup() {
	eval "kill -HUP \$${1}_pid"
	wait_log "$tmp/$1.log" "SIGHUP: .*(reloaded|keeping the running configuration)" "$2"
}

# 1
fp1=$(fingerprint srv)
if start_agent a && sc c1 s cli && [ "$fp" = "$fp1" ]; then
	tap_ok "the agent serves the link's certificate"
else
	show "$tmp/a.log" "$tmp/c1-sc.err"
	tap_fail "the agent serves the link's certificate" "got '$fp', want '$fp1'"
fi

# 2: a renewal writes new files over the old ones.
cp "$tmp/srv.pem" "$tmp/srv1.pem"
cp "$tmp/srv.key" "$tmp/srv1.key"
mkcert srv server.test ca && chmod 600 "$tmp/srv.key"
fp2=$(fingerprint srv)
if [ "$fp2" != "$fp1" ] && hup a 1 &&
   grep -q "SIGHUP: .*a.conf reloaded" "$tmp/a.log" &&
   grep -q "link s: its certificate, key, CA or CRL files changed" "$tmp/a.log" &&
   sc c2 s cli && [ "$fp" = "$fp2" ]; then
	tap_ok "a certificate renewed at the same path is served after SIGHUP"
else
	show "$tmp/a.log" "$tmp/c2-sc.err"
	tap_fail "a certificate renewed at the same path is served after SIGHUP" \
		"got '$fp', want '$fp2' (old '$fp1')"
fi

# 3: the old key under the new certificate: refused, the running one kept.
cp "$tmp/srv1.key" "$tmp/srv.key"
if hup a 2 && grep -q "link s: cannot load the private key, or it does not match the certificate" \
	"$tmp/a.log" &&
   grep -q "SIGHUP: the links of .*a.conf cannot be set up: keeping the running configuration" \
	"$tmp/a.log" && sc c3 s cli && [ "$fp" = "$fp2" ]; then
	tap_ok "a key that does not match the renewed certificate: clear error, the working config kept"
else
	show "$tmp/a.log" "$tmp/c3-sc.err"
	tap_fail "a key that does not match the renewed certificate: clear error, the working config kept" \
		"got '$fp', want '$fp2'"
fi
mkcert srv server.test ca && chmod 600 "$tmp/srv.key"
hup a 3
# A reload that removes a link and keeps the other as it is.
cat >"$tmp/a.conf" <<EOT
socket = "$tmp/a.sock";
log_level = "debug";
links = ( $(link s server client.test srv off "") );
EOT
if hup a 4 && grep -q "SIGHUP: .*a.conf reloaded, 1 link$" "$tmp/a.log" &&
   sc c3b s cli && [ "$fp" = "$(fingerprint srv)" ]; then
	tap_ok "a reload that removes a link: the other one serves on"
else
	show "$tmp/a.log"
	tap_fail "a reload that removes a link: the other one serves on"
fi

# 4: the CRL lists client2, not client.
start_agent c || show "$tmp/c.log"
sc c4 s-crl cli2
if grep -q "^ERROR TLS handshake failed: peer certificate rejected: it is revoked (listed in the link's crl $tmp/crl.pem)" \
	"$tmp/c4.out" &&
   grep -q "link s-crl: handshake failed: .*revoked" "$tmp/c.log"; then
	tap_ok "a client certificate the link's crl lists is refused as revoked"
else
	show "$tmp/c4.out" "$tmp/c.log"
	tap_fail "a client certificate the link's crl lists is refused as revoked"
fi
if sc c5 s-crl cli && [ "$(val PEER "$tmp/c5.out")" = CN=client.test ] &&
   ! grep -q "rejected" "$tmp/c5.out"; then
	tap_ok "a client certificate the crl does not list is accepted"
else
	show "$tmp/c5.out" "$tmp/c5-sc.err"
	tap_fail "a client certificate the crl does not list is accepted"
fi

# 5: the CRL renewed in place, now listing client too.
mkcrl ca crl cli2 cli
sc c6 s-crl cli
before=$(val PEER "$tmp/c6.out")
if hup c 1 && grep -q "link s-crl: its certificate, key, CA or CRL files changed" "$tmp/c.log" &&
   sc c7 s-crl cli && grep -q "^ERROR .*it is revoked" "$tmp/c7.out" &&
   [ "$before" = CN=client.test ]; then
	tap_ok "a CRL renewed at the same path applies after SIGHUP"
else
	show "$tmp/c7.out" "$tmp/c.log"
	tap_fail "a CRL renewed at the same path applies after SIGHUP" "before the reload: '$before'"
fi

# 6: bad CRLs.
check() {	# CRL-FILE: --check-config on a link with that crl
	cat >"$tmp/b.conf" <<EOT
links = (
$(link s server client.test srv off "" "crl = \"$1\";")
);
EOT
	"$qktlsd" -t -c "$tmp/b.conf" >"$tmp/b.out" 2>&1
}
crl_dates="-crl_lastupdate 20200101000000Z -crl_nextupdate 20200102000000Z" mkcrl ca old cli2
echo "not a CRL" >"$tmp/junk.pem"
{ sed -n '1,3p' "$tmp/crl.pem"; echo AAAA; sed -n '$p' "$tmp/crl.pem"; } >"$tmp/cut.pem"
if ! check "$tmp/old.pem" &&
   grep -q "b.conf:[0-9]*: 'crl': $tmp/old.pem: the CRL of /CN=ca.test expired on Jan  2 00:00:00 2020 GMT" "$tmp/b.out" &&
   ! check "$tmp/junk.pem" && grep -q "b.conf:[0-9]*: 'crl': $tmp/junk.pem holds no CRL" "$tmp/b.out" &&
   ! check "$tmp/cut.pem" && grep -q "b.conf:[0-9]*: 'crl': $tmp/cut.pem: CRL 1 cannot be parsed" "$tmp/b.out"; then
	tap_ok "an expired, a non-CRL and an unparsable crl file: errors at load"
else
	show "$tmp/b.out"
	tap_fail "an expired, a non-CRL and an unparsable crl file: errors at load"
fi
cp "$tmp/old.pem" "$tmp/crl.pem"
if hup c 2 && grep -q "c.conf:[0-9]*: 'crl': $tmp/crl.pem: the CRL of /CN=ca.test expired" "$tmp/c.log" &&
   grep -q "SIGHUP: .*c.conf has errors: keeping the running configuration" "$tmp/c.log" &&
   sc c8 s-crl cli2 && grep -q "^ERROR .*it is revoked" "$tmp/c8.out"; then
	tap_ok "an expired CRL in place of a good one refuses the reload; the running CRL stays"
else
	show "$tmp/c.log" "$tmp/c8.out"
	tap_fail "an expired CRL in place of a good one refuses the reload; the running CRL stays"
fi
if stop_agents a c; then
	tap_ok "the agents stop cleanly (no sanitizer report)"
else
	show "$tmp/a.log" "$tmp/c.log"
	tap_fail "the agents stop cleanly (no sanitizer report)"
fi

# 7, 8: links fed by a KME nobody runs; agent m is the master, s the slave.
port=
for p in $(shuf -i 20000-60000 -n 20); do
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
mkcert m a.test ca && mkcert sl a.test ca && chmod 600 "$tmp"/*.key
mkcrl ca slcrl sl
flink() {	# NAME ROLE KME-ROLE SAE PEER-SAE PEER-AGENT CERT LINK-CRL KME-CRL
	cat <<EOT
	{
		name = "$1"; role = "$2"; peer_name = "a.test";
		certificate = "$tmp/$7.pem"; private_key = "$tmp/$7.key";
		ca = "$tmp/ca.pem"; ${8:+crl = \"$8\";}
		qkd = { policy = "preferred"; kme = {
			url = "https://127.0.0.1:9"; sae_id = "$4"; peer_sae_id = "$5";
			role = "$3"; certificate = "$tmp/$7.pem";
			private_key = "$tmp/$7.key"; ca = "$tmp/ca.pem";
			${9:+crl = \"$9\";} ${6:+peer_agent = \"$6\";} }; };
	}
EOT
}
cat >"$tmp/k.conf" <<EOT
links = ( $(flink k client master SAE_A SAE_B "127.0.0.1:1" m "" "$tmp/old.pem") );
EOT
if ! "$qktlsd" -t -c "$tmp/k.conf" >"$tmp/k.out" 2>&1 &&
   grep -q "k.conf:[0-9]*: 'crl': $tmp/old.pem: the CRL of /CN=ca.test expired" "$tmp/k.out"; then
	tap_ok "an expired kme crl is an error at load"
else
	show "$tmp/k.out"
	tap_fail "an expired kme crl is an error at load"
fi
cat >"$tmp/s.conf" <<EOT
socket = "$tmp/s.sock";
sync_listen = "127.0.0.1:$port";
links = ( $(flink s-a server slave SAE_B SAE_A "" sl) );
EOT
cat >"$tmp/m.conf" <<EOT
socket = "$tmp/m.sock";
links = ( $(flink m-a client master SAE_A SAE_B "127.0.0.1:$port" m "$tmp/slcrl.pem" "$tmp/slcrl.pem") );
EOT
if start_agent s && start_agent m &&
   wait_log "$tmp/m.log" "link m-a: TLS with the agent at 127.0.0.1:$port failed \(verify: certificate revoked\)" &&
   ! grep -q "key agreement session from the master agent" "$tmp/s.log"; then
	tap_ok "the key agreement session refuses a peer the link's crl lists"
else
	show "$tmp/m.log" "$tmp/s.log"
	tap_fail "the key agreement session refuses a peer the link's crl lists"
fi
tap_done
