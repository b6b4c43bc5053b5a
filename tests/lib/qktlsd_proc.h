/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The real agent for the C unit tests: a scratch directory with a
 * self-signed certificate for a.test, the sanitizer build of qktlsd started
 * on a configuration there (ready when it says so on --ready-fd) and
 * stopped with SIGTERM.
 */
#ifndef QKTLS_TESTS_QKTLSD_PROC_H
#define QKTLS_TESTS_QKTLSD_PROC_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The sanitizer build of the agent (userspace/qktlsd/build.mk). */
#define QKTLSD_BIN "build/tests/helpers/qktlsd-san"

/* DIR/c.pem and DIR/k.pem, CN and DNS name a.test; 0 or -1. */
static inline int qd_test_cert(const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		 "-nodes -keyout %s/k.pem -out %s/c.pem -subj /CN=a.test "
		 "-addext subjectAltName=DNS:a.test -days 1 2>/dev/null", dir, dir);
	return system(cmd) ? -1 : 0;
}

/*
 * Run the agent on @conf, its standard error into @log (NULL: inherited);
 * its pid once it is READY, or -1 (its log shown).  Transparent huge pages
 * are off for it (PR_SET_THP_DISABLE, kept across exec), so that its RSS
 * counts the memory it touches, not 2 MiB pages around it: with THP
 * "always" (Debian 13's kernels, the VM) the same run of qktlsd_flood grew
 * by 68 MiB instead of 9.
 */
static inline pid_t qd_test_agent_start(const char *conf, const char *log)
{
	char line[16] = "", cmd[256];
	int p[2];
	pid_t pid;
	FILE *f;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		char fdarg[16];
		int lfd = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600) : 2;

		close(p[0]);
		if (lfd < 0 || dup2(lfd, 2) < 0 ||
		    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
			_exit(127);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		execl(QKTLSD_BIN, "qktlsd", "-c", conf, "--ready-fd", fdarg,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || strcmp(line, "READY\n")) {
		if (f)
			fclose(f);
		if (log) {
			snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s", log);
			if (system(cmd))
				fprintf(stderr, "# no log\n");
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	fclose(f);
	return pid;
}

/* SIGTERM and wait: 0 when the agent exited 0, else -1 (its log shown). */
static inline int qd_test_agent_stop(pid_t pid, const char *log)
{
	char cmd[256];
	int status = -1;

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (log) {
		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s", log);
		if (system(cmd))
			fprintf(stderr, "# no log\n");
	}
	return -1;
}

/* Remove the scratch directory @dir (if it was made). */
static inline void qd_test_rmdir(const char *dir)
{
	char cmd[256];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", dir);
}

#endif /* QKTLS_TESTS_QKTLSD_PROC_H */
