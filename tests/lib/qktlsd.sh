# SPDX-License-Identifier: GPL-2.0-only
#
# Shell helpers shared by the qktlsd VM tests (source after tap.sh, with
# $top set).  Sets $qktlsd (the agent: its sanitizer build if there is
# one, $QKTLSD if set), $app (build/tests/helpers/qktlsd_app) and $q (the
# admin tool); the caller sets $tmp (a scratch directory) and an array
# pids (agents to kill on exit), or calls scratch.

qktlsd=${QKTLSD:-$top/build/tests/helpers/qktlsd-san}
[ -x "$qktlsd" ] || qktlsd=$top/build/bin/qktlsd
app=$top/build/tests/helpers/qktlsd_app
q=$top/build/bin/qktls

# scratch: a scratch directory $tmp, and an array pids of agents; both go
# (the agents killed) when the test exits.
scratch() {
	tmp=$(mktemp -d)
	pids=()
	trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	      wait 2>/dev/null; rm -rf "$tmp"' EXIT
}

# certs: a test CA, and server.test and client.test certificates from it
# ($tmp/{ca,server,client}.{pem,key}); exits if openssl fails.
certs() {
	mkcert ca "qktls test CA" && mkcert server server.test ca &&
		mkcert client client.test ca || { cat "$tmp/req.err"; exit 1; }
}

# show FILE...: files as TAP comments.
show() { sed 's/^/# /' "$@" 2>/dev/null; }

# mkcert NAME CN [CA]: an EC P-256 certificate in $tmp/NAME.{pem,key}.
mkcert() {	# NAME CN [CA]
	local extra=()
	[ -n "${3:-}" ] && extra=(-CA "$tmp/$3.pem" -CAkey "$tmp/$3.key")
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$tmp/$1.key" -out "$tmp/$1.pem" -subj "/CN=$2" -days 1 \
		-addext "subjectAltName=DNS:$2" "${extra[@]}" 2>>"$tmp/req.err"
}

# mkcrl CA OUT [REVOKED...]: a CRL of $tmp/CA.{pem,key} in $tmp/OUT.pem,
# valid for a day, revoking the certificates $tmp/REVOKED.pem; with
# crl_dates="-crl_lastupdate A -crl_nextupdate B" it has those dates.
mkcrl() {	# CA OUT [REVOKED...]
	local ca=$1 out=$2 r revoked=()
	shift 2
	for r; do revoked+=("$tmp/$r"); done
	MKCRL_DATES=${crl_dates:-} "$top/tools/kme-sim/mkcrl" "$tmp/$ca" \
		"$tmp/$out.pem" "${revoked[@]}" 2>>"$tmp/req.err"
}

# keyfile N: N lines "REFHEX KEYHEX" (a link's key_file) of random 16-byte
# references and 32-byte keys, from one openssl process (one per line is
# slow under emulation).
keyfile() { openssl rand -hex $((48 * $1)) | fold -w 96 | sed -E 's/^(.{32})/\1 /'; }

# link NAME ROLE PEER CERT POLICY KEYFILE [EXTRA]: one link of a config.
link() {	# NAME ROLE PEER CERT POLICY KEYFILE [EXTRA]
	local kf=
	[ -n "$6" ] && kf="key_file = \"$tmp/$6\";"
	cat <<EOT
	{
		name = "$1"; role = "$2"; peer_name = "$3";
		certificate = "$tmp/$4.pem"; private_key = "$tmp/$4.key";
		ca = "$tmp/ca.pem";
		${7:-}
		qkd = { policy = "$5"; $kf };
	}
EOT
}

# start_agent NAME: run qktlsd on $tmp/NAME.conf, wait for READY.
start_agent() {
	local line=
	mkfifo "$tmp/$1.ready"
	"$qktlsd" -c "$tmp/$1.conf" --ready-fd 3 3>"$tmp/$1.ready" 2>"$tmp/$1.log" &
	pids+=($!)
	eval "${1}_pid=$!"
	read -r -t 60 line <"$tmp/$1.ready"
	[ "$line" = READY ]
}

# start_server NAME CMD...: run CMD (an app server), wait for its ACCEPT.
start_server() {
	local name=$1 line
	shift
	mkfifo "$tmp/$name.fifo"
	"$@" >"$tmp/$name.fifo" 2>"$tmp/$name.err" &
	srv_pid=$!
	exec 3<"$tmp/$name.fifo"
	port=
	while IFS= read -r -t 60 line <&3; do
		echo "$line" >>"$tmp/$name.out"
		case $line in
		ACCEPT*) port=${line##*:}; break ;;
		esac
	done
	cat <&3 >>"$tmp/$name.out" &
	drain_pid=$!
	exec 3<&-
	[ -n "$port" ]
}
# wait_server: exit status of the last app server.
wait_server() {
	local rc=0
	wait "$srv_pid" || rc=$?
	wait "$drain_pid"
	return $rc
}

# val KEY FILE: the value of a "KEY value" line of an app's output.
val() { sed -n "s/^$1 //p" "$2"; }

# wait_log FILE REGEX [N]: wait (on the file's growth, at most 60 s) until
# N lines (default 1) match.
wait_log() {
	[ "$(timeout 60 tail -n +1 -f "$1" | grep -m "${3:-1}" -E "$2" | wc -l)" \
		-eq "${3:-1}" ]
}

# stop_agents NAME...: SIGTERM to the agents start_agent started as NAME,
# wait for each and drop them from pids; fails when one exits non-zero.
stop_agents() {
	local n p rc=0 keep=()

	for n; do eval "p=\$${n}_pid"; kill -TERM "$p"; done
	for n; do eval "p=\$${n}_pid"; wait "$p" || rc=$?; done
	for p in "${pids[@]}"; do
		for n; do eval "[ \"\$p\" = \"\$${n}_pid\" ]" && continue 2; done
		keep+=("$p")
	done
	pids=("${keep[@]}")
	return $rc
}

# sock_has FILE KEY=VALUE...: the app's SOCK and SOCK_POST lines say so.
sock_has() {
	local f=$1 kv
	shift
	for kv; do
		grep -Eq "^SOCK(_POST)? (.* )?$kv( |$)" "$f" || return 1
	done
}

# kme ROLE SAE PEER URL CERT [PEER_AGENT]: a link's kme group, the KME
# client certificate CERT from the simulator's $PKI, and the settings
# $kme_extra (e.g. an ETSI 004 key_stream_id).
kme() {
	cat <<EOT
kme = { url = "$4"; sae_id = "$2"; peer_sae_id = "$3"; role = "$1";
	certificate = "$PKI/$5.pem"; private_key = "$PKI/$5.key"; ca = "$PKI/ca.pem";
	timeout_ms = 20000; ${6:+peer_agent = \"$6\";} ${kme_extra:-} };
EOT
}

# flink NAME ROLE PEER CERT POLICY POOL KME...: a link fed from a KME (kme's
# arguments), watermarks $wm_low and $wm_high (default 4 and 10), the
# link-level settings $link_extra.
flink() {
	local name=$1 role=$2 peer=$3 cert=$4 policy=$5 pool=$6
	shift 6
	cat <<EOT
	{
		name = "$name"; role = "$role"; peer_name = "$peer";
		certificate = "$tmp/$cert.pem"; private_key = "$tmp/$cert.key";
		ca = "$tmp/ca.pem"; ${link_extra:-}
		qkd = { policy = "$policy"; pool = "$pool"; low_watermark = ${wm_low:-4};
			high_watermark = ${wm_high:-10}; key_size = 32; wait_ms = 300;
			$(kme "$@") };
	}
EOT
}

# write_conf NAME LINKS-FUNCTION [EXTRA-GLOBAL]: $tmp/NAME.conf, an agent
# with its socket in $tmp, the debug log and the links LINKS-FUNCTION prints.
write_conf() {
	cat >"$tmp/$1.conf" <<EOT
socket = "$tmp/$1.sock";
log_level = "debug";
handshake_timeout = 30;
${3:-}
links = (
$($2)
);
EOT
}

# pair NAME SERVERLINK CLIENTLINK: one connection, 4 KiB each way, from
# agent a's CLIENTLINK to agent b's SERVERLINK; sets crc and src.
pair() {
	local name=$1 sl=$2 cl=$3
	if ! start_server "$name-s" "$app" server --agent "$tmp/b.sock" --link "$sl" --bytes 4096; then
		show "$tmp/$name-s.out" "$tmp/$name-s.err"
		crc=99 src=99
		return
	fi
	"$app" client --agent "$tmp/a.sock" --link "$cl" --port "$port" --bytes 4096 \
		>"$tmp/$name-c.out" 2>"$tmp/$name-c.err"
	crc=$?
	wait_server && src=0 || src=$?
}

# ids POOL, count POOL: a kernel pool's key IDs, its key count; requests:
# the KME simulator's request count.
ids() { "$q" -j key list "$1" | jq -r '[.[].id] | join(" ")'; }
count() { "$q" -j pool show "$1" | jq 'if type == "array" then .[0] else . end | .key_count'; }
requests() { sim_ctl stats | jq .requests; }
