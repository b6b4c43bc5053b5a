#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# No key reaches a process's memory: in qktls.ko's source, only the key
# installer (kernel/install.c) maps or writes user memory, and it does so
# in the private address space its own kernel thread adopted
# (kthread_use_mm), never in the caller's (Documentation/qktls/
# key-update.rst, "No key in any process").  The VM side of the same claim
# is tests/kernel/sock_plain.c's no_mapping_while_rekeying.
. "$(dirname "$0")/../lib/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
user_mem='vm_mmap|vm_munmap|copy_to_user|clear_user|put_user|USER_SOCKPTR|__user \*'

tap_plan 4
# hook.c answers getsockopt() with the version and cipher only: its
# copy_to_user/put_user carry no key (sock_plain's getsockopt_gives_no_key).
others=$(grep -nE "$user_mem" kernel/*.c | grep -v '^kernel/install.c:' |
	 grep -v '^kernel/hook.c:.*\(qktls_hook_get_conf\|copy_to_user(optval, &ci\|char __user \*optval\|put_user(n, optlen)\|get_user(len, optlen)\)' || true)
if [ -z "$others" ]; then
	tap_ok "only install.c maps or writes user memory (hook.c: getsockopt's version and cipher)"
else
	tap_fail "only install.c maps or writes user memory (hook.c: getsockopt's version and cipher)" \
		"$(echo "$others" | head -n 5 | tr '\n' ' ')"
fi
tap_check "install.c maps its page after kthread_use_mm(), on its own thread" \
	awk '/kthread_use_mm\(/ { used = 1 } /vm_mmap\(/ && !used { exit 1 } END { exit !used }' kernel/install.c
tap_check "install.c clears the page after every setsockopt()" \
	grep -q 'clear_user(page, iw->len)' kernel/install.c
tap_check "no current->mm in the module (no caller's address space)" \
	sh -c '! grep -n "current->mm" kernel/*.c'
tap_done
