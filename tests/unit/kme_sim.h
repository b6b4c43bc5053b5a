/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test helpers: a throw-away PKI (tools/kme-sim/mkcerts, made once per test
 * program), and qktls-kme-sim started on 127.0.0.1 with ports chosen by
 * the kernel and reported through a pipe (--ready-fd), driven through its
 * control socket.
 */
#ifndef QKTLS_TEST_KME_SIM_H
#define QKTLS_TEST_KME_SIM_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char kt_pki[PATH_MAX];		/* the PKI directory */
static char kt_bindir[PATH_MAX];	/* $(BUILD)/bin */
static pid_t kt_owner;

__attribute__((constructor)) static void kt_make_pki(void)
{
	char exe[PATH_MAX], cmd[3 * PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *tmp = getenv("TMPDIR");

	if (n <= 0)
		return;
	exe[n] = '\0';
	/* $(BUILD)/tests/unit/NAME -> $(BUILD)/bin */
	for (int i = 0; i < 3 && (slash = strrchr(exe, '/')); i++)
		*slash = '\0';
	if (snprintf(kt_bindir, sizeof(kt_bindir), "%s/bin", exe) >=
	    (int)sizeof(kt_bindir))
		return;
	snprintf(kt_pki, sizeof(kt_pki), "%s/qktls-kme-test.XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(kt_pki)) {
		kt_pki[0] = '\0';
		return;
	}
	kt_owner = getpid();
	/* mkcerts lives in the source tree: $(BUILD)/.. */
	snprintf(cmd, sizeof(cmd), "'%s/../tools/kme-sim/mkcerts' '%s/pki'",
		 exe, kt_pki);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "tools/kme-sim/mkcerts '%s/pki'", kt_pki);
		if (system(cmd) != 0)
			kt_pki[0] = '\0';
	}
}

__attribute__((destructor)) static void kt_remove_pki(void)
{
	char cmd[PATH_MAX + 16];

	if (kt_pki[0] && getpid() == kt_owner) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kt_pki);
		if (system(cmd))
			fprintf(stderr, "# could not remove %s\n", kt_pki);
	}
}

/* "<pki>/<name>" in a static rotating buffer. */
static const char *kt_file(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];

	if (snprintf(b, PATH_MAX, "%s/pki/%s", kt_pki, name) >= PATH_MAX)
		b[0] = '\0';
	return b;
}

struct kt_sim {
	pid_t pid;
	unsigned int port_a, port_b;
	unsigned int port004_a, port004_b;	/* with --a/b-listen-004 */
	char dir[PATH_MAX];
	char ctl[PATH_MAX];
	char url_a[64], url_b[64];
};

/*
 * Start the simulator with the test defaults (no key generation, 100 keys
 * of 256 bits stored, SAE_C on KME B, one additional slave allowed) and
 * @extra arguments (NULL-terminated).  0 on success.
 */
static int kt_sim_start(struct kt_sim *s, const char *a_listen, ...)
{
	const char *argv[64];
	char fdarg[16], log[PATH_MAX + 16], line[128] = "";
	int pfd[2], argc = 0;
	struct pollfd p;
	size_t got = 0;
	va_list ap;

	memset(s, 0, sizeof(*s));
	if (!kt_pki[0])
		return -1;
	if (snprintf(s->dir, sizeof(s->dir), "%s/sim.XXXXXX", kt_pki) >=
	    (int)sizeof(s->dir) || !mkdtemp(s->dir))
		return -1;
	if (snprintf(s->ctl, sizeof(s->ctl), "%s/ctl", s->dir) >= (int)sizeof(s->ctl) ||
	    snprintf(log, sizeof(log), "%s/log", s->dir) >= (int)sizeof(log))
		return -1;
	if (pipe(pfd))
		return -1;
	snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);

	static char sim[PATH_MAX + 32];

	/* The sanitizer build of the simulator, else the plain one. */
	snprintf(sim, sizeof(sim), "%s/../tests/kme/qktls-kme-sim", kt_bindir);
	if (access(sim, X_OK))
		snprintf(sim, sizeof(sim), "%s/qktls-kme-sim", kt_bindir);
	argv[argc++] = sim;
	argv[argc++] = "-v";
	argv[argc++] = "--ca";		argv[argc++] = kt_file("ca.pem");
	argv[argc++] = "--a-cert";	argv[argc++] = kt_file("kme-a.pem");
	argv[argc++] = "--a-key";	argv[argc++] = kt_file("kme-a.key");
	argv[argc++] = "--b-cert";	argv[argc++] = kt_file("kme-b.pem");
	argv[argc++] = "--b-key";	argv[argc++] = kt_file("kme-b.key");
	argv[argc++] = "--a-listen";	argv[argc++] = a_listen ? a_listen : "127.0.0.1:0";
	argv[argc++] = "--b-sae";	argv[argc++] = "SAE_B";
	argv[argc++] = "--b-sae";	argv[argc++] = "SAE_C";
	argv[argc++] = "--max-sae-id-count"; argv[argc++] = "1";
	argv[argc++] = "--rate";	argv[argc++] = "0";
	argv[argc++] = "--max-key-count"; argv[argc++] = "100";
	argv[argc++] = "--control";	argv[argc++] = s->ctl;
	argv[argc++] = "--ready-fd";	argv[argc++] = fdarg;
	va_start(ap, a_listen);
	while (argc < 62 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;

	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(pfd[0]);
		if (fd >= 0)
			dup2(fd, 2);
		execv(sim, (char **)argv);
		_exit(127);
	}
	close(pfd[1]);
	/* Ready when the ports arrive; EOF without them means it failed. */
	p.fd = pfd[0];
	p.events = POLLIN;
	while (got < sizeof(line) - 1 && poll(&p, 1, 20000) == 1) {
		ssize_t n = read(pfd[0], line + got, sizeof(line) - 1 - got);

		if (n <= 0)
			break;
		got += n;
	}
	close(pfd[0]);
	line[got] = '\0';
	if (sscanf(line, "a=%u b=%u", &s->port_a, &s->port_b) != 2) {
		char cmd[PATH_MAX + 32];

		fprintf(stderr, "# simulator did not start; its log:\n");
		if (snprintf(cmd, sizeof(cmd), "sed 's/^/# /' '%s' >&2", log) >=
		    (int)sizeof(cmd) || system(cmd))
			fprintf(stderr, "# (no log)\n");
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		return -1;
	}
	sscanf(line, "a=%*u b=%*u a004=%u b004=%u", &s->port004_a, &s->port004_b);
	snprintf(s->url_a, sizeof(s->url_a), "https://localhost:%u", s->port_a);
	snprintf(s->url_b, sizeof(s->url_b), "https://localhost:%u", s->port_b);
	if (a_listen && strncmp(a_listen, "127.0.0.1:", 10))
		snprintf(s->url_a, sizeof(s->url_a), "https://%.*s:%u",
			 (int)(strrchr(a_listen, ':') - a_listen), a_listen,
			 s->port_a);
	return 0;
}

/* Stop it; returns its exit status (0 for a clean SIGTERM shutdown). */
static int kt_sim_stop(struct kt_sim *s)
{
	int st = 0;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	if (waitpid(s->pid, &st, 0) != s->pid)
		return -1;
	s->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One control command; the reply line (without newline) goes to @reply. */
static int kt_ctl(struct kt_sim *s, char *reply, size_t size, const char *fmt, ...)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cmd[256];
	size_t got = 0;
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	strcat(cmd, "\n");
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->ctl) >=
	    (int)sizeof(sa.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (got < size - 1) {
		ssize_t n = read(fd, reply + got, 1);

		if (n <= 0 || reply[got] == '\n')
			break;
		got++;
	}
	reply[got] = '\0';
	close(fd);
	return strncmp(reply, "error", 5) ? 0 : -1;
}

/* A command that must answer "ok". */
static int kt_ctl_ok(struct kt_sim *s, const char *fmt, const char *arg)
{
	char reply[256];

	if (kt_ctl(s, reply, sizeof(reply), fmt, arg) || strcmp(reply, "ok")) {
		fprintf(stderr, "# control \"%s\": %s\n", fmt, reply);
		return -1;
	}
	return 0;
}

#endif
