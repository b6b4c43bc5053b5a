// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-bench-scale: many attached kTLS sockets at once.
 *
 * --conns loopback TCP connections (default 1000) with TLS 1.3 kTLS both
 * ways, both ends attached to qktls.ko (2 x conns attached sockets) with a
 * policy of a QKD TX rekey every --rekey bytes (default 1 MiB).  Then data
 * flows on --active of them at once (default 100): a writer thread per
 * connection sends --bytes (default 4 MiB) in 16 KiB write() calls, a
 * reader thread reads them with read() and checks every byte; qktls.ko
 * rekeys inside the writes by the policy and follows inside the reads.
 *
 * Printed: the kernel memory of the attachments from /proc/slabinfo (the
 * qktls_sock cache, every kmalloc cache, and all slab caches; before the
 * connections, with them keyed but not attached, attached, and after they
 * closed), the time of the attaches, of the data, of one "qktls sock show
 * ID", of the "qktls sock show" and "qktls -j sock show" dumps, the rekeys
 * the module counted (netlink, per socket) against the policy, and whether
 * the memory came back.  Fails when a byte differs, a stream breaks, the
 * module's counters disagree with the policy, a dump misses sockets, or
 * the qktls_sock cache does not come back to where it started.
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

/* The uapi header (through qktls_nl.h) first: sock.h defers to its flags. */
#include "../../tests/lib/ktls.h"
#include "../../tests/lib/qktls_nl.h"

#include <qktls/keysched.h>
#include <qktls/ktls.h>
#include <qktls/sock.h>

#include "bench.h"

#define PROG		"qktls-bench-scale"
#define RECORD		16384		/* bytes per write() */
#define PATTERN		(4 * MiB)	/* random data; a copy follows it */

extern char **environ;

struct opts {
	unsigned int conns, active;
	uint64_t bytes, rekey;
	const char *qktls, *json, *csv, *slab;
};

static uint8_t *pattern;	/* 2 x PATTERN: any window of PATTERN is contiguous */

/* Where connection @i's stream starts in the pattern. */
static size_t start_of(unsigned int i)
{
	return (size_t)(i * 65537ULL % PATTERN);
}

/* ---- data ------------------------------------------------------------------------ */

struct flow {
	int fd;
	unsigned int i;
	uint64_t bytes;
	uint64_t got;
	char why[160];
};

static void *writer_main(void *arg)
{
	struct flow *w = arg;
	uint64_t off = 0;

	while (off < w->bytes) {
		size_t n = w->bytes - off < RECORD ? (size_t)(w->bytes - off) : RECORD;
		ssize_t k = write_full(w->fd, pattern + (start_of(w->i) + off) % PATTERN, n);

		if (k < 0) {
			snprintf(w->why, sizeof(w->why), "connection %u: write: %s",
				 w->i, strerror((int)-k));
			break;
		}
		off += n;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct flow *r = arg;
	uint8_t buf[4 * RECORD];
	ssize_t n;

	for (;;) {
		n = read(r->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			snprintf(r->why, sizeof(r->why), "connection %u: read: %s",
				 r->i, strerror(errno));
		if (n <= 0)
			break;
		if (memcmp(buf, pattern + (start_of(r->i) + r->got) % PATTERN, (size_t)n)) {
			snprintf(r->why, sizeof(r->why),
				 "connection %u: bytes %llu.. differ from those sent",
				 r->i, (unsigned long long)r->got);
			break;
		}
		r->got += (uint64_t)n;
	}
	return NULL;
}

/* Data on the first @o->active pairs at once; seconds it took. */
static double flow(const struct opts *o, struct pair *p)
{
	unsigned int n = o->active, i;
	struct flow *w = calloc(n, sizeof(*w)), *r = calloc(n, sizeof(*r));
	pthread_t *tw = calloc(n, sizeof(*tw)), *tr = calloc(n, sizeof(*tr));
	double t0;

	if (!w || !r || !tw || !tr)
		die("out of memory");
	t0 = now();
	for (i = 0; i < n; i++) {
		w[i] = (struct flow){ .fd = p[i].c, .i = i, .bytes = o->bytes };
		r[i] = (struct flow){ .fd = p[i].s, .i = i };
		if (pthread_create(&tr[i], NULL, reader_main, &r[i]) ||
		    pthread_create(&tw[i], NULL, writer_main, &w[i]))
			die("cannot start the threads of connection %u", i);
	}
	for (i = 0; i < n; i++) {
		pthread_join(tw[i], NULL);
		pthread_join(tr[i], NULL);
	}
	t0 = now() - t0;
	for (i = 0; i < n; i++) {
		if (w[i].why[0])
			die("%s", w[i].why);
		if (r[i].why[0])
			die("%s", r[i].why);
		if (r[i].got != o->bytes)
			die("connection %u: the reader got %llu bytes of %llu", i,
			    (unsigned long long)r[i].got, (unsigned long long)o->bytes);
	}
	free(w);
	free(r);
	free(tw);
	free(tr);
	return t0;
}

/* ---- the admin tool ------------------------------------------------------------------ */

/* Run qktls ARGS with stdout into @out; seconds it took.  Fails unless 0. */
static double run_qktls_once(const struct opts *o, const char *out, char *const *args)
{
	posix_spawn_file_actions_t fa;
	char *argv[8];
	double t0;
	pid_t pid;
	int i, st;

	argv[0] = (char *)o->qktls;
	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t0 = now();
	if (posix_spawn(&pid, o->qktls, &fa, NULL, argv, environ))
		die("cannot run %s", o->qktls);
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid: %s", strerror(errno));
	t0 = now() - t0;
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("%s %s %s: failed (status %d)", o->qktls, args[0], args[1] ? args[1] : "", st);
	return t0;
}

/*
 * The median of TIMES runs of each of the @n commands @args, taken in
 * rounds (each command once per round), into @t.  A busy host makes any
 * one run's time meaningless.
 */
#define TIMES 5
static void time_qktls(const struct opts *o, const char *const *out,
		       char **const *args, double *t, unsigned int n)
{
	struct samples s[8] = { { 0 } };
	unsigned int i, j;

	for (i = 0; i < TIMES; i++)
		for (j = 0; j < n; j++)
			sample_add(&s[j], run_qktls_once(o, out[j], args[j]));
	for (j = 0; j < n; j++) {
		t[j] = quantile(&s[j], 0.5);
		samples_free(&s[j]);
	}
}

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c;

	if (!f)
		die("%s: %s", path, strerror(errno));
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [--conns N] [--active N] [--bytes SIZE] [--rekey SIZE]\n"
	      "                         [--qktls PATH] [--json FILE] [--csv FILE]\n"
	      "                         [--slab-csv FILE]\n"
	      "N loopback kTLS connections (default 1000), both ends attached to\n"
	      "qktls.ko with a QKD rekey every --rekey bytes (default 1M); data on\n"
	      "--active of them at once (default 100), --bytes each (default 4M),\n"
	      "checked.  --qktls: the admin tool to time (default build/bin/qktls);\n"
	      "--json: keep its JSON dump there.  --csv: the figures; --slab-csv: the\n"
	      "slab figures of each phase.  Needs root, tls and qktls.ko with\n"
	      "kTLS rekey (Linux 6.14 or later); see Documentation/benchmarks.rst.\n", f);
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("cannot allow %llu open files: %s", (unsigned long long)want,
		    strerror(errno));
}

static FILE *slab_csv;

static void print_slab(const char *when, const struct slab *s, const struct slab *base)
{
	if (slab_csv)
		fprintf(slab_csv, "\"%s\",%lld,%lld,%lld,%lld\n", when, s->qk_objs,
			s->qk_bytes, s->kmalloc - base->kmalloc, s->all - base->all);
	printf("  %-34s qktls_sock %6lld objects %9lld B   kmalloc %+11lld B   all slab %+11lld B\n",
	       when, s->qk_objs, s->qk_bytes, s->kmalloc - base->kmalloc,
	       s->all - base->all);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "conns", required_argument, NULL, 'n' },
		{ "active", required_argument, NULL, 'a' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "rekey", required_argument, NULL, 'r' },
		{ "qktls", required_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, 'c' },
		{ "slab-csv", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.conns = 1000, .active = 100, .bytes = 4 * MiB, .rekey = MiB,
		.qktls = "build/bin/qktls", .json = "/tmp/qktls-bench-scale.json",
	};
	const uint16_t suite = QKTLS_TLS_AES_256_GCM_SHA384;
	uint64_t want, next = 1, tx = 0, rx = 0, tx_qkd = 0, errs = 0;
	struct slab s0, s1, s2, s3, s4;
	double t_attach, t_flow, t_one, t_dump, t_json, t_close, t_back, t_ver;
	struct bench_context ctx;
	struct qktls_nl *nl;
	struct pair *p;
	unsigned int i, socks;
	char id[32], *one[] = { "sock", "show", id, NULL };
	char *dump[] = { "sock", "show", NULL }, *jdump[] = { "-j", "sock", "show", NULL };
	char *version[] = { "--version", NULL };
	FILE *csv;
	struct qk q;
	long rows;
	int c, err;

	bench_prog = PROG;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.conns = (unsigned int)parse_uint("--conns", optarg, 1, 30000);
			break;
		case 'a':
			o.active = (unsigned int)parse_uint("--active", optarg, 0, 30000);
			break;
		case 'b':
			o.bytes = parse_size("--bytes", optarg);
			break;
		case 'r':
			o.rekey = parse_size("--rekey", optarg);
			break;
		case 'q':
			o.qktls = optarg;
			break;
		case 'j':
			o.json = optarg;
			break;
		case 'c':
			o.csv = optarg;
			break;
		case 's':
			o.slab = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument \"%s\" (see --help)", argv[optind]);
	if (o.active > o.conns)
		bad_usage("--active (%u) is more than --conns (%u)", o.active, o.conns);
	if (!o.rekey || o.rekey % RECORD || !o.bytes)
		bad_usage("--rekey must be a multiple of 16K and --bytes more than 0");
	signal(SIGPIPE, SIG_IGN);
	socks = 2 * o.conns;
	raise_nofile(socks + 64);

	err = qk_open(&q);
	if (err)
		die("no qktls generic netlink family (is qktls.ko loaded?): %s",
		    strerror(-err));
	if (qktls_nl_open(&nl))
		die("cannot open a libqktls netlink handle");
	err = qktls_ktls_rekey_supported();
	if (err <= 0)
		die("%s", err < 0 ? qktls_strerror(err) :
		    "kernel has no kTLS rekey (needs Linux 6.14 or later)");
	pattern = malloc(2 * PATTERN);
	p = calloc(o.conns, sizeof(*p));
	if (!pattern || !p)
		die("out of memory");
	if (RAND_bytes(pattern, PATTERN) != 1)
		die("no random bytes");
	memcpy(pattern + PATTERN, pattern, PATTERN);

	/* Keys for every rekey of the flowing connections (client TX). */
	want = o.active * ((o.bytes - 1) / o.rekey);
	pools_create(&q, (uint32_t)(want + 64));
	pools_fill(&q, POOL_C_C2S, POOL_S_C2S, (unsigned int)want, &next);

	bench_context(&ctx);
	bench_context_print(&ctx);
	printf("scale: %u loopback connections, kTLS %s, both ends attached (%u sockets),\n"
	       "a QKD TX rekey every %llu KiB on each; data on %u of them at once, %llu KiB each\n",
	       o.conns, qktls_suite_info(suite)->name, socks,
	       (unsigned long long)(o.rekey / 1024), o.active,
	       (unsigned long long)(o.bytes / 1024));
	fflush(stdout);

	slab_read(&s0);
	for (i = 0; i < o.conns; i++)
		pair_key(&p[i], suite);
	slab_read(&s1);
	t_attach = now();
	for (i = 0; i < o.conns; i++)
		pair_attach(&p[i], nl, true, o.rekey);
	t_attach = now() - t_attach;
	slab_read(&s2);

	t_flow = o.active ? flow(&o, p) : 0;

	/* The module's counters of every socket, through netlink. */
	for (i = 0; i < o.conns; i++) {
		struct qktls_sock_info ci, si;
		uint64_t w = i < o.active ? (o.bytes - 1) / o.rekey : 0;

		if (qktls_sock_get(nl, p[i].c, &ci) || qktls_sock_get(nl, p[i].s, &si))
			die("sock get: %s", qktls_nl_error(nl));
		if (ci.stats.tx_rekeys != w || si.stats.rx_rekeys != w ||
		    ci.stats.tx_qkd_rekeys != w || si.stats.rx_qkd_rekeys != w ||
		    ci.stats.rx_rekeys || si.stats.tx_rekeys)
			die("connection %u: the module counted client TX %llu (QKD %llu), server RX %llu "
			    "(QKD %llu) rekeys; the policy makes %llu", i,
			    (unsigned long long)ci.stats.tx_rekeys,
			    (unsigned long long)ci.stats.tx_qkd_rekeys,
			    (unsigned long long)si.stats.rx_rekeys,
			    (unsigned long long)si.stats.rx_qkd_rekeys, (unsigned long long)w);
		tx += ci.stats.tx_rekeys;
		rx += si.stats.rx_rekeys;
		tx_qkd += ci.stats.tx_qkd_rekeys;
		errs += ci.stats.rekey_errors + si.stats.rekey_errors;
	}
	if (errs)
		die("the module counted %llu failed rekeys", (unsigned long long)errs);

	/* The admin tool over all of them. */
	snprintf(id, sizeof(id), "%llu", (unsigned long long)p[0].c_id);
	/* The baseline: the tool's start and exit, no request. */
	{
		const char *out[] = { "/dev/null", "/dev/null", "/tmp/qktls-bench-scale.txt",
				      o.json };
		char **const args[] = { version, one, dump, jdump };
		double t[4];

		time_qktls(&o, out, args, t, 4);
		t_ver = t[0];
		t_one = t[1];
		t_dump = t[2];
		t_json = t[3];
	}
	rows = count_lines("/tmp/qktls-bench-scale.txt") - 1;
	if (rows < socks)
		die("qktls sock show listed %ld sockets, %u are attached", rows, socks);
	slab_read(&s3);

	t_close = now();
	for (i = 0; i < o.conns; i++)
		pair_close(&p[i]);
	t_close = now() - t_close;
	/*
	 * Attachments go after an RCU grace period: wait for the cache (shrunk
	 * at each read), 30 s at most.
	 */
	t_back = now();
	do {
		slab_read(&s4);
		if (s4.qk_objs <= s0.qk_objs)
			break;
		usleep(100 * 1000);
	} while (now() - t_back < 30);
	t_back = now() - t_back;

	printf("\nattach: %u sockets in %.3f s (%.1f us each)\n", socks, t_attach,
	       t_attach / socks * 1e6);
	if (o.active)
		printf("data: %u connections x %llu KiB at once in %.2f s (%.1f MiB/s in all), "
		       "every byte checked\n", o.active, (unsigned long long)(o.bytes / 1024),
		       t_flow, o.active * (double)o.bytes / MiB / t_flow);
	printf("rekeys (module counters, netlink, per socket): client TX %llu (QKD %llu), "
	       "server RX %llu; the policy makes %llu; errors 0\n",
	       (unsigned long long)tx, (unsigned long long)tx_qkd, (unsigned long long)rx,
	       (unsigned long long)want);
	printf("admin tool with %u attached sockets, median of %d runs, against \"qktls --version\"\n"
	       "  (%.1f ms: the tool's start and exit) in the same rounds:\n", socks, TIMES,
	       t_ver * 1e3);
	printf("  \"qktls sock show ID\"  %8.1f ms  %6.2f\n", t_one * 1e3, t_one / t_ver);
	printf("  \"qktls sock show\"     %8.1f ms  %6.2f  (%ld rows)\n", t_dump * 1e3,
	       t_dump / t_ver, rows);
	printf("  \"qktls -j sock show\"  %8.1f ms  %6.2f\n", t_json * 1e3, t_json / t_ver);
	slab_csv = bench_csv_open(o.slab, "phase,qktls_sock_objects,qktls_sock_bytes,"
				  "kmalloc_bytes_vs_start,slab_bytes_vs_start");
	printf("\nkernel memory (/proc/slabinfo: objects in use x object size; kmalloc and all\n"
	       "slab caches against the start):\n");
	print_slab("start (pools filled)", &s0, &s0);
	print_slab("connections keyed (kTLS only)", &s1, &s0);
	print_slab("all attached", &s2, &s0);
	print_slab("after the data and the dumps", &s3, &s0);
	print_slab("closed", &s4, &s0);
	if (slab_csv && fclose(slab_csv))
		die("%s: %s", o.slab, strerror(errno));
	printf("per attached socket: qktls_sock %.0f B, kmalloc %.0f B, all slab %.0f B\n"
	       "  (attached minus keyed, over %u sockets); baseline: a keyed kTLS socket\n"
	       "  takes %.0f B of all slab, so attaching adds %.2f of that\n",
	       (double)(s2.qk_bytes - s1.qk_bytes) / socks,
	       (double)(s2.kmalloc - s1.kmalloc) / socks,
	       (double)(s2.all - s1.all) / socks, socks,
	       (double)(s1.all - s0.all) / socks,
	       s1.all > s0.all ? (double)(s2.all - s1.all) / (s1.all - s0.all) : 0);
	printf("closed in %.3f s; qktls_sock back to %lld objects (%lld at the start) after %.2f s;\n"
	       "  kmalloc %+lld B, all slab %+lld B against the start\n",
	       t_close, s4.qk_objs, s0.qk_objs, t_back, s4.kmalloc - s0.kmalloc,
	       s4.all - s0.all);
	csv = bench_csv_open(o.csv, "kernel,accel,conns,sockets,active,bytes_each,rekey_bytes,"
			     "rekeys_tx,rekeys_rx,attach_us_per_sock,flow_mibps,version_ms,sock_show_one_ms,"
			     "sock_show_dump_ms,sock_show_json_ms,qktls_sock_b_per_sock,"
			     "kmalloc_b_per_sock,slab_b_per_sock,slab_b_after_close");
	if (csv) {
		fprintf(csv, "%s,%s,%u,%u,%u,%llu,%llu,%llu,%llu,%.1f,%.2f,%.2f,%.2f,%.2f,%.2f,%.1f,%.1f,%.1f,%lld\n",
			ctx.kernel, ctx.accel, o.conns, socks, o.active,
			(unsigned long long)o.bytes, (unsigned long long)o.rekey,
			(unsigned long long)tx, (unsigned long long)rx,
			t_attach / socks * 1e6,
			o.active ? o.active * (double)o.bytes / MiB / t_flow : 0,
			t_ver * 1e3, t_one * 1e3, t_dump * 1e3, t_json * 1e3,
			(double)(s2.qk_bytes - s1.qk_bytes) / socks,
			(double)(s2.kmalloc - s1.kmalloc) / socks,
			(double)(s2.all - s1.all) / socks, s4.all - s0.all);
		if (fclose(csv))
			die("%s: %s", o.csv, strerror(errno));
	}
	pools_delete(&q);
	qktls_nl_close(nl);
	qk_close(&q);
	free(p);
	free(pattern);
	if (s4.qk_objs > s0.qk_objs)
		die("the qktls_sock cache still holds %lld objects, %lld at the start",
		    s4.qk_objs, s0.qk_objs);
	return 0;
}
