// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault specifications and the run-time control socket.
 *
 * The control socket (--control PATH) is a Unix stream socket that takes
 * one command a line and answers each with one line ("ok", "error: ...",
 * or JSON), so a test knows a fault is armed before it sends the request:
 *
 *   fault a|b|all KIND[=ARG][,count=N]   arm a fault (see fault_parse)
 *   fault004 a|b|all KIND[,count=N]      arm an ETSI 004 fault
 *                                        (see fault004_parse)
 *   clear a|b|all                        disarm every fault (014 and 004)
 *   rate BITS                            key generation rate, bits/s
 *   advance MS                           run the link clock MS ahead
 *   drain                                drop all stored key material
 *   drop-streams                         forget every ETSI 004 key stream
 *                                        (a KME that lost its state)
 *   stats                                counters as JSON
 *   wait-requests a|b N                  block until that KME has taken N
 *                                        requests in all (at most 30 s)
 *   quit                                 stop the simulator
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "sim.h"

static const char *const kinds[FAULT_KIND_MAX_] = {
	[FAULT_NONE] = "none",
	[FAULT_503] = "503",
	[FAULT_MALFORMED] = "malformed-json",
	[FAULT_KEY_LENGTH] = "wrong-key-length",
	[FAULT_MISMATCH] = "mismatched-ids",
	[FAULT_BAD_KEY_ID] = "bad-key-id",
	[FAULT_BAD_BASE64] = "bad-base64",
	[FAULT_WRONG_COUNT] = "wrong-count",
	[FAULT_DROP] = "drop",
	[FAULT_HTML] = "html-error",
	[FAULT_PROBLEM] = "problem-json",
	[FAULT_EMPTY] = "empty",
	[FAULT_LOSE] = "lose-answer",
};

const char *fault_name(enum fault_kind k)
{
	return (unsigned int)k < FAULT_KIND_MAX_ ? kinds[k] : "?";
}

static int parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int kind014(const char *name)
{
	for (int k = FAULT_503; k < FAULT_KIND_MAX_; k++)
		if (!strcmp(name, kinds[k]))
			return k;
	return -1;
}

static const struct {
	const char *name;
	int kind;
} kinds004[] = {
	{ "drop", FAULT_DROP },
	{ "malformed", FAULT_MALFORMED },
	{ "peer-not-connected", FAULT004_PEER_NOT_CONNECTED },
	{ "insufficient-key", FAULT004_INSUFFICIENT_KEY },
	{ "timeout", FAULT004_TIMEOUT },
	{ "no-connection", FAULT004_NO_CONNECTION },
};

static int kind004(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds004) / sizeof(kinds004[0]); i++)
		if (!strcmp(name, kinds004[i].name))
			return kinds004[i].kind;
	return -1;
}

/*
 * KIND[=ARG][,count=N]: "latency=MS" or a kind @lookup knows; merged into
 * @f (a latency and one other fault can be armed together).
 */
static int parse_spec(const char *spec, struct fault *f,
		      int (*lookup)(const char *name), const char *known,
		      char *why, size_t whylen)
{
	char buf[128], *comma, *eq;
	unsigned long count = 0, arg = 0;
	bool has_count = false;
	int k;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(why, whylen, "fault spec too long");
		return -1;
	}
	strcpy(buf, spec);
	comma = strchr(buf, ',');
	if (comma) {
		*comma++ = '\0';
		if (strncmp(comma, "count=", 6) || parse_ulong(comma + 6, &count) ||
		    !count) {
			snprintf(why, whylen, "bad \"%s\": want ,count=N with N >= 1",
				 comma);
			return -1;
		}
		has_count = true;
	}
	eq = strchr(buf, '=');
	if (eq)
		*eq++ = '\0';
	if (!strcmp(buf, "latency")) {
		if (!eq || parse_ulong(eq, &arg) || arg > 600000) {
			snprintf(why, whylen, "latency needs =MS (0 to 600000)");
			return -1;
		}
		f->latency_ms = arg;
		f->latency_count = has_count ? (long)count : -1;
		return 0;
	}
	k = lookup(buf);
	if (k < 0 || eq) {
		snprintf(why, whylen, "unknown fault \"%s\" (latency=MS, %s)", spec,
			 known);
		return -1;
	}
	f->kind = k;
	f->count = has_count ? (long)count : -1;
	return 0;
}

int fault_parse(const char *spec, struct fault *f, char *why, size_t whylen)
{
	return parse_spec(spec, f, kind014,
			  "503, malformed-json, wrong-key-length, mismatched-ids, "
			  "bad-key-id, bad-base64, wrong-count, drop, html-error, "
			  "problem-json, empty, lose-answer", why, whylen);
}

int fault004_parse(const char *spec, struct fault *f, char *why, size_t whylen)
{
	return parse_spec(spec, f, kind004,
			  "drop, malformed, peer-not-connected, insufficient-key, "
			  "timeout, no-connection", why, whylen);
}

/*
 * Count a request of @k and take its share of the faults @f: the latency,
 * and the armed kind if @any_kind or it is one every request takes (503,
 * malformed, drop, and the non-ETSI answers: HTML, problem JSON, empty).
 */
void fault_take(struct kme *k, struct fault *f, bool any_kind, int *kind,
		unsigned long *latency)
{
	pthread_mutex_lock(&k->sim->lock);
	k->requests++;
	pthread_cond_broadcast(&k->sim->request_taken);
	*latency = 0;
	if (f->latency_ms && f->latency_count) {
		*latency = f->latency_ms;
		if (f->latency_count > 0 && --f->latency_count == 0)
			f->latency_ms = 0;
	}
	*kind = FAULT_NONE;
	if (f->kind != FAULT_NONE && f->count &&
	    (any_kind || f->kind == FAULT_503 || f->kind == FAULT_MALFORMED ||
	     f->kind == FAULT_DROP || f->kind == FAULT_HTML ||
	     f->kind == FAULT_PROBLEM || f->kind == FAULT_EMPTY)) {
		*kind = f->kind;
		if (f->count > 0 && --f->count == 0)
			f->kind = FAULT_NONE;
	}
	pthread_mutex_unlock(&k->sim->lock);
}

/* Block until @k has taken @n requests in all; 0, or ETIMEDOUT after 30 s. */
static int wait_requests(struct sim *s, struct kme *k, unsigned long n)
{
	struct timespec until;
	int rc = 0, old;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	/* Not cancelled (at shutdown) while holding the lock. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&s->lock);
	while (k->requests < n && rc == 0)
		rc = pthread_cond_timedwait(&s->request_taken, &s->lock, &until);
	pthread_mutex_unlock(&s->lock);
	pthread_setcancelstate(old, NULL);
	return rc;
}

static int which_kmes(struct sim *s, const char *w, struct kme **list)
{
	if (!w)
		return 0;
	if (!strcmp(w, "a") || !strcmp(w, "all"))
		list[0] = &s->kme[0];
	if (!strcmp(w, "b") || !strcmp(w, "all"))
		list[1] = &s->kme[1];
	return list[0] || list[1] ? 0 : -1;
}

/* Run one command line; the answer (one line, no newline) goes to @reply. */
int control_command(struct sim *s, char *line, char *reply, size_t size)
{
	char *save = NULL, *cmd, *a1, *a2;
	struct kme *list[2] = { NULL, NULL };
	unsigned long v;
	int i;

	cmd = strtok_r(line, " \t\r\n", &save);
	a1 = strtok_r(NULL, " \t\r\n", &save);
	a2 = strtok_r(NULL, " \t\r\n", &save);
	if (!cmd) {
		snprintf(reply, size, "error: empty command");
		return -1;
	}
	if (!strcmp(cmd, "fault") || !strcmp(cmd, "clear") ||
	    !strcmp(cmd, "fault004")) {
		bool fault = cmd[0] == 'f', f004 = !strcmp(cmd, "fault004");

		if (which_kmes(s, a1, list) || (fault && !a2)) {
			snprintf(reply, size, "error: usage: %s",
				 f004 ? "fault004 a|b|all KIND[=ARG][,count=N]" :
				 fault ? "fault a|b|all KIND[=ARG][,count=N]"
				       : "clear a|b|all");
			return -1;
		}
		pthread_mutex_lock(&s->lock);
		for (i = 0; i < 2; i++) {
			struct fault f;

			if (!list[i])
				continue;
			if (!fault) {
				memset(&list[i]->fault, 0, sizeof(f));
				memset(&list[i]->fault004, 0, sizeof(f));
				continue;
			}
			f = f004 ? list[i]->fault004 : list[i]->fault;
			if ((f004 ? fault004_parse : fault_parse)(a2, &f, reply + 7,
								  size - 7)) {
				pthread_mutex_unlock(&s->lock);
				memcpy(reply, "error: ", 7);
				return -1;
			}
			*(f004 ? &list[i]->fault004 : &list[i]->fault) = f;
		}
		pthread_mutex_unlock(&s->lock);
		sim_log(s, "control: %s %s %s", cmd, a1, a2 ? a2 : "");
	} else if (!strcmp(cmd, "rate") || !strcmp(cmd, "advance")) {
		if (parse_ulong(a1, &v)) {
			snprintf(reply, size, "error: usage: %s NUMBER", cmd);
			return -1;
		}
		pthread_mutex_lock(&s->lock);
		if (cmd[0] == 'r') {
			link_update(s);
			s->rate = (double)v;
		} else {
			link_advance(s, (double)v);
		}
		pthread_mutex_unlock(&s->lock);
	} else if (!strcmp(cmd, "wait-requests")) {
		int rc;

		if (which_kmes(s, a1, list) || (list[0] && list[1]) ||
		    parse_ulong(a2, &v)) {
			snprintf(reply, size, "error: usage: wait-requests a|b N");
			return -1;
		}
		rc = wait_requests(s, list[0] ? list[0] : list[1], v);
		if (rc) {
			snprintf(reply, size, "error: fewer than %lu requests after 30 s", v);
			return -1;
		}
	} else if (!strcmp(cmd, "drop-streams")) {
		pthread_mutex_lock(&s->lock);
		e004_free_streams(s);
		pthread_mutex_unlock(&s->lock);
	} else if (!strcmp(cmd, "drain")) {
		pthread_mutex_lock(&s->lock);
		link_drain(s);
		pthread_mutex_unlock(&s->lock);
	} else if (!strcmp(cmd, "stats")) {
		json_t *j;
		size_t n;

		pthread_mutex_lock(&s->lock);
		j = json_pack("{sI sI sI sI sI sf sI}",
			      "stored_key_count", (json_int_t)link_stored(s),
			      "keys_waiting", (json_int_t)s->n_reserved,
			      "keys_out", (json_int_t)s->keys_out,
			      "keys_delivered", (json_int_t)s->keys_delivered,
			      "requests", (json_int_t)(s->kme[0].requests + s->kme[1].requests),
			      "rate_bps", s->rate,
			      "key_streams", (json_int_t)s->n_streams);
		pthread_mutex_unlock(&s->lock);
		n = j ? json_dumpb(j, reply, size - 1, JSON_COMPACT) : 0;
		if (!n || n >= size)
			snprintf(reply, size, "error: out of memory");
		else
			reply[n] = '\0';
		json_decref(j);
		return 0;
	} else if (!strcmp(cmd, "quit")) {
		kill(getpid(), SIGTERM);
	} else {
		snprintf(reply, size, "error: unknown command \"%.40s\"", cmd);
		return -1;
	}
	snprintf(reply, size, "ok");
	return 0;
}

static int ctl_fd = -1;
static pthread_t ctl_thread;
static char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void *ctl_main(void *arg)
{
	struct sim *s = arg;

	for (;;) {
		int fd = accept(ctl_fd, NULL, NULL);
		FILE *in;
		char line[512], reply[1024];

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		in = fdopen(fd, "r+");
		if (!in) {
			close(fd);
			continue;
		}
		while (fgets(line, sizeof(line), in)) {
			control_command(s, line, reply, sizeof(reply));
			fprintf(in, "%s\n", reply);
			fflush(in);
		}
		fclose(in);
	}
}

int control_start(struct sim *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "qktls-kme-sim: control socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	strcpy(ctl_path, path);
	unlink(path);
	ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* Only the simulator's user may arm faults (mode set before listen). */
	if (ctl_fd < 0 || bind(ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || listen(ctl_fd, 8)) {
		fprintf(stderr, "qktls-kme-sim: control socket %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (pthread_create(&ctl_thread, NULL, ctl_main, s)) {
		fprintf(stderr, "qktls-kme-sim: cannot start the control thread\n");
		return -1;
	}
	return 0;
}

void control_stop(void)
{
	if (ctl_fd < 0)
		return;
	shutdown(ctl_fd, SHUT_RDWR);
	pthread_cancel(ctl_thread);
	pthread_join(ctl_thread, NULL);
	close(ctl_fd);
	unlink(ctl_path);
	ctl_fd = -1;
}
