# SPDX-License-Identifier: GPL-2.0-only
# Servers that report their port, for the shell tests (source this file
# after setting $tmp, a directory of the test's own, and pids=()).
#
#   start_server NAME CMD...  run CMD with its output in $tmp/NAME.out and
#                             its errors in $tmp/NAME.err; wait (at most
#                             60 s, no sleeps) for its "ACCEPT ...:PORT"
#                             line and set $port; false if none came
#   finish                    wait for every server started and their
#                             output; false if one failed

start_server() {
	local name=$1 line
	shift
	mkfifo "$tmp/$name.fifo"
	"$@" >"$tmp/$name.fifo" 2>"$tmp/$name.err" &
	pids+=($!)
	exec 3<"$tmp/$name.fifo"
	port=
	while IFS= read -r -t 60 line <&3; do
		echo "$line" >>"$tmp/$name.out"
		case $line in
		ACCEPT*) port=${line##*:}; break ;;
		esac
	done
	# Keep draining the server's output into the file.
	cat <&3 >>"$tmp/$name.out" &
	pids+=($!)
	exec 3<&-
	[ -n "$port" ]
}

finish() {
	local rc=0 p
	for p in "${pids[@]}"; do wait "$p" || rc=$?; done
	pids=()
	return $rc
}
