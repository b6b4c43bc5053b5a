// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libqktls's stream helpers (qktls/stream.h) on kTLS sockets attached to
 * qktls.ko, as qktlsd leaves them: each end of a loopback TCP pair has kTLS
 * installed from the same two traffic secrets and is attached with them
 * (QKTLS_CMD_SOCK_ATTACH), then everything goes through the helpers.
 * Every byte is checked against a per-direction pattern; the rekeys are
 * counted by the library and by the module (QKTLS_CMD_SOCK_GET) and must
 * both equal what the policy implies: a write of N bytes with a policy of B
 * bytes rekeys ceil(N / B) - 1 times (before each byte k * B).
 *
 * Kernels with kTLS rekey (>= 6.14):
 *   - 1 GiB each way at once, 2 GiB through the pair, a standard update
 *     every 64 KiB (16383 each way; QKTLS_STREAM_TEST_BYTES sets the size);
 *   - every cipher suite, QKD key updates every 64 KiB both ways from
 *     per-direction pools, keys consumed on both ends counted;
 *   - update_requested: the reader marks it, the peer's next write updates;
 *   - sendfile with the policy;
 *   - the AEAD record limit rekeys without any policy (tightened to 100);
 *   - a key reference the receiver's pool does not hold: the read fails with
 *     -ENOKEY, no byte is accepted, and the sender gets illegal_parameter.
 * Kernels without (6.12): a policy that needs rekey is refused at attach
 * with "kernel has no kTLS rekey"; without it the policy's first rekey fails
 * with the same error, once, and the data flows.
 * Any kernel: a socket that is not attached works as plain kTLS, and a
 * rekey says it is not attached.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include "kselftest_harness.h"
#include "../lib/ktls.h"
#include "../lib/qktls_nl.h"

#include <qktls/ktls.h>
#include <qktls/sock.h>
#include <qktls/stream.h>

#define KIB		1024ULL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define WCHUNK		100000	/* writes: not a multiple of anything */
#define RCHUNK		40000
#define QKD_KEYS	200	/* per pool */
#define QKD_KEY_LEN	32

/* Byte @off of direction @seed's stream, 8 at a time. */
static void pattern(uint8_t *b, uint64_t off, size_t len, uint64_t seed)
{
	while (len) {
		uint64_t z = (off >> 3) + seed * 0x9e3779b97f4a7c15ULL;
		size_t s = off & 7, k = 8 - s < len ? 8 - s : len;
		uint8_t w[8];

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(w, &z, 8);
		memcpy(b, w + s, k);
		b += k;
		off += k;
		len -= k;
	}
}

struct end {
	int fd;
	struct qktls_stream *st;
};

/* Policy and pools of one pair. */
struct setup {
	uint16_t suite;
	uint64_t rekey_bytes;
	bool qkd;		/* negotiated QKD key update, pools filled */
	uint32_t b_rx_tag;	/* tag of b.c2s's keys (a.c2s: 1) */
	bool rekey_required;
	bool attach;
};

struct pair {
	struct end a, b;	/* a: "client" (c2s), b: "server" */
	int attach_a, attach_b;	/* qktls_sock_attach() results */
	char attach_msg[256];
};

static int add_pool(struct qk *q, const char *name, uint32_t tag)
{
	struct qk_reply r = { 0 };
	int ret;

	ret = qk_pool_new(q, name, 4 * QKD_KEYS, QKD_KEY_LEN, &r);
	qk_reply_free(&r);
	if (!ret)
		ret = qk_add_keys(q, name, tag, 0, QKD_KEYS, QKD_KEY_LEN, &r);
	qk_reply_free(&r);
	return ret;
}

static long pool_keys(const char *name)
{
	struct qk q;
	struct qk_reply r = { 0 };
	struct qk_pool_info pi = { 0 };
	long n = -1;

	if (qk_open(&q))
		return -1;
	if (!qk_pool_get(&q, name, &pi, &r))
		n = pi.count;
	qk_reply_free(&r);
	qk_close(&q);
	return n;
}

static int make_pair(struct pair *p, const struct setup *s)
{
	const struct qktls_suite_info *si = qktls_suite_info(s->suite);
	uint8_t s1[QKTLS_MAX_HASH_LEN], s2[QKTLS_MAX_HASH_LEN];
	struct qktls_sock_attach a = {
		.suite = s->suite, .secret_len = si ? si->hash_len : 0,
		.qkd_update = s->qkd, .rekey_bytes = s->rekey_bytes,
		.rekey_required = s->rekey_required, .link = "stream-test",
	};
	struct qktls_nl *nl = NULL;
	struct qk q;
	int ret;

	memset(p, 0, sizeof(*p));
	if (!si || getrandom(s1, sizeof(s1), 0) != sizeof(s1) ||
	    getrandom(s2, sizeof(s2), 0) != sizeof(s2))
		return -EINVAL;
	ret = tcp_pair(&p->a.fd, &p->b.fd);
	if (!ret)
		ret = qktls_ktls_install(p->a.fd, QKTLS_DIR_TX, s->suite, s1, si->hash_len, 0);
	if (!ret)
		ret = qktls_ktls_install(p->a.fd, QKTLS_DIR_RX, s->suite, s2, si->hash_len, 0);
	if (!ret)
		ret = qktls_ktls_install(p->b.fd, QKTLS_DIR_TX, s->suite, s2, si->hash_len, 0);
	if (!ret)
		ret = qktls_ktls_install(p->b.fd, QKTLS_DIR_RX, s->suite, s1, si->hash_len, 0);
	if (!ret && s->qkd) {
		ret = qk_open(&q);
		if (!ret) {
			/* Same keys in a.c2s and b.c2s (unless told), a.s2c and b.s2c. */
			ret = add_pool(&q, "a.c2s", 1) ?: add_pool(&q, "b.c2s", s->b_rx_tag ?: 1) ?:
			      add_pool(&q, "a.s2c", 2) ?: add_pool(&q, "b.s2c", 2);
			qk_close(&q);
		}
	}
	if (!ret && s->attach)
		ret = qktls_nl_open(&nl);
	if (!ret && s->attach) {
		a.fd = p->a.fd;
		a.tx_secret = s1;
		a.rx_secret = s2;
		a.tx_pool = s->qkd ? "a.c2s" : NULL;
		a.rx_pool = s->qkd ? "a.s2c" : NULL;
		p->attach_a = qktls_sock_attach(nl, &a, NULL);
		snprintf(p->attach_msg, sizeof(p->attach_msg), "%s", qktls_nl_error(nl));
		a.fd = p->b.fd;
		a.tx_secret = s2;
		a.rx_secret = s1;
		a.tx_pool = s->qkd ? "b.s2c" : NULL;
		a.rx_pool = s->qkd ? "b.c2s" : NULL;
		p->attach_b = qktls_sock_attach(nl, &a, NULL);
		qktls_nl_close(nl);
	}
	memset(s1, 0, sizeof(s1));
	memset(s2, 0, sizeof(s2));
	if (!ret)
		ret = qktls_stream_open(p->a.fd, 0, &p->a.st) ?:
		      qktls_stream_open(p->b.fd, 0, &p->b.st);
	return ret;
}

static void free_pair(struct pair *p)
{
	qktls_stream_close(p->a.st);
	qktls_stream_close(p->b.st);
	if (p->a.fd > 0)
		close(p->a.fd);
	if (p->b.fd > 0)
		close(p->b.fd);
}

/* One direction: a writer thread on one end, a reader thread on the other. */
struct job {
	struct qktls_stream *st;
	uint64_t seed, n;
	int file_fd;		/* writer: sendfile from it if >= 0 */
	size_t chunk;		/* writer: bytes per call, 0 = WCHUNK */
	uint64_t done;
	int err;
	char msg[300];
	pthread_t t;
};

static void *writer(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = malloc(WCHUNK);
	off_t off = 0;

	while (buf && j->done < j->n) {
		size_t c = j->chunk ? j->chunk : WCHUNK;
		size_t k = j->n - j->done < c ? j->n - j->done : c;
		ssize_t w;

		if (j->file_fd >= 0) {
			w = qktls_stream_sendfile(j->st, j->file_fd, &off, k);
		} else {
			pattern(buf, j->done, k, j->seed);
			w = qktls_stream_write(j->st, buf, k);
		}
		if (w <= 0) {
			j->err = w ? (int)w : -EIO;
			snprintf(j->msg, sizeof(j->msg), "write at %llu: %s (%s)",
				 (unsigned long long)j->done, qktls_strerror(j->err),
				 qktls_stream_error(j->st, QKTLS_DIR_TX));
			break;
		}
		j->done += w;
	}
	free(buf);
	return NULL;
}

static void *reader(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = malloc(RCHUNK), *want = malloc(RCHUNK);

	while (buf && want && j->done < j->n) {
		size_t k = j->n - j->done < RCHUNK ? j->n - j->done : RCHUNK;
		ssize_t r = qktls_stream_read(j->st, buf, k);

		if (r <= 0) {
			j->err = r ? (int)r : -EPIPE;
			snprintf(j->msg, sizeof(j->msg), "read at %llu: %s (%s)",
				 (unsigned long long)j->done,
				 r ? qktls_strerror(j->err) : "end of stream",
				 qktls_stream_error(j->st, QKTLS_DIR_RX));
			break;
		}
		pattern(want, j->done, r, j->seed);
		if (memcmp(buf, want, r)) {
			j->err = -EBADMSG;
			snprintf(j->msg, sizeof(j->msg), "bytes %llu..%llu differ",
				 (unsigned long long)j->done,
				 (unsigned long long)(j->done + r));
			break;
		}
		j->done += r;
	}
	free(buf);
	free(want);
	return NULL;
}

/*
 * Transfer @ab bytes a -> b and @ba bytes b -> a, both at once: each end
 * has a writer rekeying its TX by policy while its reader follows the
 * peer's updates, so both ends' send buffers fill while rekeys are in
 * flight, which is what the module's per-direction rekey locks are for.
 */
static void transfer(struct __test_metadata *_metadata, struct pair *p,
		     uint64_t ab, uint64_t ba)
{
	struct job j[4] = {
		{ .st = p->a.st, .seed = 1, .n = ab, .file_fd = -1 },
		{ .st = p->b.st, .seed = 1, .n = ab },
		{ .st = p->b.st, .seed = 2, .n = ba, .file_fd = -1 },
		{ .st = p->a.st, .seed = 2, .n = ba },
	};

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&j[i].t, NULL,
					    i % 2 ? reader : writer, &j[i]));
	for (int i = 0; i < 4; i++)
		pthread_join(j[i].t, NULL);
	for (int i = 0; i < 4; i++) {
		if (j[i].err)
			TH_LOG("%s: %s", i % 2 ? "reader" : "writer", j[i].msg);
		EXPECT_EQ(0, j[i].err);
		EXPECT_EQ(j[i].n, j[i].done);
	}
}

/* One direction, @w writing and @r reading; every byte arrives intact. */
static void one_way(struct __test_metadata *_metadata, struct job *w,
		    struct job *r)
{
	ASSERT_EQ(0, pthread_create(&w->t, NULL, writer, w));
	ASSERT_EQ(0, pthread_create(&r->t, NULL, reader, r));
	pthread_join(w->t, NULL);
	pthread_join(r->t, NULL);
	EXPECT_EQ(0, w->err) TH_LOG("%s", w->msg);
	EXPECT_EQ(0, r->err) TH_LOG("%s", r->msg);
	EXPECT_EQ(w->n, r->done);
}

static uint64_t rekeys_for(uint64_t n, uint64_t every)
{
	return n ? (n + every - 1) / every - 1 : 0;
}

static bool have_rekey(void)
{
	return qktls_ktls_rekey_supported() == 1;
}

FIXTURE(stream) {
	struct pair p;
};

FIXTURE_VARIANT(stream) {
	uint16_t suite;
};

FIXTURE_VARIANT_ADD(stream, aes_256_gcm_sha384) {
	.suite = QKTLS_TLS_AES_256_GCM_SHA384,
};

FIXTURE_VARIANT_ADD(stream, aes_128_gcm_sha256) {
	.suite = QKTLS_TLS_AES_128_GCM_SHA256,
};

FIXTURE_VARIANT_ADD(stream, chacha20_poly1305_sha256) {
	.suite = QKTLS_TLS_CHACHA20_POLY1305_SHA256,
};

FIXTURE_SETUP(stream)
{
	struct qktls_nl *nl;
	struct qktls_sock_info info;
	int fd, ret;

	memset(&self->p, 0, sizeof(self->p));
	ASSERT_EQ(0, qk_private_netns());
	if (qktls_nl_open(&nl) == -QKTLS_E_NOMODULE)
		SKIP(return, "qktls.ko is not loaded");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ret = qktls_sock_get(nl, fd, &info);
	close(fd);
	qktls_nl_close(nl);
	/* The generic netlink core's answer to a command the family lacks. */
	if (ret == -EOPNOTSUPP)
		SKIP(return, "this qktls.ko has no attached sockets");
	ASSERT_EQ(-QKTLS_E_NOTATTACHED, ret);
}

FIXTURE_TEARDOWN(stream)
{
	free_pair(&self->p);
}

/* Both ends' counters, library and module, for @n bytes each way. */
static void check_counts(struct __test_metadata *_metadata, struct pair *p,
			 uint64_t n, uint64_t every, bool qkd)
{
	uint64_t want = rekeys_for(n, every);
	struct qktls_stream_stats sa, sb;
	struct qktls_sock_info ia, ib;

	qktls_stream_stats(p->a.st, &sa);
	qktls_stream_stats(p->b.st, &sb);
	ASSERT_EQ(0, qktls_stream_sock_info(p->a.st, &ia));
	ASSERT_EQ(0, qktls_stream_sock_info(p->b.st, &ib));
	TH_LOG("%llu bytes each way, every %llu: %llu rekeys each way expected",
	       (unsigned long long)n, (unsigned long long)every,
	       (unsigned long long)want);
	EXPECT_EQ(want, sa.tx_policy_rekeys);
	EXPECT_EQ(want, sb.tx_policy_rekeys);
	EXPECT_EQ(want, sa.tx_rekeys);
	EXPECT_EQ(want, sb.rx_rekeys);
	EXPECT_EQ(want, sa.rx_rekeys);
	EXPECT_EQ(0ULL, sa.rekey_errors);
	EXPECT_EQ(0ULL, sb.rekey_errors);
	EXPECT_EQ(0ULL, sa.qkd_fallbacks);
	EXPECT_EQ(qkd ? want : 0, sa.tx_qkd_rekeys);
	EXPECT_EQ(qkd ? want : 0, sb.rx_qkd_rekeys);
	/* The module agrees. */
	EXPECT_EQ(want, ia.stats.tx_rekeys);
	EXPECT_EQ(want, ia.stats.rx_rekeys);
	EXPECT_EQ(want, ib.stats.tx_rekeys);
	EXPECT_EQ(want, ib.stats.rx_rekeys);
	EXPECT_EQ(qkd ? want : 0, ia.stats.tx_qkd_rekeys);
	EXPECT_EQ(qkd ? want : 0, ib.stats.rx_qkd_rekeys);
	EXPECT_EQ(qkd ? 2 * want : 0, ia.stats.keys_used);
	EXPECT_EQ(qkd ? 2 * want : 0, ib.stats.keys_used);
	EXPECT_EQ(0ULL, ia.stats.rekey_errors);
	EXPECT_EQ(0ULL, ib.stats.rekey_errors);
	EXPECT_EQ(every, ia.rekey_bytes);
	EXPECT_EQ(qkd, ia.qkd_update);
}

/*
 * Bytes each way of the long transfer: 1 GiB by default (a few minutes
 * under TCG on an idle machine); QKTLS_STREAM_TEST_BYTES sets another size.
 */
static uint64_t big_bytes(void)
{
	const char *e = getenv("QKTLS_STREAM_TEST_BYTES");

	return e && *e ? strtoull(e, NULL, 0) : GIB;
}

TEST_F_TIMEOUT(stream, rekey_every_64k_2gib_both_ways, 2100)
{
	struct setup s = { .suite = variant->suite, .rekey_bytes = 64 * KIB,
			   .attach = true };
	uint64_t n = big_bytes();
	struct timespec t0, t1;

	if (variant->suite != QKTLS_TLS_AES_256_GCM_SHA384)
		SKIP(return, "the long transfer runs with the default suite only");
	if (!have_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, make_pair(&self->p, &s));
	ASSERT_EQ(0, self->p.attach_a) TH_LOG("%s", self->p.attach_msg);
	ASSERT_EQ(0, self->p.attach_b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	transfer(_metadata, &self->p, n, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("%llu MiB each way in %.1f s", (unsigned long long)(n / MIB),
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	check_counts(_metadata, &self->p, n, 64 * KIB, false);
}

TEST_F_TIMEOUT(stream, qkd_rekey_every_64k_both_ways, 300)
{
	struct setup s = { .suite = variant->suite, .rekey_bytes = 64 * KIB,
			   .qkd = true, .attach = true };
	uint64_t n = 8 * MIB, want = rekeys_for(n, 64 * KIB);

	if (!have_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, make_pair(&self->p, &s));
	ASSERT_EQ(0, self->p.attach_a) TH_LOG("%s", self->p.attach_msg);
	ASSERT_EQ(0, self->p.attach_b);
	transfer(_metadata, &self->p, n, n);
	check_counts(_metadata, &self->p, n, 64 * KIB, true);
	/* Each key was consumed on both ends, once. */
	EXPECT_EQ(QKD_KEYS - (long)want, pool_keys("a.c2s"));
	EXPECT_EQ(QKD_KEYS - (long)want, pool_keys("b.c2s"));
	EXPECT_EQ(QKD_KEYS - (long)want, pool_keys("a.s2c"));
	EXPECT_EQ(QKD_KEYS - (long)want, pool_keys("b.s2c"));
}

TEST_F_TIMEOUT(stream, update_requested_round_trip, 120)
{
	struct setup s = { .suite = variant->suite, .qkd = true, .attach = true };
	struct qktls_stream_stats sa, sb;
	struct qktls_sock_info ib;

	if (!have_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, make_pair(&self->p, &s));
	ASSERT_EQ(0, self->p.attach_a) TH_LOG("%s", self->p.attach_msg);
	ASSERT_EQ(0, self->p.attach_b);
	/* a: QKD update asking b to update too; then data a -> b. */
	ASSERT_EQ(1, qktls_stream_rekey(self->p.a.st, QKTLS_REKEY_QKD |
					QKTLS_REKEY_REQUEST_UPDATE))
		TH_LOG("%s", qktls_stream_error(self->p.a.st, QKTLS_DIR_TX));
	transfer(_metadata, &self->p, 1 * MIB, 0);
	qktls_stream_stats(self->p.b.st, &sb);
	EXPECT_EQ(1ULL, sb.updates_requested);
	EXPECT_EQ(1ULL, sb.rx_qkd_rekeys);
	EXPECT_EQ(0ULL, sb.tx_rekeys);	/* b has not written yet */
	/* b's first write answers with its own (QKD) update, then data. */
	transfer(_metadata, &self->p, 0, 1 * MIB);
	qktls_stream_stats(self->p.a.st, &sa);
	qktls_stream_stats(self->p.b.st, &sb);
	EXPECT_EQ(1ULL, sb.tx_requested_rekeys);
	EXPECT_EQ(1ULL, sb.tx_rekeys);
	EXPECT_EQ(1ULL, sb.tx_qkd_rekeys);
	EXPECT_EQ(1ULL, sa.rx_rekeys);
	EXPECT_EQ(1ULL, sa.rx_qkd_rekeys);
	EXPECT_EQ(0ULL, sa.updates_requested);	/* the answer asks for nothing */
	ASSERT_EQ(0, qktls_stream_sock_info(self->p.b.st, &ib));
	EXPECT_EQ(1ULL, ib.stats.tx_rekeys);
	EXPECT_EQ(1ULL, ib.stats.rx_rekeys);
	EXPECT_EQ(2ULL, ib.stats.keys_used);
}

TEST_F_TIMEOUT(stream, sendfile_by_policy, 120)
{
	struct setup s = { .suite = variant->suite, .rekey_bytes = 64 * KIB,
			   .attach = true };
	uint64_t n = 3 * MIB + 12345;
	uint8_t *buf = malloc(n);
	struct job w = { .seed = 1, .n = n }, r = { .seed = 1, .n = n };
	struct qktls_stream_stats sa, sb;
	FILE *f = tmpfile();

	if (!have_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, f);
	pattern(buf, 0, n, 1);
	ASSERT_EQ(n, fwrite(buf, 1, n, f));
	ASSERT_EQ(0, fflush(f));
	free(buf);
	ASSERT_EQ(0, make_pair(&self->p, &s));
	ASSERT_EQ(0, self->p.attach_a) TH_LOG("%s", self->p.attach_msg);
	w.st = self->p.a.st;
	w.file_fd = fileno(f);
	r.st = self->p.b.st;
	one_way(_metadata, &w, &r);
	fclose(f);
	qktls_stream_stats(self->p.a.st, &sa);
	qktls_stream_stats(self->p.b.st, &sb);
	EXPECT_EQ(rekeys_for(n, 64 * KIB), sa.tx_policy_rekeys);
	EXPECT_EQ(rekeys_for(n, 64 * KIB), sb.rx_rekeys);
}

/*
 * The AEAD limit (RFC 8446 section 5.5), tightened to 100 records: 1000
 * writes of 1000 bytes, one record each, rekey before records 101, 201,
 * ... 901, with no byte policy at all.
 */
TEST_F_TIMEOUT(stream, record_limit_rekeys, 120)
{
	struct setup s = { .suite = variant->suite, .attach = true };
	struct job w = { .seed = 3, .n = 1000 * 1000, .file_fd = -1,
			 .chunk = 1000 };
	struct job r = { .seed = 3, .n = 1000 * 1000 };
	struct qktls_stream_stats sa, sb;
	struct qktls_sock_info ia;

	if (!have_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, make_pair(&self->p, &s));
	ASSERT_EQ(0, self->p.attach_a) TH_LOG("%s", self->p.attach_msg);
	/* Only ever tighter than the suite's own limit (none for ChaCha20). */
	if (variant->suite != QKTLS_TLS_CHACHA20_POLY1305_SHA256)
		EXPECT_EQ(-QKTLS_E_ARG, qktls_stream_set_record_limit(
				  self->p.a.st, (1ULL << 24) + 1));
	ASSERT_EQ(0, qktls_stream_set_record_limit(self->p.a.st, 100));
	w.st = self->p.a.st;
	r.st = self->p.b.st;
	one_way(_metadata, &w, &r);
	qktls_stream_stats(self->p.a.st, &sa);
	qktls_stream_stats(self->p.b.st, &sb);
	EXPECT_EQ(9ULL, sa.tx_policy_rekeys);
	EXPECT_EQ(9ULL, sb.rx_rekeys);
	ASSERT_EQ(0, qktls_stream_sock_info(self->p.a.st, &ia));
	EXPECT_EQ(9ULL, ia.stats.tx_rekeys);
	EXPECT_EQ(0ULL, ia.rekey_bytes);
}

TEST_F_TIMEOUT(stream, unknown_reference_refused, 120)
{
	/* b's copy of c2s holds other keys: a's references are unknown to b. */
	struct setup s = { .suite = variant->suite, .qkd = true, .b_rx_tag = 7,
			   .attach = true };
	struct qktls_stream_stats sb;
	uint8_t buf[256];
	ssize_t r;

	if (!have_rekey())
		SKIP(return, "kernel has no kTLS rekey");
	ASSERT_EQ(0, make_pair(&self->p, &s));
	ASSERT_EQ(0, self->p.attach_a) TH_LOG("%s", self->p.attach_msg);
	ASSERT_EQ(1, qktls_stream_rekey(self->p.a.st, QKTLS_REKEY_QKD));
	ASSERT_EQ(5, qktls_stream_write(self->p.a.st, "hello", 5));
	r = qktls_stream_read(self->p.b.st, buf, sizeof(buf));
	EXPECT_EQ(-ENOKEY, r) TH_LOG("%s", qktls_stream_error(self->p.b.st,
							      QKTLS_DIR_RX));
	TH_LOG("b: %s", qktls_stream_error(self->p.b.st, QKTLS_DIR_RX));
	qktls_stream_stats(self->p.b.st, &sb);
	EXPECT_EQ(0ULL, sb.bytes_read);
	EXPECT_EQ(1ULL, sb.rekey_errors);
	/* Sticky; b's writer sends illegal_parameter and fails. */
	EXPECT_EQ(-ENOKEY, qktls_stream_read(self->p.b.st, buf, sizeof(buf)));
	EXPECT_EQ(-QKTLS_E_RECORD, qktls_stream_write(self->p.b.st, "x", 1));
	r = qktls_stream_read(self->p.a.st, buf, sizeof(buf));
	EXPECT_EQ(-QKTLS_E_RECORD, r);
	EXPECT_NE(NULL, strstr(qktls_stream_error(self->p.a.st, QKTLS_DIR_RX),
			       "illegal_parameter"))
		TH_LOG("a: %s", qktls_stream_error(self->p.a.st, QKTLS_DIR_RX));
}

TEST_F_TIMEOUT(stream, not_attached_is_plain_ktls, 120)
{
	struct setup s = { .suite = variant->suite };
	struct qktls_stream_stats sa;
	int ret;

	ASSERT_EQ(0, make_pair(&self->p, &s));
	EXPECT_FALSE(qktls_stream_attached(self->p.a.st, NULL));
	ret = qktls_stream_rekey(self->p.a.st, QKTLS_STREAM_REKEY_AUTO);
	EXPECT_EQ(-QKTLS_E_NOTATTACHED, ret);
	transfer(_metadata, &self->p, 1 * MIB, 1 * MIB);
	qktls_stream_stats(self->p.a.st, &sa);
	EXPECT_EQ(1 * MIB, sa.bytes_written);
	EXPECT_EQ(1 * MIB, sa.bytes_read);
	EXPECT_EQ(0ULL, sa.tx_rekeys);
}

TEST_F_TIMEOUT(stream, no_ktls_rekey_clear_error, 120)
{
	struct setup s = { .suite = variant->suite, .rekey_bytes = 64 * KIB,
			   .rekey_required = true, .attach = true };
	struct qktls_stream_stats sa;
	int ret;

	if (have_rekey())
		SKIP(return, "this kernel has kTLS rekey");
	/* A policy that needs rekey is refused at attach. */
	ASSERT_EQ(0, make_pair(&self->p, &s));
	EXPECT_EQ(-QKTLS_E_NOREKEY, self->p.attach_a) TH_LOG("%s", self->p.attach_msg);
	TH_LOG("attach: %s / %s", qktls_strerror(self->p.attach_a), self->p.attach_msg);
	EXPECT_NE(NULL, strstr(qktls_strerror(self->p.attach_a),
			       "kernel has no kTLS rekey"));
	free_pair(&self->p);
	/* Without rekey_required it attaches; the policy fails once, data flows. */
	s.rekey_required = false;
	ASSERT_EQ(0, make_pair(&self->p, &s));
	ASSERT_EQ(0, self->p.attach_a) TH_LOG("%s", self->p.attach_msg);
	ASSERT_EQ(0, self->p.attach_b);
	ASSERT_TRUE(qktls_stream_attached(self->p.a.st, NULL));
	transfer(_metadata, &self->p, 1 * MIB, 1 * MIB);
	qktls_stream_stats(self->p.a.st, &sa);
	EXPECT_EQ(0ULL, sa.tx_rekeys);
	EXPECT_EQ(1ULL, sa.rekey_errors);
	TH_LOG("policy rekey: %s", qktls_stream_error(self->p.a.st, QKTLS_DIR_TX));
	ret = qktls_stream_rekey(self->p.a.st, QKTLS_STREAM_REKEY_AUTO);
	EXPECT_EQ(-QKTLS_E_NOREKEY, ret);
	EXPECT_NE(NULL, strstr(qktls_strerror(ret), "kernel has no kTLS rekey"));
}

TEST_HARNESS_MAIN
