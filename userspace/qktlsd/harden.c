// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the agent does for the keys it holds before it reads anything,
 * however it was started (systemd, a script, a shell):
 *
 * - variables that would make libcurl or OpenSSL write TLS secrets out
 *   (SSLKEYLOGFILE) or send the KME requests, whose answers are QKD keys,
 *   somewhere else (every *_proxy in either case, NO_PROXY,
 *   CURL_SSL_BACKEND) leave the environment, and their text is wiped from
 *   the initial environment too, so /proc/PID/environ no longer has them;
 * - the process is not dumpable: no core dump, and no ptrace or
 *   /proc/PID/{mem,environ,...} for anyone without CAP_SYS_PTRACE;
 * - the agent (not --check-config) locks its memory, each page as it is
 *   first touched (MCL_ONFAULT), so no key goes to swap.  Only with room
 *   for all it will ever map (RLIMIT_MEMLOCK unlimited, or CAP_IPC_LOCK):
 *   under a finite limit, MCL_FUTURE would make a later mmap or brk fail
 *   once the limit is reached (a handshake thread's stack, say).  Without
 *   that room, or if mlockall fails, it says so and runs on.
 *
 * See "Privileges" in Documentation/qktls/agent.rst.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/capability.h>

#include "qktlsd.h"

static bool env_unwanted(const char *name, size_t len)
{
	static const char *const names[] = { "SSLKEYLOGFILE", "CURL_SSL_BACKEND" };
	static const char proxy[] = "_proxy";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i]) && !memcmp(name, names[i], len))
			return true;
	return len >= sizeof(proxy) - 1 &&
	       !strncasecmp(name + len - (sizeof(proxy) - 1), proxy, sizeof(proxy) - 1);
}

/* Drops the unwanted variables; their names, for the log, go into @names. */
static void env_clean(char *names, size_t size)
{
	char **r, **w;
	size_t used = 0;

	names[0] = '\0';
	for (r = w = environ; *r; r++) {
		const char *eq = strchr(*r, '=');
		size_t len = eq ? (size_t)(eq - *r) : strlen(*r);

		if (!env_unwanted(*r, len)) {
			*w++ = *r;
			continue;
		}
		if (used < size)
			used += snprintf(names + used, size - used, "%s%.*s",
					 used ? " " : "", (int)len, *r);
		explicit_bzero(*r, strlen(*r));
	}
	*w = NULL;
}

/* Whether RLIMIT_MEMLOCK does not apply: unlimited, or CAP_IPC_LOCK. */
static bool memlock_unbounded(unsigned long long *limit)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3] = { 0 };
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return false;
	*limit = rl.rlim_cur;
	if (rl.rlim_cur == RLIM_INFINITY)
		return true;
	return !syscall(SYS_capget, &hdr, caps) &&
	       (caps[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK));
}

void qd_harden(bool lock_memory)
{
	unsigned long long limit = 0;
	char names[256];

	env_clean(names, sizeof(names));
	if (names[0])
		qd_log(LOG_WARNING, "removed from the environment: %s (a key log file "
		       "or a proxy would expose or divert key material)", names);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		qd_log(LOG_WARNING, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
	if (!lock_memory)
		return;
	if (!memlock_unbounded(&limit)) {
		qd_log(LOG_WARNING, "memory not locked: RLIMIT_MEMLOCK is %llu KiB "
		       "and there is no CAP_IPC_LOCK; key material in this process "
		       "may be written to swap; allow it to lock memory "
		       "(LimitMEMLOCK=infinity in qktlsd.service)", limit / 1024);
		return;
	}
	/*
	 * The system call itself: the sanitizers make mlockall() a no-op, and
	 * the tests run the sanitizer build.  MCL_ONFAULT locks only pages
	 * that are used, never populating a whole mapping (thread stacks,
	 * malloc arenas, ASan's shadow).
	 */
	if (syscall(SYS_mlockall, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		qd_log(LOG_WARNING, "mlockall: %s: key material in this process may "
		       "be written to swap", strerror(errno));
	else
		qd_log(LOG_DEBUG, "memory locked (mlockall, on fault)");
}
