#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer on qktlsd's parsers: the agents' key agreement, one target per
# message (sync_hello, sync_welcome, sync_offer, sync_commit, sync_error,
# sync_reconcile:
# userspace/qktlsd/fuzz_sync.c, whose header describes the input), and the
# configuration file (qktlsd_config: userspace/qktlsd/fuzz_config.c), each
# for QKTLS_FUZZ_SECONDS (default 5) from seeds written here, or for
# QKTLS_FUZZ_RUNS executions (make fuzz).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/unit/fuzz.bash"
secs=5

# --- key agreement messages ----------------------------------------------------
be8() { printf "\\x$(printf %02x $(($1 & 255)))"; }
be16() { be8 $(($1 >> 8)); be8 "$1"; }
be32() { be16 $(($1 >> 16)); be16 $(($1 & 65535)); }
str8() { be8 ${#1}; printf %s "$1"; }
# chunk [TYPE]: the body on stdin as a chunk (TYPE: a raw message of TYPE).
chunk() {
	local b=$fuzz_work/chunk raw=0
	[ -n "${1:-}" ] && raw=0x8000
	{ [ -n "${1:-}" ] && be8 "$1"; cat; } >"$b"
	be16 $(($(stat -c %s "$b") | raw))
	cat "$b"
}
kick() { printf '\xff\xff'; }
hello() { be8 2; be8 "${1:-7}"; str8 SAE_A; str8 SAE_B; be16 32; }
levels() { be32 "$1"; be32 "$2"; be32 "$3"; }
welcome() { be8 2; be8 "${1:-7}"; levels 0 0 0; }
# held STORE MORE FIRST N / missing STORE FIRST N: fake keys FIRST .. FIRST+N-1
ids() { local i; for ((i = $1; i < $1 + $2; i++)); do be32 $i; printf '\0\0\x40\0\x80\0\0\0'; be32 $i; done; }
held() { be8 "$1"; be8 "$2"; be16 "$4"; ids "$3" "$4"; }
missing() { be8 "$1"; be16 "$3"; ids "$2" "$3"; }
# The peer's empty HELD (type 9) or MISSING (10) for c2s and s2c: a server
# looks c2s up and takes s2c, a client the other way round.
rec_server() { held 1 0 0 0 | chunk 9; missing 2 0 0 | chunk 10; }
rec_client() { missing 1 0 0 | chunk 10; held 2 0 0 0 | chunk 9; }
# offer SEQ FIRST STORE...: keys FIRST, FIRST+1, ... to STOREs
offer() {
	local seq=$1 id=$2
	shift 2
	be32 "$seq"
	be16 $#
	for s in "$@"; do
		be8 "$s"
		printf '%08x-0000-4000-8000-%012x' "$id" "$id"
		id=$((id + 1))
	done
}
error() { be16 "$1"; printf %s "$2"; }
nak() { be32 "$1"; be16 "$2"; printf %s "$3"; }
# seed TARGET NAME SETUP: a seed of the setup byte and the chunks on stdin
seed() {
	{ be8 "$3"; cat; } >"$(fuzz_seeds "$1")/$2"
}

# Setup byte: 1 client, 2 c2s kept, 4 s2c kept, 8/16 KME answer, 32 master,
# 64/128 c2s/s2c in the leading valid HELLO or WELCOME.
seed sync_hello all 0x06 < <(hello | chunk; rec_server; offer 1 0 0 1 2 | chunk 4;
			      be32 1 | chunk 7)
seed sync_hello hs-only 0x01 < <(hello 1 | chunk; kick; offer 1 0 0 | chunk 4)
seed sync_welcome all 0x26 < <(welcome | chunk; rec_server; levels 1 2 3 | chunk 3;
				be32 1 | chunk 5)
seed sync_welcome none 0x21 < <(welcome 1 | chunk; kick; levels 4 4 4 | chunk)
# The pools hold fake keys 0 to 299 (c2s 1 h old, s2c 2 h): a server looks
# c2s up (HELD), a client s2c; the takers' side gets MISSING.
seed sync_reconcile looker 0xc6 < <(held 1 1 0 240 | chunk; held 1 0 400 5 | chunk)
seed sync_reconcile taker 0xc7 < <(missing 1 3 2 | chunk; missing 1 0 0 | chunk)
seed sync_reconcile master 0xe6 < <(held 1 0 10 20 | chunk; missing 2 5 1 | chunk)
seed sync_offer batches 0xc6 < <(offer 1 0 0 1 2 | chunk; be32 1 | chunk 7;
				 offer 2 3 0 0 | chunk; be32 2 | chunk 7)
seed sync_offer nak 0x0e < <(offer 1 0 0 | chunk; offer 2 1 0 | chunk)
seed sync_offer client 0x47 < <(offer 1 0 1 0 1 | chunk; kick; be32 1 | chunk 7)
seed sync_commit slave 0xc6 < <(be32 1 | chunk; offer 2 3 0 1 2 | chunk 4; be32 2 | chunk)
seed sync_commit master 0xe6 < <(be32 1 | chunk; levels 0 0 0 | chunk 3; be32 2 | chunk)
seed sync_error slave 0x06 < <(error 3 "malformed OFFER" | chunk)
seed sync_error master 0x26 < <(nak 1 5 "KME unavailable" | chunk; be32 2 | chunk 5)

# --- the configuration -----------------------------------------------------------
cfg=$(fuzz_seeds qktlsd_config)
cat >"$cfg/client" <<'EOT'
links = ( { name = "l1"; role = "client"; peer_name = "b.test";
	certificate = "/dev/null"; private_key = "/dev/null"; ca = "/dev/null";
	qkd = { policy = "off"; }; } );
EOT
cat >"$cfg/kme" <<'EOT'
socket = "/run/qktls/agent.sock"; socket_mode = 0660; log_level = "debug";
sync_listen = "127.0.0.1:7390"; max_handshakes = 8; handshake_timeout = 5;
links = (
	{ name = "a"; role = "server"; peer_name = "a.test"; mutual = true;
	  certificate = "/dev/null"; private_key = "/dev/null"; ca = "/dev/null";
	  peer_addresses = [ "10.0.0.1", "::1" ]; allowed_users = [ "root" ];
	  allowed_groups = [ "root" ]; x25519 = false;
	  cipher_suites = [ "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256" ];
	  key_update = "qkd"; rekey_bytes = 17179869184L; rekey_seconds = 3600;
	  qkd = { policy = "required"; pool = "pa"; low_watermark = 8;
		  high_watermark = 32; key_size = 32; wait_ms = 100;
		  kme = { url = "https://kme-b:8443"; sae_id = "SAE_B";
			  peer_sae_id = "SAE_A"; role = "slave";
			  certificate = "/dev/null"; private_key = "/dev/null";
			  ca = "/dev/null"; timeout_ms = 2000; }; }; },
	{ name = "b"; role = "client"; peer_name = "b.test";
	  certificate = "/dev/null"; private_key = "/dev/null"; ca = "/dev/null";
	  qkd = { policy = "preferred";
		  kme = { url = "https://kme-a:8443"; sae_id = "SAE_A";
			  peer_sae_id = "SAE_B"; role = "master";
			  peer_agent = "[::1]:7390"; certificate = "/dev/null";
			  private_key = "/dev/null"; ca = "/dev/null"; }; }; },
	{ name = "c"; role = "client"; peer_name = "c.test";
	  certificate = "/dev/null"; private_key = "/dev/null"; ca = "/dev/null";
	  key_update = "standard";
	  qkd = { policy = "preferred"; key_file = "/dev/null"; }; } );
EOT

tap_plan 7
for t in sync_hello sync_welcome sync_offer sync_commit sync_error sync_reconcile; do
	fuzz_run "$t" "$secs" -max_len=8192 -dict="$top/userspace/qktlsd/fuzz_sync.dict"
done
fuzz_run qktlsd_config "$secs" -max_len=4096 -dict="$top/userspace/qktlsd/fuzz_config.dict"
tap_done
