// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls-bench-rekey: what qktls.ko's TX rekeys cost a kTLS stream.
 *
 * A loopback TCP pair with TLS 1.3 kTLS both ways is attached to qktls.ko
 * (QKTLS_CMD_SOCK_ATTACH through libqktls: both traffic secrets, a QKD pool
 * per direction, and a rekey policy of R bytes, QKTLS_A_SOCK_REKEY_BYTES).
 * The client sends 16 KiB per call, with plain write() or with plain
 * sendfile() from a memfd; the module rekeys TX by the policy inside the
 * call that comes after every R bytes (key-reference record, KeyUpdate
 * record, switch, then the call's data).  A reader thread on the server
 * reads with plain read(); the module follows each update inside it.  The
 * bench asks the module for no rekey at all.
 *
 * Printed, from one boot, for write() and then for sendfile(), after a
 * warm-up run, median of --runs rounds (each round runs every interval
 * once, back to back, starting with a different one):
 *  - throughput with a rekey every 1, 16 and 256 MiB against no rekey, as
 *    the median of the ratios within a round, with their range, and the
 *    ratio the median stall implies (robust on a busy host);
 *  - the stall of one rekey: the time of the call that carried a rekey
 *    against the median of the other calls of the 1 MiB runs.
 * Every figure is a ratio of two measurements of the same boot: absolute
 * speeds under emulation mean nothing.  Asserts nothing about time; fails
 * only when I/O fails or the module's counters disagree with the policy.
 *
 * --hold is for tests/kernel/qktls_tool.sh: it sets up one attached pair,
 * prints "client ID server ID", waits for a line on stdin, rekeys TX once
 * each way on request (QKTLS_CMD_SOCK_REKEY: QKD client to server, standard
 * server to client; each peer follows in a plain read(); "rekeyed"), or,
 * on a kernel without kTLS rekey, asks for the client's TX rekey all the
 * same and prints "no-rekey" and the module's error message, and waits for
 * stdin to close.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* The uapi header (through qktls_nl.h) first: sock.h defers to its flags. */
#include "../../tests/lib/ktls.h"
#include "../../tests/lib/qktls_nl.h"

#include <qktls/keysched.h>
#include <qktls/ktls.h>
#include <qktls/sock.h>

#include "bench.h"

#define PROG		"qktls-bench-rekey"
#define RECORD		16384		/* bytes per call, one record */
#define FILE_SIZE	(16 * MiB)	/* sendfile()'s source, sent over and over */

/* How the client sends. */
enum io { IO_WRITE, IO_SENDFILE };

static const char *const io_name[] = {
	[IO_WRITE] = "write()", [IO_SENDFILE] = "sendfile()",
};

/* ---- the reader: plain read() until the writer shuts down ---------------------- */

struct reader {
	int fd;
	uint64_t bytes;
	double t_done;
	int err;		/* errno of a failed read, 0 */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	size_t len = 4 * RECORD;
	uint8_t *buf = malloc(len);
	ssize_t n;

	if (!buf) {
		r->err = ENOMEM;
		return NULL;
	}
	for (;;) {
		n = read(r->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r->bytes += (uint64_t)n;
	}
	if (n < 0)
		r->err = errno;
	r->t_done = now();
	free(buf);
	return NULL;
}

/* ---- the writer: plain write() or sendfile(), one record per call --------------- */

struct source {
	enum io io;
	int mfd;		/* sendfile(): a memfd of FILE_SIZE bytes */
	uint8_t buf[RECORD];	/* write() */
};

static void source_open(struct source *src, enum io io)
{
	uint64_t off;

	src->io = io;
	src->mfd = -1;
	memset(src->buf, 0x5a, sizeof(src->buf));
	if (io != IO_SENDFILE)
		return;
	src->mfd = memfd_create("qktls-bench-rekey", MFD_CLOEXEC);
	if (src->mfd < 0)
		die("memfd_create: %s", strerror(errno));
	for (off = 0; off < FILE_SIZE; off += RECORD)
		if (write_full(src->mfd, src->buf, RECORD) != RECORD)
			die("filling the memfd: %s", strerror(errno));
}

static void source_close(struct source *src)
{
	if (src->mfd >= 0)
		close(src->mfd);
}

/* One call: @n bytes at stream offset @sent. */
static void send_call(const struct source *src, int fd, uint64_t sent, size_t n)
{
	ssize_t k;

	if (src->io == IO_WRITE)
		k = write_full(fd, src->buf, n);
	else
		k = sendfile_full(fd, src->mfd, (long)(sent % FILE_SIZE), n);
	if (k < 0)
		die("%s after %llu bytes: %s", io_name[src->io],
		    (unsigned long long)sent, strerror((int)-k));
}

/*
 * Does the call starting at stream offset @off carry a rekey?  The module
 * rekeys inside the first call made once @every bytes went under the key
 * (uapi/linux/qktls.h: a write "first rekeys TX when the policy is due,
 * then sends its data"); every interval is a multiple of RECORD, so that is
 * the call starting at a multiple of @every.
 */
static bool carries_rekey(uint64_t off, uint64_t every)
{
	return every && off && off % every == 0;
}

/* Rekeys the policy makes in a run of @total bytes. */
static uint64_t rekeys_expected(uint64_t total, uint64_t every)
{
	return every && total ? (total - 1) / every : 0;
}

/* ---- one run -------------------------------------------------------------------- */

struct run {
	double secs;		/* first call to the reader's end */
	uint64_t rekeys;	/* as the module counted them */
	struct samples rekey_calls;	/* time of the calls that carried one */
	struct samples other_calls;	/* time of the other calls */
};

/* The module's counters of both ends against the policy's rekeys. */
static void check_counters(struct qktls_nl *nl, const struct pair *p,
			   bool qkd, uint64_t want, uint64_t every)
{
	struct qktls_sock_info ci, si;

	if (qktls_sock_get(nl, p->c, &ci) || qktls_sock_get(nl, p->s, &si))
		die("sock get: %s", qktls_nl_error(nl));
	if (ci.stats.tx_rekeys != want || si.stats.rx_rekeys != want ||
	    (qkd && (ci.stats.tx_qkd_rekeys != want ||
		     si.stats.rx_qkd_rekeys != want)) ||
	    ci.stats.rekey_errors || si.stats.rekey_errors)
		die("module counters disagree with a policy of %llu bytes: client tx %llu "
		    "(qkd %llu), server rx %llu (qkd %llu), errors %llu/%llu; want %llu, "
		    "one before each call that starts past a multiple of the policy",
		    (unsigned long long)every,
		    (unsigned long long)ci.stats.tx_rekeys,
		    (unsigned long long)ci.stats.tx_qkd_rekeys,
		    (unsigned long long)si.stats.rx_rekeys,
		    (unsigned long long)si.stats.rx_qkd_rekeys,
		    (unsigned long long)ci.stats.rekey_errors,
		    (unsigned long long)si.stats.rekey_errors,
		    (unsigned long long)want);
}

static void run_once(struct qk *q, struct qktls_nl *nl, const struct source *src,
		     uint16_t suite, bool qkd, uint64_t total, uint64_t every,
		     uint64_t *next_key, struct run *out)
{
	uint64_t want = rekeys_expected(total, every), sent = 0;
	struct reader rd = { 0 };
	pthread_t th;
	struct pair p;
	double t0, t;

	memset(out, 0, sizeof(*out));
	sample_reserve(&out->rekey_calls, want + 1);
	sample_reserve(&out->other_calls, total / RECORD + 1);
	if (want && qkd)
		pools_fill(q, POOL_C_C2S, POOL_S_C2S, (unsigned int)want, next_key);
	pair_open(&p, nl, suite, qkd, every);
	rd.fd = p.s;
	if (pthread_create(&th, NULL, reader_main, &rd))
		die("cannot start the reader thread");
	t0 = t = now();
	while (sent < total) {
		size_t n = total - sent < RECORD ? (size_t)(total - sent) : RECORD;
		double t1;

		send_call(src, p.c, sent, n);
		t1 = now();
		sample_add(carries_rekey(sent, every) ? &out->rekey_calls :
			   &out->other_calls, t1 - t);
		t = t1;
		sent += n;
	}
	shutdown(p.c, SHUT_WR);
	pthread_join(th, NULL);
	if (rd.err)
		die("reader: read: %s", strerror(rd.err));
	if (rd.bytes != total)
		die("the reader got %llu bytes, the writer sent %llu",
		    (unsigned long long)rd.bytes, (unsigned long long)total);
	out->secs = rd.t_done - t0;
	check_counters(nl, &p, qkd, want, every);
	out->rekeys = want;
	pair_close(&p);
}

static void run_free(struct run *r)
{
	free(r->rekey_calls.v);
	free(r->other_calls.v);
}

/* ---- one I/O mode: rounds and the tables ------------------------------------------ */

/* Rekey intervals, no rekey first: the reference of every ratio. */
static const uint64_t every[] = { 0, 256 * MiB, 16 * MiB, 1 * MiB };
enum { N_EVERY = sizeof(every) / sizeof(every[0]) };

struct bench {
	struct qk *q;
	struct qktls_nl *nl;
	uint16_t suite;
	bool qkd;
	uint64_t total;
	unsigned int runs;
	uint64_t next_key;
};

struct results {
	struct samples thr[N_EVERY], ratio[N_EVERY];
	uint64_t rekeys[N_EVERY];
	struct samples rekey_calls, other_calls;	/* of the 1 MiB runs */
};

/*
 * Rounds: every interval once, back to back, starting with a different
 * one each round.  A ratio is taken within a round, so slow drift of the
 * machine cancels out.
 */
static void measure(struct bench *b, const struct source *src, struct results *res)
{
	unsigned int i, j, k;
	struct run r;

	/* A warm-up run, not counted: first use of every code path. */
	run_once(b->q, b->nl, src, b->suite, b->qkd, 64 * MiB, 0, &b->next_key, &r);
	run_free(&r);
	for (i = 0; i < b->runs; i++) {
		double t[N_EVERY];

		for (k = 0; k < N_EVERY; k++) {
			j = (i + k) % N_EVERY;
			run_once(b->q, b->nl, src, b->suite, b->qkd, b->total,
				 every[j], &b->next_key, &r);
			t[j] = b->total / r.secs / MiB;
			sample_add(&res->thr[j], t[j]);
			res->rekeys[j] = r.rekeys;
			if (every[j] == 1 * MiB) {
				samples_append(&res->rekey_calls, &r.rekey_calls);
				samples_append(&res->other_calls, &r.other_calls);
			}
			run_free(&r);
		}
		for (j = 0; j < N_EVERY; j++)
			sample_add(&res->ratio[j], t[j] / t[0]);
	}
}

/*
 * The throughput table.  The median stall per rekey also predicts the
 * ratio: an interval's time at the no-rekey speed against that time plus
 * one stall.  It is far less sensitive to a busy host than the measured
 * ratio, whose range shows how busy the host was.
 */
static void print_table(struct results *res, double stall)
{
	double base = quantile(&res->thr[0], 0.5);
	unsigned int j;

	printf("%-12s %7s %10s %12s %18s %14s\n", "rekey every", "rekeys",
	       "MiB/s", "vs no rekey", "(min .. max)", "from stall");
	for (j = 0; j < N_EVERY; j++) {
		double span = every[j] / (base * MiB);
		char label[32];

		if (every[j])
			snprintf(label, sizeof(label), "%llu MiB",
				 (unsigned long long)(every[j] / MiB));
		else
			snprintf(label, sizeof(label), "no rekey");
		printf("%-12s %7llu %10.1f %12.3f %8.3f .. %-7.3f %14.4f\n", label,
		       (unsigned long long)res->rekeys[j], quantile(&res->thr[j], 0.5),
		       quantile(&res->ratio[j], 0.5), quantile(&res->ratio[j], 0),
		       quantile(&res->ratio[j], 1), every[j] ? span / (span + stall) : 1.0);
	}
}

/* The call that carried a rekey against the median of the others. */
static void print_stall(struct results *res, enum io io, double other, double stall)
{
	struct samples *rc = &res->rekey_calls;
	double med = quantile(rc, 0.5);

	printf("one rekey's stall (%zu rekeys of the 1 MiB runs): the %s that carried it,\n"
	       "against the median of the other %zu calls (%.1f us, one 16 KiB record each):\n",
	       rc->n, io_name[io], res->other_calls.n, other * 1e6);
	printf("  median %.1f us (%.2f calls), p99 %.1f us (%.2f), max %.1f us (%.2f);"
	       " stall %.1f us\n",
	       med * 1e6, other > 0 ? med / other : 0,
	       quantile(rc, 0.99) * 1e6, other > 0 ? quantile(rc, 0.99) / other : 0,
	       quantile(rc, 1) * 1e6, other > 0 ? quantile(rc, 1) / other : 0,
	       stall * 1e6);
}

static void results_free(struct results *res)
{
	unsigned int j;

	for (j = 0; j < N_EVERY; j++) {
		free(res->thr[j].v);
		free(res->ratio[j].v);
	}
	free(res->rekey_calls.v);
	free(res->other_calls.v);
}

static void bench_io(struct bench *b, enum io io)
{
	struct results res = { 0 };
	struct source *src = malloc(sizeof(*src));
	double other, stall;

	if (!src)
		die("out of memory");
	source_open(src, io);
	printf("\nplain %s, one 16 KiB record per call:\n", io_name[io]);
	fflush(stdout);
	measure(b, src, &res);
	other = quantile(&res.other_calls, 0.5);
	stall = quantile(&res.rekey_calls, 0.5) - other;
	if (stall < 0)
		stall = 0;
	print_table(&res, stall);
	print_stall(&res, io, other, stall);
	fflush(stdout);
	results_free(&res);
	source_close(src);
	free(src);
}

/* ---- --hold: one attached pair for the admin tool's test ----------------------- */

/* Read exactly @want from @fd (the module consumes the records before it). */
static void expect_data(int fd, const char *want)
{
	char buf[16];
	size_t len = strlen(want);
	ssize_t n = read_full(fd, buf, len);

	if (n != (ssize_t)len || memcmp(buf, want, len))
		die("hold: expected \"%s\", read %zd bytes%s%s", want, n,
		    n < 0 ? ": " : "", n < 0 ? strerror((int)-n) : "");
}

static int hold(struct qk *q, struct qktls_nl *nl, uint16_t suite, bool rekey)
{
	char line[256];
	uint64_t next = 1;
	struct pair p;
	int err;

	pools_fill(q, POOL_C_C2S, POOL_S_C2S, 4, &next);
	pools_fill(q, POOL_C_S2C, POOL_S_S2C, 4, &next);
	/* 6.12 refuses a rekey policy at attach. */
	pair_open(&p, nl, suite, true, rekey ? 16 * MiB : 0);
	printf("client %llu server %llu\n", (unsigned long long)p.c_id,
	       (unsigned long long)p.s_id);
	fflush(stdout);
	/* A line on stdin says go (so that monitors can start first). */
	if (!fgets(line, sizeof(line), stdin))
		goto out;
	if (!rekey) {
		/* The module must refuse it, and say why. */
		err = qktls_sock_rekey_tx(nl, p.c, QKTLS_REKEY_QKD, NULL);
		printf("no-rekey %d %s\n", err, err < 0 ? qktls_nl_error(nl) : "");
		fflush(stdout);
		goto wait;
	}

	/* Client to server: a QKD update, data under the new key, read. */
	err = qktls_sock_rekey_tx(nl, p.c, QKTLS_REKEY_QKD, NULL);
	if (err < 0)
		die("hold: client TX rekey: %s", qktls_nl_error(nl));
	if (write_full(p.c, "ping", 4) != 4)
		die("hold: write: %s", strerror(errno));
	expect_data(p.s, "ping");

	/* Server to client: a standard update. */
	if (qktls_sock_rekey_tx(nl, p.s, 0, NULL) < 0)
		die("hold: server TX rekey: %s", qktls_nl_error(nl));
	if (write_full(p.s, "pong", 4) != 4)
		die("hold: write: %s", strerror(errno));
	expect_data(p.c, "pong");
	puts("rekeyed");
	fflush(stdout);
wait:
	while (fgets(line, sizeof(line), stdin))
		;
out:
	pair_close(&p);
	return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fputs("Usage: " PROG " [--total SIZE] [--runs N] [--io write|sendfile|both]\n"
	      "                         [--suite NAME] [--standard]\n"
	      "       " PROG " --hold [--suite NAME]\n"
	      "SIZE is bytes per run, with an optional K, M or G (binary) suffix\n"
	      "(default 512M; more than 256M, so that a rekey every 256 MiB happens).\n"
	      "N runs of every rekey interval, in turn (default 3); medians are\n"
	      "printed.  --io: the client's calls, plain write(), sendfile() or\n"
	      "both in turn (default).  --suite: TLS_AES_256_GCM_SHA384 (default),\n"
	      "TLS_AES_128_GCM_SHA256 or TLS_CHACHA20_POLY1305_SHA256.\n"
	      "--standard: RFC 8446 updates instead of QKD ones.  Needs\n"
	      "CAP_NET_ADMIN, tls and qktls.ko; see qktls-bench-rekey(1).\n", f);
}

/* --io: a bit per enum io. */
static unsigned int parse_io(const char *s)
{
	if (!strcmp(s, "write"))
		return 1U << IO_WRITE;
	if (!strcmp(s, "sendfile"))
		return 1U << IO_SENDFILE;
	if (!strcmp(s, "both"))
		return 1U << IO_WRITE | 1U << IO_SENDFILE;
	bad_usage("--io: \"%s\" is not write, sendfile or both", s);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "total", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, 'r' },
		{ "io", required_argument, NULL, 'i' },
		{ "suite", required_argument, NULL, 's' },
		{ "standard", no_argument, NULL, 'S' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct qktls_suite_info *si =
		qktls_suite_info(QKTLS_TLS_AES_256_GCM_SHA384);
	struct bench b = { .qkd = true, .total = 512 * MiB, .runs = 3, .next_key = 1 };
	unsigned int ios = 1U << IO_WRITE | 1U << IO_SENDFILE;
	bool do_hold = false;
	struct qk q;
	int c, err;

	bench_prog = PROG;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			b.total = parse_size("--total", optarg);
			break;
		case 'r':
			b.runs = (unsigned int)parse_uint("--runs", optarg, 1, 1000);
			break;
		case 'i':
			ios = parse_io(optarg);
			break;
		case 's':
			si = qktls_suite_by_name(optarg);
			if (!si)
				bad_usage("--suite: unknown cipher suite \"%s\"", optarg);
			break;
		case 'S':
			b.qkd = false;
			break;
		case 'H':
			do_hold = true;
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
	if (b.total <= every[1])
		bad_usage("--total must be more than 256M, so that the 256 MiB interval rekeys");
	b.suite = si->suite;
	signal(SIGPIPE, SIG_IGN);	/* a failed call says why instead */

	err = qk_open(&q);
	if (err)
		die("no qktls generic netlink family (is qktls.ko loaded?): %s",
		    strerror(-err));
	b.q = &q;
	if (qktls_nl_open(&b.nl))
		die("cannot open a libqktls netlink handle");
	err = qktls_ktls_rekey_supported();
	if (err < 0)
		die("%s", qktls_strerror(err));
	/* Room for every key of a run with a rekey every MiB, and then some. */
	pools_create(&q, (uint32_t)(b.total / MiB + 4096));
	if (do_hold) {
		err = hold(&q, b.nl, b.suite, err > 0);
		goto out;
	}
	if (!err)
		die("kernel has no kTLS rekey (TLS 1.3 key update needs Linux 6.14 or later)");

	printf("%s, %s key updates by qktls.ko's policy (no rekey request), "
	       "%llu MiB per run, median of %u runs\n",
	       si->name, b.qkd ? "QKD" : "standard",
	       (unsigned long long)(b.total / MiB), b.runs);
	if (ios & 1U << IO_WRITE)
		bench_io(&b, IO_WRITE);
	if (ios & 1U << IO_SENDFILE)
		bench_io(&b, IO_SENDFILE);
	err = 0;
out:
	pools_delete(&q);
	qktls_nl_close(b.nl);
	qk_close(&q);
	return err ? 1 : 0;
}
