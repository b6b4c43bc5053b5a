// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rekey soak: QKTLS_SOAK_CONNS (200) TCP connections between two
 * network namespaces joined by veth, TLS 1.3 kTLS both ways (the three
 * suites in turn), both ends attached to qktls.ko with a QKD rekey every
 * QKTLS_SOAK_REKEY bytes (64 KiB) each way.  For QKTLS_SOAK_SECONDS (30;
 * `make soak-kernel`: 600) every connection carries data both ways at
 * once, in writes of varying size, and every byte read is checked; the
 * main thread keeps the pools fed as an agent would (the receiving end's
 * copy of a key first).  Then every connection must have delivered all
 * it sent, and the module's counters must match: each end's TX rekeys
 * = (bytes - 1) / policy, all of them QKD, the peer's RX rekeys the same,
 * no rekey or RX errors.
 *
 * The module is loaded by the test and unloaded after it, the connections
 * living in a child process that has exited by then: kernel memory
 * (every slab cache's objects in use after shrinking, and Slab: of
 * /proc/meminfo) is measured before the load, with the namespaces already
 * there, and must come back within SLAB_SLACK, KMALLOC_SLACK and
 * MEMINFO_SLACK once everything is closed and the module gone; the qktls
 * caches must be gone.  Runs first in the suite, with qktls unloaded
 * (tests/kernel/run); run alone with qktls loaded, it unloads it first
 * and loads it again at the end.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/rand.h>

/* The uapi header (through qktls_nl.h) first: sock.h defers to its flags. */
#include "kselftest_harness.h"
#include "../lib/ktls.h"
#include "../lib/qktls_nl.h"

#include <qktls/keysched.h>
#include <qktls/ktls.h>
#include <qktls/sock.h>

#include "../../tools/bench/bench.h"

#define NS_A		"qksoak-a"	/* clients */
#define NS_B		"qksoak-b"	/* servers */
#define ADDR_B		"10.77.0.2"
#define PATTERN		(4 * MiB)
#define MAX_WRITE	(64 * 1024)
#define CAPACITY	16384		/* keys per pool */
#define LOW		4096		/* feed a TX pool below this */
#define BATCH		4096		/* keys per feed */
/*
 * Slab memory may differ from the baseline by this much (bytes) once the
 * module is gone: caches of the kernel's own (dentries of /proc reads,
 * the netlink and TCP sockets' RCU-freed leftovers) move a little on
 * their own; a leak of one object per rekey or per connection is larger.
 */
#define SLAB_SLACK	(512 * 1024LL)
/* kmalloc caches, where the module's own allocations go: a tighter bound. */
#define KMALLOC_SLACK	(256 * 1024LL)
/* Slab: of /proc/meminfo counts whole slab pages, partly used ones too. */
#define MEMINFO_SLACK	(2 * 1024 * 1024LL)

static uint8_t *pattern;	/* 2 x PATTERN */
static volatile int stop;

struct dir {
	int wfd, rfd;
	uint64_t start, sent, got;
	uint32_t seed;
	char why[160];
};

static void *writer(void *arg)
{
	struct dir *d = arg;
	uint32_t x = d->seed | 1;

	/* One write at least, however late the thread started. */
	do {
		size_t n;
		ssize_t k;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		n = 1 + x % MAX_WRITE;
		k = write_full(d->wfd, pattern + (d->start + d->sent) % PATTERN, n);
		if (k < 0) {
			snprintf(d->why, sizeof(d->why), "write: %s", strerror((int)-k));
			break;
		}
		d->sent += n;
	} while (!stop);
	shutdown(d->wfd, SHUT_WR);
	return NULL;
}

static void *reader(void *arg)
{
	struct dir *d = arg;
	uint8_t *buf = malloc(MAX_WRITE);

	if (!buf) {
		snprintf(d->why, sizeof(d->why), "out of memory");
		return NULL;
	}
	for (;;) {
		ssize_t n = read(d->rfd, buf, MAX_WRITE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			snprintf(d->why + strlen(d->why), sizeof(d->why) - strlen(d->why),
				 " read: %s", strerror(errno));
		if (n <= 0)
			break;
		if (memcmp(buf, pattern + (d->start + d->got) % PATTERN, (size_t)n)) {
			snprintf(d->why, sizeof(d->why), "bytes %llu.. differ from those sent",
				 (unsigned long long)d->got);
			break;
		}
		d->got += (uint64_t)n;
	}
	free(buf);
	return NULL;
}

static bool was_loaded;

static bool module_loaded(void)
{
	return !access("/sys/module/qktls", F_OK);
}

static void cleanup(void)
{
	if (!getenv("QKTLS_KO"))
		return;
	qk_run("ip netns del " NS_A " 2>/dev/null; ip netns del " NS_B " 2>/dev/null");
	if (was_loaded && !module_loaded())
		qk_run("insmod \"$QKTLS_KO\"");
}

/* Rekeys of one direction a policy of @every bytes makes for @bytes. */
static uint64_t due(uint64_t bytes, uint64_t every)
{
	return bytes ? (bytes - 1) / every : 0;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void feed(struct qk *tx_q, const char *tx_pool, struct qk *rx_q,
		 const char *rx_pool, uint64_t *next, uint64_t *fed)
{
	long long n = qk_pool_count(tx_q, tx_pool);

	if (n < 0)
		die("pool %s: cannot read its count", tx_pool);
	if (n < LOW) {
		/* The receiving end's copy first. */
		pools_fill2(rx_q, rx_pool, tx_q, tx_pool, BATCH, next);
		*fed += BATCH;
	}
}

/* The agent's part: keep both TX pools fed, in a thread of its own. */
struct feeder {
	struct qk *qa, *qb;
	uint64_t next_c2s, next_s2c, fed;
	volatile int done;
};

static void *feeder_main(void *arg)
{
	struct feeder *f = arg;

	while (!f->done) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		feed(f->qa, POOL_C_C2S, f->qb, POOL_S_C2S, &f->next_c2s, &f->fed);
		feed(f->qb, POOL_S_S2C, f->qa, POOL_C_S2C, &f->next_s2c, &f->fed);
		nanosleep(&ts, NULL);	/* the feeder's period */
	}
	return NULL;
}

FIXTURE(soak) {
	int unused;
};

FIXTURE_SETUP(soak)
{
}

/* Also after a failed ASSERT; cleanup() runs at exit too (die()). */
FIXTURE_TEARDOWN(soak)
{
	cleanup();
}

/*
 * The connections, the data and the checks, in a child process of the
 * test: its memory (threads, stacks, buffers, sockets) is all gone when
 * it exits, before the slab figures are taken again.  Exit status: the
 * harness's (0 passed).
 */
static void soak(struct __test_metadata *_metadata, unsigned int conns,
		 unsigned long secs, uint64_t every)
{
	static const uint16_t suites[] = {
		QKTLS_TLS_AES_128_GCM_SHA256, QKTLS_TLS_AES_256_GCM_SHA384,
		QKTLS_TLS_CHACHA20_POLY1305_SHA256,
	};
	struct feeder f = { .next_s2c = 1ULL << 40 };
	pthread_t feeder_th;
	uint64_t bytes = 0, rekeys = 0, qkd = 0;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	struct qktls_nl *nla, *nlb;
	struct qk qa, qb;
	struct pair *p;
	struct dir *d;
	pthread_t *th;
	pthread_attr_t attr;
	double t0, t_data;
	unsigned int i;
	int init_ns, l;

	init_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, init_ns);
	pattern = malloc(2 * PATTERN);
	p = calloc(conns, sizeof(*p));
	d = calloc(2 * (size_t)conns, sizeof(*d));
	th = calloc(4 * (size_t)conns, sizeof(*th));
	ASSERT_TRUE(pattern && p && d && th);
	ASSERT_EQ(1, RAND_bytes(pattern, PATTERN));
	memcpy(pattern + PATTERN, pattern, PATTERN);

	/* Each end's handles and pools in its namespace. */
	enter_netns(NS_A);
	ASSERT_EQ(0, qk_open(&qa));
	ASSERT_EQ(0, qktls_nl_open(&nla));
	pool_make(&qa, POOL_C_C2S, CAPACITY);
	pool_make(&qa, POOL_C_S2C, CAPACITY);
	enter_netns(NS_B);
	ASSERT_EQ(0, qk_open(&qb));
	ASSERT_EQ(0, qktls_nl_open(&nlb));
	pool_make(&qb, POOL_S_C2S, CAPACITY);
	pool_make(&qb, POOL_S_S2C, CAPACITY);
	/* Both pools of each direction stocked before any data. */
	pools_fill2(&qb, POOL_S_C2S, &qa, POOL_C_C2S, 2 * BATCH, &f.next_c2s);
	pools_fill2(&qa, POOL_C_S2C, &qb, POOL_S_S2C, 2 * BATCH, &f.next_s2c);
	f.fed = 4 * BATCH;

	/* The connections: listening in B, connecting from A. */
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, l);
	addr.sin_addr.s_addr = inet_addr(ADDR_B);
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&addr, sizeof(addr)));
	ASSERT_EQ(0, listen(l, 512));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&addr, &alen));
	enter_netns(NS_A);
	for (i = 0; i < conns; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;

		ASSERT_LE(0, c);
		ASSERT_EQ(0, connect(c, (struct sockaddr *)&addr, sizeof(addr)));
		s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		ASSERT_LE(0, s);
		pair_key_fds(&p[i], suites[i % 3], c, s);
		pair_attach2(&p[i], nla, nlb, true, every);
	}
	close(l);
	ASSERT_EQ(0, setns(init_ns, CLONE_NEWNET));
	printf("# %u connections %s <-> %s over veth, attached both ends, QKD rekey every "
	       "%llu bytes each way; data both ways for %lu s\n", conns, NS_A, NS_B,
	       (unsigned long long)every, secs);
	fflush(stdout);

	/* Data both ways on every connection; the pools fed meanwhile. */
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setstacksize(&attr, 256 * 1024));
	for (i = 0; i < conns; i++) {
		d[2 * i] = (struct dir){ .wfd = p[i].c, .rfd = p[i].s,
					 .start = (uint64_t)i * 65537 % PATTERN,
					 .seed = 2 * i + 1 };
		d[2 * i + 1] = (struct dir){ .wfd = p[i].s, .rfd = p[i].c,
					     .start = (uint64_t)i * 131071 % PATTERN,
					     .seed = 2 * i + 2 };
	}
	/* The feeder first: the pools never wait for the data threads. */
	f.qa = &qa;
	f.qb = &qb;
	{
		/* Above the data threads, as an agent would not starve. */
		struct sched_param sp = { .sched_priority = 1 };
		pthread_attr_t fa;

		ASSERT_EQ(0, pthread_attr_init(&fa));
		pthread_attr_setinheritsched(&fa, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&fa, SCHED_FIFO);
		pthread_attr_setschedparam(&fa, &sp);
		if (pthread_create(&feeder_th, &fa, feeder_main, &f))
			ASSERT_EQ(0, pthread_create(&feeder_th, NULL, feeder_main, &f));
		pthread_attr_destroy(&fa);
	}
	for (i = 0; i < 2 * conns; i++) {
		ASSERT_EQ(0, pthread_create(&th[2 * i], &attr, reader, &d[i]));
		ASSERT_EQ(0, pthread_create(&th[2 * i + 1], &attr, writer, &d[i]));
	}
	/* The soak's time counts from when every thread runs. */
	t0 = mono();
	while (mono() - t0 < secs) {
		struct timespec ts = { 1, 0 };

		nanosleep(&ts, NULL);	/* the soak's length, not a wait for an event */
	}
	stop = 1;
	/* Writers stop after their current write; readers read to the end. */
	for (i = 0; i < 4 * conns; i++)
		pthread_join(th[i], NULL);
	f.done = 1;
	pthread_join(feeder_th, NULL);
	t_data = mono() - t0;

	/* Every byte, and the module's counters against the policy. */
	for (i = 0; i < conns; i++) {
		struct qktls_sock_info ci, si;
		struct dir *c2s = &d[2 * i], *s2c = &d[2 * i + 1];

		EXPECT_EQ(0, c2s->why[0] | s2c->why[0]) {
			TH_LOG("connection %u: client to server:%s; server to client:%s", i,
			       c2s->why, s2c->why);
		}
		EXPECT_EQ(c2s->sent, c2s->got);
		EXPECT_EQ(s2c->sent, s2c->got);
		ASSERT_EQ(0, qktls_sock_get(nla, p[i].c, &ci)) {
			TH_LOG("sock get: %s", qktls_nl_error(nla));
		}
		ASSERT_EQ(0, qktls_sock_get(nlb, p[i].s, &si)) {
			TH_LOG("sock get: %s", qktls_nl_error(nlb));
		}
		EXPECT_EQ(due(c2s->sent, every), ci.stats.tx_rekeys) {
			TH_LOG("connection %u: %llu bytes client to server", i,
			       (unsigned long long)c2s->sent);
		}
		EXPECT_EQ(due(s2c->sent, every), si.stats.tx_rekeys) {
			TH_LOG("connection %u: %llu bytes server to client", i,
			       (unsigned long long)s2c->sent);
		}
		EXPECT_EQ(ci.stats.tx_rekeys, si.stats.rx_rekeys);
		EXPECT_EQ(si.stats.tx_rekeys, ci.stats.rx_rekeys);
		EXPECT_EQ(ci.stats.tx_rekeys, ci.stats.tx_qkd_rekeys);
		EXPECT_EQ(si.stats.tx_rekeys, si.stats.tx_qkd_rekeys);
		EXPECT_EQ(ci.stats.tx_qkd_rekeys, si.stats.rx_qkd_rekeys);
		EXPECT_EQ(si.stats.tx_qkd_rekeys, ci.stats.rx_qkd_rekeys);
		EXPECT_EQ(0ULL, (unsigned long long)ci.stats.rekey_errors + si.stats.rekey_errors);
		EXPECT_EQ(0ULL, (unsigned long long)ci.stats.rx_errors + si.stats.rx_errors);
		EXPECT_EQ(0ULL, (unsigned long long)ci.stats.tx_std_fallbacks + si.stats.tx_std_fallbacks);
		EXPECT_LT(0ULL, (unsigned long long)c2s->sent);
		EXPECT_LT(0ULL, (unsigned long long)s2c->sent);
		if (i == 0 || ci.stats.rekey_errors || si.stats.rekey_errors)
			printf("# connection %u: client TX %llu (QKD %llu) RX %llu (QKD %llu) "
			       "errors %llu last %llu fallbacks %llu keys %llu req %llu; "
			       "server TX %llu (QKD %llu) RX %llu (QKD %llu) errors %llu "
			       "last %llu fallbacks %llu keys %llu req %llu\n", i,
#define ST(x) (unsigned long long)x.stats.tx_rekeys, (unsigned long long)x.stats.tx_qkd_rekeys, \
	(unsigned long long)x.stats.rx_rekeys, (unsigned long long)x.stats.rx_qkd_rekeys, \
	(unsigned long long)x.stats.rekey_errors, (unsigned long long)x.stats.last_error, \
	(unsigned long long)x.stats.tx_std_fallbacks, (unsigned long long)x.stats.keys_used, \
	(unsigned long long)x.stats.updates_requested
			       ST(ci), ST(si));
		bytes += c2s->got + s2c->got;
		rekeys += ci.stats.tx_rekeys + si.stats.tx_rekeys;
		qkd += ci.stats.tx_qkd_rekeys + si.stats.tx_qkd_rekeys;
	}
	printf("# data: %.1f MiB in %.1f s (%.2f MiB/s in all), every byte checked; "
	       "%llu TX rekeys, %llu of them QKD; %llu keys fed (both directions)\n",
	       bytes / (double)MiB, t_data, bytes / (double)MiB / t_data,
	       (unsigned long long)rekeys, (unsigned long long)qkd,
	       (unsigned long long)f.fed);

	/* Close everything, unload, and the memory must come back. */
	for (i = 0; i < conns; i++) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		/* A reset: no TIME_WAIT sockets left to count. */
		setsockopt(p[i].c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		setsockopt(p[i].s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		pair_close(&p[i]);
	}
	qk_pool_drop(&qa, POOL_C_C2S);
	qk_pool_drop(&qa, POOL_C_S2C);
	qk_pool_drop(&qb, POOL_S_C2S);
	qk_pool_drop(&qb, POOL_S_S2C);
	qktls_nl_close(nla);
	qktls_nl_close(nlb);
	qk_close(&qa);
	qk_close(&qb);
	close(init_ns);
	free(th);
	free(d);
	free(p);
	free(pattern);
}

TEST_F_TIMEOUT(soak, rekey_both_ways, 7200)
{
	unsigned int conns = (unsigned int)qk_env_ulong("QKTLS_SOAK_CONNS", 200);
	unsigned long secs = qk_env_ulong("QKTLS_SOAK_SECONDS", 30);
	uint64_t every = qk_env_ulong("QKTLS_SOAK_REKEY", 64 * 1024);
	struct slab base, after;
	struct rlimit rl;
	double t0;
	pid_t kid;
	int err, settled;

	bench_prog = "sock_soak";
	ASSERT_LE(1U, conns);
	ASSERT_LE(1UL, secs);
	ASSERT_LE(1ULL, (unsigned long long)every);
	ASSERT_NE(NULL, getenv("QKTLS_KO"));
	ASSERT_EQ(0, qk_run("modprobe tls && modprobe veth"));
	if (qk_tls_stat("TlsTxRekeyOk") < 0)
		SKIP(return, "this kernel has no kTLS rekey (Linux 6.14 or later)");
	rl.rlim_cur = rl.rlim_max = 4 * conns + 256;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	atexit(cleanup);
	was_loaded = module_loaded();
	if (was_loaded)
		ASSERT_EQ(0, qk_run("rmmod qktls"));

	/* Two namespaces, a veth between them. */
	qk_run("ip netns del " NS_A " 2>/dev/null; ip netns del " NS_B " 2>/dev/null");
	ASSERT_EQ(0, qk_run("ip netns add " NS_A " && ip netns add " NS_B " && "
			    "ip link add qks-a netns " NS_A " type veth peer name qks-b netns " NS_B " && "
			    "ip -n " NS_A " addr add 10.77.0.1/24 dev qks-a && "
			    "ip -n " NS_B " addr add " ADDR_B "/24 dev qks-b && "
			    "ip -n " NS_A " link set lo up && ip -n " NS_A " link set qks-a up && "
			    "ip -n " NS_B " link set lo up && ip -n " NS_B " link set qks-b up"));

	slab_read(&base);
	ASSERT_EQ(0, qk_run("insmod \"$QKTLS_KO\""));

	fflush(stdout);
	kid = fork();
	ASSERT_LE(0, kid);
	if (!kid) {
		soak(_metadata, conns, secs, every);
		fflush(stdout);
		fflush(stderr);
		_exit(_metadata->exit_code);
	}
	ASSERT_EQ(0, qk_wait_child(kid));

	/* Closed attachments go at the next scan (qktls.sock_scan_ms). */
	t0 = mono();
	while ((err = qk_run("rmmod qktls 2>/dev/null")) && mono() - t0 < 60)
		usleep(100 * 1000);
	ASSERT_EQ(0, err) {
		TH_LOG("qktls did not unload within 60 s of the close");
	}
	printf("# qktls unloaded %.1f s after the close\n", mono() - t0);
	EXPECT_EQ(-1, qk_slab_active("qktls_sock"));
	EXPECT_EQ(-1, qk_slab_active("qktls_key"));
	EXPECT_EQ(-1, qk_slab_active("qktls_pool"));
	/*
	 * Sockets, kTLS contexts and the child's task go after RCU grace
	 * periods: read until the figures settle (five readings in a row
	 * within 16 KB of the one before), 30 s at most.
	 */
	t0 = mono();
	slab_read(&after);
	for (settled = 0; settled < 5 && mono() - t0 < 30;) {
		struct slab prev = after;

		usleep(200 * 1000);
		slab_read(&after);
		if (llabs(after.all - prev.all) <= 16384 &&
		    llabs(after.kmalloc - prev.kmalloc) <= 16384 &&
		    llabs(after.meminfo_kb - prev.meminfo_kb) <= 16)
			settled++;
		else
			settled = 0;
	}
	printf("# slab before the load / after the unload: objects in use %lld / %lld B "
	       "(%+lld, slack %lld), kmalloc %lld / %lld B (%+lld, slack %lld), "
	       "Slab: %lld / %lld kB (%+lld, slack %lld)\n", base.all, after.all,
	       after.all - base.all, SLAB_SLACK, base.kmalloc, after.kmalloc,
	       after.kmalloc - base.kmalloc, KMALLOC_SLACK, base.meminfo_kb,
	       after.meminfo_kb, after.meminfo_kb - base.meminfo_kb, MEMINFO_SLACK / 1024);
	/*
	 * A leak leaves more behind; less than before is other caches
	 * shrinking over the run (seen after the 10-minute soak: -1 MiB).
	 */
	EXPECT_GE(SLAB_SLACK, after.all - base.all);
	EXPECT_GE(KMALLOC_SLACK, after.kmalloc - base.kmalloc);
	EXPECT_GE(MEMINFO_SLACK, (after.meminfo_kb - base.meminfo_kb) * 1024);
}

TEST_HARNESS_MAIN
