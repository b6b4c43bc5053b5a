#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# qktlsd --check-config: a complete good file passes; every class of bad
# input fails with "FILE:LINE: message" naming the offending setting's line
# (syntax errors, unknown settings, wrong types, missing settings, bad
# values, unreadable files, unknown users, duplicate links, and any attempt
# to configure psk_ke, refused with the reason).  Certificates are made at
# test time in a temporary directory.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/tap.sh"
# The sanitizer build when there is one (leaks, UB on every error path).
qktlsd=$top/build/tests/helpers/qktlsd-san
[ -x "$qktlsd" ] || qktlsd=$top/build/bin/qktlsd

cases=53
tap_plan $cases
if [ ! -x "$qktlsd" ] || ! command -v openssl >/dev/null; then
	for i in $(seq $cases); do tap_skip "config $i" "qktlsd or openssl missing"; done
	tap_done
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=a.test \
	-days 1 2>"$tmp/req.err" || { cat "$tmp/req.err"; exit 1; }
(umask 077
 echo "$(openssl rand -hex 16) $(openssl rand -hex 32)" >"$tmp/qkd.keys"
 echo "$(openssl rand -hex 16) $(openssl rand -hex 32)" >"$tmp/qkd2.keys")

# good_link: the opening 8 lines of a server link (an opening brace and 7
# settings); the cases add lines after it and close it.
good_link() {
	cat <<EOT
	{
		name = "l1";
		role = "server";
		peer_name = "b.test";
		certificate = "$tmp/cert.pem";
		private_key = "$tmp/key.pem";
		ca = "$tmp/cert.pem";
		qkd = { policy = "preferred"; key_file = "$tmp/qkd.keys"; };
EOT
}

# expect_error DESC LINE REGEX FILE-CONTENT: --check-config fails and prints
# "conf:LINE: ..." matching REGEX.
n=0
expect_error() {
	local desc=$1 line=$2 re=$3 f
	n=$((n + 1))
	f=$tmp/c$n.conf
	printf '%s\n' "$4" >"$f"
	if "$qktlsd" --check-config -c "$f" >"$tmp/out" 2>&1; then
		sed 's/^/# /' "$tmp/out"
		tap_fail "$desc" "accepted a bad file"
	elif grep -Eq -- "$f:$line: .*$re" "$tmp/out"; then
		tap_ok "$desc"
	else
		sed 's/^/# /' "$tmp/out"
		tap_fail "$desc" "expected '$f:$line: ...$re'"
	fi
}

# 1: a complete file with every setting passes.
cat >"$tmp/good.conf" <<EOT
socket = "$tmp/qktlsd.sock";
socket_mode = 0660;
log_level = "debug";
log_target = "stderr";
handshake_timeout = 5;
max_handshakes = 8;
qkd_group_id = 0xFE37;
sync_listen = "[::1]:7300";
links = (
$(good_link)
		peer_addresses = [ "127.0.0.1", "::1" ];
		mutual = true;
		cipher_suites = [ "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256" ];
		x25519 = true;
		allowed_users = [ "root" ];
		allowed_groups = [ "root" ];
		key_update = "standard";
		rekey_bytes = 17179869184L;
		rekey_seconds = 3600;
	},
	{
		name = "l2";
		role = "client";
		peer_name = "b.test";
		certificate = "$tmp/cert.pem";
		private_key = "$tmp/key.pem";
		ca = "$tmp/cert.pem";
		qkd = {
			policy = "required";
			pool = "pool-name-of-27-characters";
			low_watermark = 8;
			high_watermark = 32;
			key_size = 32;
			wait_ms = 200;
			unauth_keys_per_peer = 5;
			unauth_keys_per_link = 0;
			kme = {
				url = "https://127.0.0.1:8443";
				sae_id = "SAE_A";
				peer_sae_id = "SAE_B";
				role = "master";
				certificate = "$tmp/cert.pem";
				private_key = "$tmp/key.pem";
				ca = "$tmp/cert.pem";
				timeout_ms = 2000;
				peer_agent = "b.test:7300";
			};
		};
	},
	{
		name = "l3";
		role = "server";
		peer_name = "c.test";
		certificate = "$tmp/cert.pem";
		private_key = "$tmp/key.pem";
		ca = "$tmp/cert.pem";
		qkd = {
			policy = "preferred";
			kme = {
				url = "https://127.0.0.1:8443";
				sae_id = "SAE_C";
				peer_sae_id = "SAE_D";
				role = "slave";
				certificate = "$tmp/cert.pem";
				private_key = "$tmp/key.pem";
				ca = "$tmp/cert.pem";
			};
		};
	}
);
EOT
tap_check "a complete configuration passes --check-config" \
	"$qktlsd" --check-config -c "$tmp/good.conf"

# 2: the smallest useful file.
printf 'links = (\n%s\n\t}\n);\n' "$(good_link)" >"$tmp/min.conf"
tap_check "a minimal configuration passes" "$qktlsd" -t -c "$tmp/min.conf"

# 3: a missing file.
if "$qktlsd" -t -c "$tmp/nonexistent.conf" >"$tmp/out" 2>&1; then
	tap_fail "a missing file is refused"
elif grep -q "nonexistent.conf: cannot read: No such file" "$tmp/out"; then
	tap_ok "a missing file is refused"
else
	sed 's/^/# /' "$tmp/out"; tap_fail "a missing file is refused"
fi

L="$(good_link)"
expect_error "syntax error with its line" 3 "syntax error" \
"log_level = \"info\";
links = (
  { name = \"x\" role }
);"
expect_error "unknown global setting" 2 "unknown setting 'sockets' in the global section" \
"log_level = \"info\";
sockets = \"/tmp/x\";
links = ( $L } );"
expect_error "unknown link setting" 10 "unknown setting 'peer_nmae' in link 'l1'" \
"links = (
$L
		peer_nmae = \"x\";
	}
);"
expect_error "psk_ke as a link setting is refused with the reason" 10 \
	"'psk_ke': psk_ke \\(PSK-only key exchange\\) cannot be configured: every qktls link authenticates with X.509 certificates" \
"links = (
$L
		psk_ke = true;
	}
);"
expect_error "psk as the QKD policy is refused with the reason" 4 \
	"policy 'psk_ke': psk_ke \\(PSK-only key exchange\\) cannot be configured" \
"links = ( {
	name = \"l1\"; role = \"server\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"psk_ke\"; };
} );"
expect_error "a psk setting in the qkd group is refused" 5 \
	"'psk_dhe_ke': psk_ke \\(PSK-only key exchange\\) cannot be configured" \
"links = ( {
	name = \"l1\"; role = \"server\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"preferred\";
		psk_dhe_ke = true; };
} );"
expect_error "mutual = false under a QKD policy is refused with the reason" 10 \
	"'mutual = false' with QKD policy \"preferred\": a QKD key must never be the client's authentication" \
"links = (
$L
		mutual = false;
	}
);"
expect_error "a budget of keys for unauthenticated clients out of range" 3 \
	"'unauth_keys_per_peer' = 100001 is out of range \\(0 to 100000\\)" \
"links = ( {
	name = \"l1\"; role = \"server\"; peer_name = \"b\";
	qkd = { policy = \"off\"; unauth_keys_per_peer = 100001; };
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
} );"
req_link() {	# a server link under policy required, then line 5 and on
	cat <<EOT
links = ( {
	name = "l1"; role = "server"; peer_name = "b";
	certificate = "$tmp/cert.pem"; private_key = "$tmp/key.pem"; ca = "$tmp/cert.pem";
	qkd = { policy = "required"; key_file = "$tmp/qkd.keys"; };
EOT
}
expect_error "plain X25519 under policy required is refused" 5 \
	"'x25519 = true' with QKD policy \"required\": plain X25519 carries no QKD key" \
"$(req_link)
	x25519 = true;
} );"
expect_error "qkd_mlkem768 on a client link is refused" 5 \
	"'qkd_mlkem768' applies to server links only" \
"links = ( {
	name = \"l1\"; role = \"client\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"preferred\"; key_file = \"$tmp/qkd.keys\"; };
	qkd_mlkem768 = true;
} );"
expect_error "qkd_mlkem768 under policy off is refused" 5 \
	"'qkd_mlkem768 = true' needs a QKD policy" \
"links = ( {
	name = \"l1\"; role = \"server\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"off\"; };
	qkd_mlkem768 = true;
} );"
# A required server link takes qkd_mlkem768 only when told to: accepted.
printf '%s\n' "$(req_link)" "	qkd_mlkem768 = true;" "} );" >"$tmp/mlkem.conf"
if "$qktlsd" --check-config -c "$tmp/mlkem.conf" >"$tmp/out" 2>&1; then
	tap_ok "a required server link may opt in to qkd_mlkem768"
else
	sed 's/^/# /' "$tmp/out"; tap_fail "a required server link may opt in to qkd_mlkem768"
fi
expect_error "wrong type" 9 "'handshake_timeout' must be an integer" \
"links = ( $L } );
handshake_timeout = \"ten\";"
expect_error "integer out of range" 10 "'qkd_group_id' = 4660 is out of range" \
"links = ( $L } );

qkd_group_id = 0x1234;"
expect_error "missing required link setting" 2 "link 'l1': missing required setting 'peer_name'" \
"links = (
	{ name = \"l1\"; role = \"client\";
	  certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	  qkd = { policy = \"off\"; }; }
);"
expect_error "missing qkd group" 2 "missing required group 'qkd'" \
"links = (
	{ name = \"l1\"; role = \"client\"; peer_name = \"b\";
	  certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\"; }
);"
expect_error "bad role" 3 "role 'both' must be \"client\" or \"server\"" \
"links = ( {
	name = \"l1\";
	role = \"both\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"off\"; }; } );"
expect_error "unreadable certificate" 4 "'certificate': cannot read $tmp/none.pem: No such file" \
"links = ( {
	name = \"l1\";
	role = \"client\"; peer_name = \"b\";
	certificate = \"$tmp/none.pem\";
	private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"off\"; }; } );"
expect_error "unsupported cipher suite" 10 "cipher suite 'TLS_AES_128_CCM_SHA256' is not supported" \
"links = (
$L
		cipher_suites = [ \"TLS_AES_128_CCM_SHA256\" ];
	}
);"
expect_error "unknown user" 11 "allowed_users: no such user 'no-such-user-qktls'" \
"links = (
$L

		allowed_users = [ \"no-such-user-qktls\" ];
	}
);"
expect_error "bad peer address" 10 "peer_addresses: '10.0.0.300' is not an IPv4 or IPv6 address" \
"links = (
$L
		peer_addresses = [ \"10.0.0.1\", \"10.0.0.300\" ];
	}
);"
expect_error "duplicate link name points at the first" 20 "link 'l1' is already defined at line 2" \
"links = (
$L
	},
	{
		name = \"l2\"; role = \"client\"; peer_name = \"b\";
		certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\";
		ca = \"$tmp/cert.pem\"; qkd = { policy = \"off\"; };
	},
	{
		role = \"client\"; peer_name = \"b\";
		certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\";
		ca = \"$tmp/cert.pem\"; qkd = { policy = \"off\"; };
		name = \"l1\";
	}
);"
expect_error "watermarks in the wrong order" 6 "low_watermark \\(50\\) must be below high_watermark \\(10\\)" \
"links = ( {
	name = \"l1\"; role = \"client\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"preferred\";
		low_watermark = 50;
		high_watermark = 10; };
} );"
expect_error "kme without https and with a bad role" 6 "kme role 'primary' must be \"master\"" \
"links = ( {
	name = \"l1\"; role = \"client\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"preferred\"; kme = {
		url = \"http://kme\"; sae_id = \"A\"; peer_sae_id = \"B\";
		role = \"primary\";
		certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\"; }; };
} );"

expect_error "one key file for two links is refused" 16 "key_file $tmp/qkd.keys is also the key file of link 'l1' \\(line 2\\): a QKD key may serve one link only" \
"links = (
$L
	},
	{
		name = \"l2\"; role = \"client\"; peer_name = \"b\";
		certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\";
		ca = \"$tmp/cert.pem\";
		qkd = { policy = \"required\";
			key_file = \"$tmp/qkd.keys\"; };
	}
);"

# The key update, rekey and feeding settings (issue 5 items 5 and 6).
K="qkd = { policy = \"preferred\"; kme = {
		url = \"https://kme:443\"; sae_id = \"A\"; peer_sae_id = \"B\";
		certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";"
H="links = ( {
	name = \"l1\"; role = \"client\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";"
expect_error "bad key_update value" 4 "key_update 'sometimes' must be \"qkd\", \"standard\" or \"off\"" \
"$H
	key_update = \"sometimes\";
	qkd = { policy = \"off\"; }; } );"
expect_error "key_update qkd needs a QKD policy" 4 "key_update \"qkd\" needs QKD keys, but the link's qkd policy is \"off\"" \
"$H
	key_update = \"qkd\";
	qkd = { policy = \"off\"; }; } );"
expect_error "negative rekey_bytes" 4 "'rekey_bytes' = -1 must not be negative" \
"$H
	rekey_bytes = -1;
	qkd = { policy = \"off\"; }; } );"
expect_error "rekey_bytes as a string" 4 "'rekey_bytes' must be an integer" \
"$H
	rekey_bytes = \"16M\";
	qkd = { policy = \"off\"; }; } );"
expect_error "rekey with key_update off" 5 "rekey_bytes/rekey_seconds are set but key_update is \"off\"" \
"$H
	key_update = \"off\";
	rekey_seconds = 60;
	qkd = { policy = \"off\"; }; } );"
expect_error "policy required rekeys with QKD updates only" 4 "qkd policy \"required\" makes every rekey a QKD key update: with rekey_bytes/rekey_seconds, key_update must be \"qkd\"" \
"$H
	key_update = \"standard\";
	rekey_bytes = 1048576;
	qkd = { policy = \"required\"; key_file = \"$tmp/qkd2.keys\"; }; } );"
expect_error "policy required rekeys need the link's pools" 4 "qkd policy \"required\" makes every rekey a QKD key update, whose keys come from the link's kernel pools: with rekey_bytes/rekey_seconds, set qkd pool or kme" \
"$H
	rekey_seconds = 60;
	qkd = { policy = \"required\"; key_file = \"$tmp/qkd2.keys\"; }; } );"
expect_error "a pool name leaves room for .c2s" 5 "pool name 'pool-name-of-28-characters-x' must be 1 to 27 letters" \
"$H
	qkd = { policy = \"preferred\";
		pool = \"pool-name-of-28-characters-x\"; }; } );"
expect_error "key_size out of range" 5 "'key_size' = 8 is out of range \\(16 to 64\\)" \
"$H
	qkd = { policy = \"preferred\";
		key_size = 8; }; } );"
expect_error "master without peer_agent" 4 "kme role \"master\" needs 'peer_agent'" \
"$H
	$K role = \"master\"; }; }; } );"
expect_error "bad peer_agent" 7 "peer_agent 'b.test' must be \"HOST:PORT\"" \
"$H
	$K role = \"master\";
		peer_agent = \"b.test\"; }; }; } );"
expect_error "slave without sync_listen" 1 "link 'l1' has kme role \"slave\": set the global 'sync_listen'" \
"$H
	$K role = \"slave\"; }; }; } );"
expect_error "bad sync_listen" 1 "sync_listen '1.2.3.4:99999' must be" \
"sync_listen = \"1.2.3.4:99999\";
$H
	$K role = \"slave\"; }; }; } );"
expect_error "key_file and kme together" 4 "qkd key_file and kme are alternatives" \
"$H
	$K role = \"slave\"; };
		key_file = \"$tmp/qkd2.keys\"; }; } );
sync_listen = \"0.0.0.0:7300\";"
# ETSI GS QKD 004 KMEs: a qkd004:// URL and the key stream both agents open.
K4="qkd = { policy = \"preferred\"; kme = {
		sae_id = \"A\"; peer_sae_id = \"B\"; role = \"slave\";
		certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";"
printf '%s\n' "sync_listen = \"127.0.0.1:7300\";
$H
	$K4 url = \"qkd004://kme-a.test\";
		key_stream_id = \"5a5a5a5a-0000-4000-8000-00000000a004\"; }; }; } );" >"$tmp/e004.conf"
tap_check "an ETSI 004 KME with its key stream passes --check-config" \
	"$qktlsd" --check-config -c "$tmp/e004.conf"
expect_error "qkd004 without key_stream_id" 4 "kme url qkd004:// needs 'key_stream_id'" \
"$H
	$K4 url = \"qkd004://[::1]:25575\"; }; }; } );
sync_listen = \"0.0.0.0:7300\";"
expect_error "key_stream_id with an ETSI 014 KME" 7 "'key_stream_id' applies to qkd004:// KMEs only" \
"$H
	$K4 url = \"https://kme:443\";
		key_stream_id = \"5a5a5a5a-0000-4000-8000-00000000a004\"; }; }; } );
sync_listen = \"0.0.0.0:7300\";"
expect_error "a bad qkd004 URL" 7 "kme url 'qkd004://kme:0' must be qkd004://HOST\\[:PORT\\]" \
"$H
	$K4
		url = \"qkd004://kme:0\";
		key_stream_id = \"5a5a5a5a-0000-4000-8000-00000000a004\"; }; }; } );
sync_listen = \"0.0.0.0:7300\";"
expect_error "a key_stream_id that is not a UUID" 7 "key_stream_id 'stream-1' must be a UUID, not all zero" \
"$H
	$K4 url = \"qkd004://kme\";
		key_stream_id = \"stream-1\"; }; }; } );
sync_listen = \"0.0.0.0:7300\";"
expect_error "two links on one pool" 11 "pool 'p' is also the pool of link 'l1' \\(line 1\\)" \
"$H
	qkd = { policy = \"preferred\"; pool = \"p\"; };
	},
	{
	name = \"l2\"; role = \"client\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"preferred\";
		wait_ms = 10;
		pool = \"p\"; }; } );"

# 24: a key file others can read is refused when the links are set up.
printf 'links = (\n%s\n\t}\n);\n' "$(good_link)" >"$tmp/perm.conf"
chmod 644 "$tmp/qkd.keys"
if ! "$qktlsd" -t -c "$tmp/perm.conf" >"$tmp/out" 2>&1 &&
   grep -q "link l1: key file $tmp/qkd.keys is accessible to group or others (mode 0644)" "$tmp/out"; then
	tap_ok "a key file readable by others is refused"
else
	sed 's/^/# /' "$tmp/out"; tap_fail "a key file readable by others is refused"
fi
chmod 600 "$tmp/qkd.keys"

# Files with secrets (issue 14 item 8): a private key others can read, a
# private key and a QKD key file of another owner.
cp -p "$tmp/key.pem" "$tmp/open.pem"
chmod 644 "$tmp/open.pem"
expect_error "a private key others can read" 4 "'private_key': $tmp/open.pem has mode 0644: a private key must not be accessible to others" \
"links = ( {
	name = \"l1\";
	role = \"client\"; peer_name = \"b\"; certificate = \"$tmp/cert.pem\";
	private_key = \"$tmp/open.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"off\"; }; } );"
if [ "$(id -u)" -eq 0 ]; then
	cp -p "$tmp/key.pem" "$tmp/nobodys.pem"
	cp -p "$tmp/qkd2.keys" "$tmp/nobodys.keys"
	chown 65534 "$tmp/nobodys.pem" "$tmp/nobodys.keys"
	expect_error "a private key of another user" 4 "'private_key': $tmp/nobodys.pem belongs to uid 65534: a file with secrets must belong to root or to the user qktlsd runs as \(uid 0\)" \
"links = ( {
	name = \"l1\";
	role = \"client\"; peer_name = \"b\"; certificate = \"$tmp/cert.pem\";
	private_key = \"$tmp/nobodys.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"off\"; }; } );"
	expect_error "a QKD key file of another user" 6 "'key_file': $tmp/nobodys.keys belongs to uid 65534" \
"links = ( {
	name = \"l1\";
	role = \"server\"; peer_name = \"b\"; certificate = \"$tmp/cert.pem\";
	private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"preferred\";
		key_file = \"$tmp/nobodys.keys\"; }; } );"
else
	tap_skip "a private key of another user" "needs root (chown)"
	tap_skip "a QKD key file of another user" "needs root (chown)"
fi

# 23: every error is reported, not just the first, and a key file readable
# by others is refused when the links are set up.
printf '%s\n' "links = ( {
	name = \"bad name!\"; role = \"client\"; peer_name = \"b\";
	certificate = \"$tmp/cert.pem\"; private_key = \"$tmp/key.pem\"; ca = \"$tmp/cert.pem\";
	qkd = { policy = \"maybe\"; }; } );
log_level = \"loud\";" >"$tmp/multi.conf"
if ! "$qktlsd" -t -c "$tmp/multi.conf" >"$tmp/out" 2>&1 &&
   grep -q "multi.conf:2: link name 'bad name!' must be" "$tmp/out" &&
   grep -q "multi.conf:4: policy 'maybe' must be" "$tmp/out" &&
   grep -q "multi.conf:5: log_level 'loud' must be" "$tmp/out" &&
   grep -q "multi.conf: 3 errors" "$tmp/out"; then
	tap_ok "all errors of a file are reported with their lines"
else
	sed 's/^/# /' "$tmp/out"; tap_fail "all errors of a file are reported with their lines"
fi
tap_done
