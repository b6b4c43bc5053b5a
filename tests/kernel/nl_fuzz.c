// SPDX-License-Identifier: GPL-2.0-only
/*
 * Netlink fuzzing of the qktls family: random but structurally varied
 * messages to every command, from five workers at once:
 *
 *   ns1-root, ns2-root      root (CAP_NET_ADMIN) in two fresh network
 *                           namespaces, joined to the events group
 *   ns1-nobody, ns2-nobody  uid/gid nobody, no capabilities, in the same
 *                           two namespaces (and holding the root worker's
 *                           sockets, attached ones included)
 *   userns-nobody           nobody in a user and network namespace of its
 *                           own (CAP_NET_ADMIN there, nowhere else): the
 *                           strongest reach of a hostile local user
 *
 * A message is one of: built from the family's policies with random
 * subsets, values at and around every limit, and real fds (kTLS pairs
 * attached and not, half-kTLS, plain TCP, listening, UDP, unix, /dev/null,
 * netlink, a socket of another namespace, closed and absurd numbers); made
 * of random attributes (types, lengths, nesting, flags); or a built one
 * with random bytes, lengths and truncations.  Header flags, command and
 * version are random too.  Attached sockets carry data now and then so
 * the rekey paths run under the fuzzing.
 *
 * Checks: no reply ever holds key material (every key the fuzzer adds
 * starts with a marker it looks for in every byte received); afterwards a
 * known-good sequence works in each fuzzed namespace and in a fresh one;
 * /proc/sys/kernel/tainted did not change; the module's slab caches
 * (qktls_pool, qktls_key, qktls_sock) come back to where they were; with
 * kmemleak in the kernel, a scan reports nothing of qktls.  Oopses, WARNs,
 * UBSAN and KASAN reports end the VM run (tools/vm/boot).
 *
 * QKTLS_NL_FUZZ_MSGS (default 20000) messages in all, split between the
 * workers; QKTLS_NL_FUZZ_SEED (default: from the clock) makes a run
 * reproducible, worker by worker: the seed is printed first.
 */
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <sys/un.h>
#include <time.h>
#include "kselftest_harness.h"
#include "../lib/ktls.h"
#include "../lib/qktls_nl.h"

#define NOBODY		65534
#define N_POOLS		4
#define N_IDS		24		/* key IDs the valid-looking keys use */
#define REFRESH		2000		/* messages between new socket sets */
#define MARK		"QKFZ-MAT"	/* every key's material starts so */
#define MARK_LEN	8

/* ---- random numbers ------------------------------------------------------ */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* 0 .. n-1 */
static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

/* true with probability pct % */
static bool chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

static uint32_t pick_u32(struct rng *r)
{
	static const uint32_t v[] = {
		0, 1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 255,
		1023, 1024, 1025, 4096, 65535, 0x7fffffff, 0x80000000,
		0xfffffffe, 0xffffffff,
	};

	return chance(r, 75) ? v[below(r, sizeof(v) / sizeof(v[0]))] :
			       (uint32_t)rnd(r);
}

static uint64_t pick_u64(struct rng *r)
{
	static const uint64_t v[] = {
		0, 1, 16384, 65536, 1 << 20, 1ULL << 24, (1ULL << 24) + 1,
		1ULL << 32, 1ULL << 62, ~0ULL >> 1, ~0ULL, ~0ULL - 1,
	};

	return chance(r, 70) ? v[below(r, sizeof(v) / sizeof(v[0]))] : rnd(r);
}

static void fill(struct rng *r, uint8_t *p, size_t n)
{
	static const uint8_t odd[] = { 0, 0xff, 0x7f, 0x80, '/', '.', ' ', '%' };
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = chance(r, 20) ? odd[below(r, sizeof(odd))] : (uint8_t)rnd(r);
}

/* ---- messages ------------------------------------------------------------ */

struct msg {
	uint8_t buf[16384];
	size_t len;
};

/* Room for an attribute of @len; NULL when the message is full. */
static void *put(struct msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->len);

	if (m->len + NLA_HDRLEN + NLA_ALIGN(len) > sizeof(m->buf) - 64)
		return NULL;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (data)
		memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	else
		memset((uint8_t *)a + NLA_HDRLEN, 0, len);
	memset((uint8_t *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	m->len += NLA_HDRLEN + NLA_ALIGN(len);
	return (uint8_t *)a + NLA_HDRLEN;
}

static void put_u8(struct msg *m, uint16_t t, uint8_t v) { put(m, t, &v, 1); }
static void put_u16(struct msg *m, uint16_t t, uint16_t v) { put(m, t, &v, 2); }
static void put_u32(struct msg *m, uint16_t t, uint32_t v) { put(m, t, &v, 4); }
static void put_u64(struct msg *m, uint16_t t, uint64_t v) { put(m, t, &v, 8); }

static size_t nest_start(struct msg *m, uint16_t type)
{
	size_t off = m->len;

	if (!put(m, type | NLA_F_NESTED, NULL, 0))
		return SIZE_MAX;
	return off;
}

static void nest_end(struct msg *m, size_t off)
{
	if (off != SIZE_MAX)
		((struct nlattr *)(m->buf + off))->nla_len = (uint16_t)(m->len - off);
}

/* ---- the worker's world ---------------------------------------------------- */

enum { FD_ATT_C, FD_ATT_S, FD_KTLS, FD_HALF, FD_TCP, FD_LISTEN, FD_UDP,
       FD_UNIX, FD_NULL, FD_NL, FD_FOREIGN, FD_MINUS, FD_HUGE, FD_MAX_INT,
       FD_CLOSED, N_FDS };

struct worker {
	const char *name;
	struct rng r;
	int nl;			/* raw generic netlink socket */
	uint16_t family;
	uint32_t seq, portid;
	bool rekey;		/* this kernel has kTLS rekey */
	int fds[N_FDS];
	int peer_ktls;		/* the other end of FD_KTLS */
	uint64_t cookies[4];
	char pools[N_POOLS][QKTLS_POOL_NAME_MAX];
	/* figures */
	unsigned long sent, replies, acks, errors[140], busy_drops;
	unsigned long leaks;	/* replies holding key material */
};

static uint8_t ids[N_IDS][QKTLS_KEY_ID_LEN];

/* The socket set a worker aims at; @attach: attach FD_ATT_C/S (root). */
static void fds_close(struct worker *w)
{
	static const int mine[] = { FD_ATT_C, FD_ATT_S, FD_KTLS, FD_HALF,
				    FD_TCP, FD_LISTEN, FD_UDP, FD_UNIX };
	size_t i;

	for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++)
		if (w->fds[mine[i]] >= 0)
			close(w->fds[mine[i]]);
	if (w->peer_ktls >= 0)
		close(w->peer_ktls);
	w->peer_ktls = -1;
}

static int attach_fd(struct worker *w, struct qk *q, int fd, int which)
{
	uint8_t tx[48], rx[48];
	struct qk_attach a = {
		.fd = fd, .cipher = 0x1302, .tx_secret = tx, .tx_len = 48,
		.rx_secret = rx, .rx_len = 48, .link = w->name,
		.tx_pool = w->pools[which], .rx_pool = w->pools[which ^ 1],
		.qkd_update = true,
	};
	struct qk_sock_info si;
	struct qk_reply r;
	int err;

	fill(&w->r, tx, sizeof(tx));
	fill(&w->r, rx, sizeof(rx));
	if (w->rekey && chance(&w->r, 70)) {
		a.rekey_bytes = 1 + below(&w->r, 4096);
		a.qkd_policy = 1 + below(&w->r, 3);
	}
	err = qk_sock_attach(q, &a, &si, &r);
	qk_reply_free(&r);
	if (!err)
		w->cookies[which] = si.id;
	return err;
}

static void fds_open(struct worker *w, struct qk *q)
{
	struct ktls_dir d = { .seq = 0 };
	int c, s, l;

	memset(d.key, 0x5a, sizeof(d.key));
	memset(d.iv, 0xa5, sizeof(d.iv));
	w->fds[FD_ATT_C] = w->fds[FD_ATT_S] = -1;
	if (!ktls_pair(TLS_CIPHER_AES_GCM_256, &c, &s)) {
		w->fds[FD_ATT_C] = c;
		w->fds[FD_ATT_S] = s;
		if (q) {
			attach_fd(w, q, c, 0);
			attach_fd(w, q, s, 1);
		}
	}
	w->fds[FD_KTLS] = w->peer_ktls = -1;
	if (!ktls_pair(TLS_CIPHER_AES_GCM_128, &c, &s)) {
		w->fds[FD_KTLS] = c;
		w->peer_ktls = s;
	}
	w->fds[FD_HALF] = w->fds[FD_TCP] = -1;
	if (!tcp_pair(&c, &s)) {
		w->fds[FD_HALF] = c;
		ktls_set(c, TLS_TX, TLS_CIPHER_AES_GCM_256, &d);
		w->fds[FD_TCP] = s;
	}
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l >= 0 && listen(l, 1)) {
		close(l);
		l = -1;
	}
	w->fds[FD_LISTEN] = l;
	w->fds[FD_UDP] = socket(AF_INET, SOCK_DGRAM, 0);
	w->fds[FD_UNIX] = socket(AF_UNIX, SOCK_STREAM, 0);
}

static void fds_init(struct worker *w, int foreign)
{
	int fd;

	w->fds[FD_NULL] = open("/dev/null", O_RDWR);
	w->fds[FD_NL] = w->nl;
	w->fds[FD_FOREIGN] = foreign;
	w->fds[FD_MINUS] = -1;
	w->fds[FD_HUGE] = 99999;
	w->fds[FD_MAX_INT] = INT_MAX;
	fd = open("/dev/null", O_RDONLY);
	close(fd);
	w->fds[FD_CLOSED] = fd;
}

static int pick_fd(struct worker *w)
{
	/* The attached ones most often: that is where the handlers go deep. */
	if (chance(&w->r, 50))
		return w->fds[below(&w->r, 2)];
	if (chance(&w->r, 5))
		return (int)rnd(&w->r);
	return w->fds[below(&w->r, N_FDS)];
}

static const char *pick_pool(struct worker *w, char *buf, size_t size)
{
	static const char *const odd[] = {
		"", "a/b", "..", "x y", "%s%n", "fz0\n", "0123456789012345678901234567890",
		"01234567890123456789012345678901",
	};

	if (chance(&w->r, 85))
		return w->pools[below(&w->r, N_POOLS)];
	if (chance(&w->r, 50))
		return odd[below(&w->r, sizeof(odd) / sizeof(odd[0]))];
	snprintf(buf, size, "fzr%u", below(&w->r, 64));
	return buf;
}

/* A string attribute: usually NUL-terminated, sometimes not, or too long. */
static void put_name(struct worker *w, struct msg *m, uint16_t type,
		     const char *s)
{
	size_t n = strlen(s);

	if (chance(&w->r, 90)) {
		put(m, type, s, n + 1);
	} else if (chance(&w->r, 50)) {
		put(m, type, s, n);		/* no NUL */
	} else {
		uint8_t big[200];

		memset(big, 'q', sizeof(big));
		put(m, type, big, 1 + below(&w->r, sizeof(big)));
	}
}

static void put_pool(struct worker *w, struct msg *m, uint16_t type)
{
	char buf[32];

	put_name(w, m, type, pick_pool(w, buf, sizeof(buf)));
}

/* A key nest: ID, index and material, each maybe; lengths at the limits. */
static void put_key(struct worker *w, struct msg *m, bool material)
{
	size_t off = nest_start(m, QKTLS_A_KEY);
	uint8_t mat[80];
	size_t len;

	if (chance(&w->r, 92)) {
		if (chance(&w->r, 95))
			put(m, QKTLS_KEY_A_ID, ids[below(&w->r, N_IDS)], QKTLS_KEY_ID_LEN);
		else
			put(m, QKTLS_KEY_A_ID, ids[0], below(&w->r, 20));
	}
	if (chance(&w->r, 30))
		put_u64(m, QKTLS_KEY_A_INDEX, pick_u64(&w->r));
	if (material && chance(&w->r, 92)) {
		/* The fuzzer's pools take 32-byte keys. */
		len = chance(&w->r, 60) ? 32 : chance(&w->r, 85) ? 16 + below(&w->r, 49) :
		      below(&w->r, sizeof(mat));
		fill(&w->r, mat, len);
		memcpy(mat, MARK, len < MARK_LEN ? len : MARK_LEN);
		put(m, QKTLS_KEY_A_MATERIAL, mat, len);
	}
	if (chance(&w->r, 5))
		put_u32(m, (uint16_t)below(&w->r, QKTLS_KEY_A_MAX + 3), pick_u32(&w->r));
	nest_end(m, off);
}

/* Attributes of @cmd as its policy has them, a random subset. */
static void build_valid(struct worker *w, struct msg *m, uint8_t cmd)
{
	struct rng *r = &w->r;
	unsigned int i, n;

	switch (cmd) {
	case QKTLS_CMD_POOL_NEW:
	case QKTLS_CMD_POOL_SET:
		if (chance(r, 95))
			put_pool(w, m, QKTLS_A_POOL_NAME);
		if (chance(r, 30)) {
			char peer[QKTLS_PEER_MAX + 8];
			size_t len = below(r, sizeof(peer) - 1);

			fill(r, (uint8_t *)peer, len);
			peer[len] = 0;
			put_name(w, m, QKTLS_A_POOL_PEER, chance(r, 50) ? "peer-fz" : peer);
		}
		for (i = QKTLS_A_POOL_KEY_MIN_LEN; i <= QKTLS_A_POOL_KEY_LIFETIME; i++)
			if (chance(r, 35))
				put_u32(m, i, chance(r, 50) ? 16 + below(r, 49) : pick_u32(r));
		if (chance(r, 25))
			put_u64(m, QKTLS_A_POOL_REKEY_BYTES, pick_u64(r));
		if (chance(r, 25))
			put_u32(m, QKTLS_A_POOL_REKEY_SECONDS, pick_u32(r));
		break;
	case QKTLS_CMD_POOL_DEL:
	case QKTLS_CMD_POOL_GET:
	case QKTLS_CMD_KEY_FLUSH:
	case QKTLS_CMD_KEY_GET:
		if (chance(r, 92))
			put_pool(w, m, QKTLS_A_POOL_NAME);
		break;
	case QKTLS_CMD_KEY_ADD:
		if (chance(r, 95))
			put_pool(w, m, QKTLS_A_POOL_NAME);
		n = chance(r, 90) ? below(r, 9) : below(r, 120);
		for (i = 0; i < n; i++)
			put_key(w, m, true);
		break;
	case QKTLS_CMD_KEY_DEL:
	case QKTLS_CMD_KEY_TAKE:
		if (chance(r, 95))
			put_pool(w, m, QKTLS_A_POOL_NAME);
		n = below(r, 4);
		for (i = 0; i < n; i++)
			put_key(w, m, chance(r, 10));
		break;
	case QKTLS_CMD_STATS_GET:
		break;
	case QKTLS_CMD_SOCK_ATTACH: {
		static const uint16_t suites[] = { 0x1301, 0x1302, 0x1303, 0x1304, 0, 0xffff };
		uint8_t sec[64];

		if (chance(r, 95))
			put(m, QKTLS_A_SOCK_FD, &(int32_t){ pick_fd(w) }, 4);
		if (chance(r, 92))
			put_u16(m, QKTLS_A_SOCK_CIPHER, suites[below(r, 6)]);
		for (i = QKTLS_A_SOCK_TX_SECRET; i <= QKTLS_A_SOCK_RX_SECRET; i++)
			if (chance(r, 92)) {
				size_t len = chance(r, 80) ? (chance(r, 50) ? 32 : 48) :
					     below(r, sizeof(sec));

				fill(r, sec, sizeof(sec));
				put(m, i, sec, len);
			}
		if (chance(r, 40))
			put_name(w, m, QKTLS_A_SOCK_LINK, "link-fz");
		if (chance(r, 60))
			put_pool(w, m, QKTLS_A_SOCK_TX_POOL);
		if (chance(r, 60))
			put_pool(w, m, QKTLS_A_SOCK_RX_POOL);
		if (chance(r, 50))
			put(m, QKTLS_A_SOCK_QKD_UPDATE, NULL, 0);
		if (chance(r, 30))
			put_u64(m, QKTLS_A_SOCK_REKEY_BYTES, pick_u64(r));
		if (chance(r, 20))
			put_u32(m, QKTLS_A_SOCK_REKEY_SECONDS, pick_u32(r));
		if (chance(r, 20))
			put(m, QKTLS_A_SOCK_REKEY_REQUIRED, NULL, 0);
		if (chance(r, 20))
			put_u64(m, QKTLS_A_SOCK_REKEY_RECORDS, pick_u64(r));
		if (chance(r, 40))
			put_u8(m, QKTLS_A_SOCK_QKD_POLICY, (uint8_t)below(r, 5));
		break;
	}
	case QKTLS_CMD_SOCK_DETACH:
	case QKTLS_CMD_SOCK_GET:
		if (chance(r, 75))
			put(m, QKTLS_A_SOCK_FD, &(int32_t){ pick_fd(w) }, 4);
		if (chance(r, 35))
			put_u64(m, QKTLS_A_SOCK_ID, chance(r, 70) ?
				w->cookies[below(r, 4)] : pick_u64(r));
		break;
	case QKTLS_CMD_SOCK_REKEY:
		if (chance(r, 95))
			put(m, QKTLS_A_SOCK_FD, &(int32_t){ pick_fd(w) }, 4);
		if (chance(r, 95))
			put_u8(m, QKTLS_A_SOCK_DIRECTION, (uint8_t)below(r, 4));
		if (chance(r, 60))
			put_u32(m, QKTLS_A_SOCK_REKEY_FLAGS, chance(r, 90) ? below(r, 4) :
				pick_u32(r));
		if (chance(r, 20))
			put(m, QKTLS_A_SOCK_KEY_REF, ids[below(r, N_IDS)],
			    chance(r, 90) ? QKTLS_KEY_ID_LEN : below(r, 40));
		break;
	default:
		break;
	}
	/* Attributes the command does not take, now and then. */
	n = chance(r, 10) ? 1 + below(r, 3) : 0;
	for (i = 0; i < n; i++)
		put_u32(m, (uint16_t)below(r, QKTLS_A_MAX + 4), pick_u32(r));
}

/* Random attributes: types, lengths, flags and nesting. */
static void build_random(struct worker *w, struct msg *m, int depth)
{
	unsigned int i, n = 1 + below(&w->r, 10);
	uint8_t data[96];

	for (i = 0; i < n && m->len < 4096; i++) {
		uint16_t type = (uint16_t)below(&w->r, QKTLS_A_MAX + 6);

		if (chance(&w->r, 5))
			type |= NLA_F_NET_BYTEORDER;
		if (depth < 3 && chance(&w->r, 15)) {
			size_t off = nest_start(m, type);

			build_random(w, m, depth + 1);
			nest_end(m, off);
			continue;
		}
		fill(&w->r, data, sizeof(data));
		put(m, type, data, below(&w->r, chance(&w->r, 70) ? 17 : sizeof(data)));
	}
}

/* Break a built message: random bytes, attribute lengths, a truncation. */
static void mutate(struct worker *w, struct msg *m, size_t start)
{
	unsigned int i, n = 1 + below(&w->r, 4);

	if (m->len <= start)
		return;
	for (i = 0; i < n; i++) {
		size_t at = start + below(&w->r, (uint32_t)(m->len - start));

		switch (below(&w->r, 3)) {
		case 0:
			m->buf[at] = (uint8_t)rnd(&w->r);
			break;
		case 1:		/* an nla_len, if @at starts near one */
			at &= ~(size_t)3;
			if (at + 2 <= m->len)
				memcpy(m->buf + at, &(uint16_t){ (uint16_t)pick_u32(&w->r) }, 2);
			break;
		default:
			m->len = at;
			break;
		}
	}
}

/* ---- one message ------------------------------------------------------------ */

/* Does any reply byte hold key material?  The marker opens every key. */
static void scan_reply(struct worker *w, const uint8_t *buf, size_t n)
{
	if (memmem(buf, n, MARK, MARK_LEN))
		w->leaks++;
}

/* Read what came back, without waiting (requests are answered in send). */
static void drain(struct worker *w)
{
	static uint8_t buf[65536];

	for (;;) {
		ssize_t n = recv(w->nl, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *h;
		int len;

		if (n < 0 && errno == ENOBUFS) {
			w->busy_drops++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		scan_reply(w, buf, (size_t)n);
		len = (int)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)len);
		     h = NLMSG_NEXT(h, len)) {
			w->replies++;
			if (h->nlmsg_type == NLMSG_ERROR &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
				int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;

				if (!e)
					w->acks++;
				else
					w->errors[e > 0 && e < 139 ? e : 139]++;
			}
		}
	}
}

/* The commands a caller sends (the others are events). */
static const uint8_t requests[] = {
	QKTLS_CMD_POOL_NEW, QKTLS_CMD_POOL_DEL, QKTLS_CMD_POOL_SET,
	QKTLS_CMD_POOL_GET, QKTLS_CMD_KEY_ADD, QKTLS_CMD_KEY_DEL,
	QKTLS_CMD_KEY_FLUSH, QKTLS_CMD_KEY_GET, QKTLS_CMD_KEY_TAKE,
	QKTLS_CMD_STATS_GET, QKTLS_CMD_SOCK_ATTACH, QKTLS_CMD_SOCK_DETACH,
	QKTLS_CMD_SOCK_GET, QKTLS_CMD_SOCK_REKEY,
};
#define N_REQUESTS (sizeof(requests) / sizeof(requests[0]))

/* Commands with a dump. */
static bool dumps(uint8_t cmd)
{
	return cmd == QKTLS_CMD_POOL_GET || cmd == QKTLS_CMD_KEY_GET ||
	       cmd == QKTLS_CMD_SOCK_GET;
}

static void one_message(struct worker *w)
{
	static struct msg m;
	struct nlmsghdr *h = (struct nlmsghdr *)m.buf;
	struct genlmsghdr *g = (struct genlmsghdr *)(m.buf + NLMSG_HDRLEN);
	struct rng *r = &w->r;
	uint8_t cmd = chance(r, 88) ? requests[below(r, N_REQUESTS)] :
		      chance(r, 50) ? (uint8_t)below(r, QKTLS_CMD_MAX + 3) : (uint8_t)rnd(r);
	unsigned int mode = below(r, 100);
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	memset(m.buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	m.len = NLMSG_HDRLEN + GENL_HDRLEN;
	h->nlmsg_type = w->family;
	h->nlmsg_flags = NLM_F_REQUEST;
	if (chance(r, 75))
		h->nlmsg_flags |= NLM_F_ACK;
	if (chance(r, dumps(cmd) ? 40 : 3))
		h->nlmsg_flags |= NLM_F_DUMP;
	if (chance(r, 4))
		h->nlmsg_flags = (uint16_t)rnd(r);
	h->nlmsg_seq = ++w->seq;
	h->nlmsg_pid = chance(r, 98) ? w->portid : (uint32_t)rnd(r);
	g->cmd = cmd;
	g->version = chance(r, 92) ? QKTLS_GENL_VERSION : (uint8_t)rnd(r);
	g->reserved = chance(r, 95) ? 0 : (uint16_t)rnd(r);

	if (mode < 65) {
		build_valid(w, &m, cmd);
	} else if (mode < 85) {
		build_random(w, &m, 0);
	} else {
		build_valid(w, &m, cmd);
		mutate(w, &m, NLMSG_HDRLEN + GENL_HDRLEN);
	}
	h->nlmsg_len = (uint32_t)m.len;
	if (chance(r, 2))	/* a header that lies about the length */
		h->nlmsg_len = (uint32_t)(m.len + below(r, 64)) - below(r, 16);
	if (sendto(w->nl, m.buf, m.len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 &&
	    errno != EINVAL && errno != ENOBUFS && errno != EMSGSIZE)
		w->errors[errno < 139 ? errno : 139]++;
	w->sent++;
	drain(w);
}

/* Data on the attached pair both ways, never blocking. */
static void some_data(struct worker *w)
{
	uint8_t buf[2048];
	int c = w->fds[FD_ATT_C], s = w->fds[FD_ATT_S];
	ssize_t n;

	if (c < 0 || s < 0)
		return;
	memset(buf, 0x42, sizeof(buf));
	n = send(c, buf, 1 + below(&w->r, sizeof(buf)), MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)n;
	n = send(s, buf, 1 + below(&w->r, sizeof(buf)), MSG_DONTWAIT | MSG_NOSIGNAL);
	n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
}

/* ---- workers ---------------------------------------------------------------- */

static int nl_open(struct worker *w)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	socklen_t alen = sizeof(a);
	int one = 1, size = 1 << 20;

	w->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (w->nl < 0 || bind(w->nl, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(w->nl, (struct sockaddr *)&a, &alen))
		return -errno;
	w->portid = a.nl_pid;
	setsockopt(w->nl, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	/*
	 * Errors and acks without the request in them: an echo of the
	 * request's own key material is not a reply that holds it.
	 */
	if (setsockopt(w->nl, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)))
		return -errno;
	setsockopt(w->nl, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return 0;
}

static bool has_no_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d))
		return false;
	return !(d[0].effective | d[1].effective | d[0].permitted | d[1].permitted);
}

static int become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -errno;
	return has_no_caps() ? 0 : -EPERM;
}

/*
 * The known-good sequence: a pool made, filled, taken from, read and
 * deleted; a kTLS pair attached, read back by fd and by ID, detached.
 * 0 or the number of the step that failed.
 */
static int known_good(const char *pool)
{
	struct qk_sock_info si;
	struct qk_taken t;
	struct qk_reply r;
	struct qk q;
	int c = -1, s = -1, step = 0, err = 0;
	uint8_t tx[48], rx[48];
	struct qk_attach a = {
		.cipher = 0x1302, .tx_secret = tx, .tx_len = 48, .rx_secret = rx,
		.rx_len = 48, .tx_pool = pool, .rx_pool = pool, .qkd_update = true,
	};

#define STEP(x) do { step++; err = (x); qk_reply_free(&r); if (err) goto out; } while (0)
	memset(&r, 0, sizeof(r));
	if (qk_open(&q))
		return 100;
	qk_pool_drop(&q, pool);
	qk_material(tx, sizeof(tx), 1, 1);
	qk_material(rx, sizeof(rx), 1, 2);
	STEP(qk_pool_new(&q, pool, 8, 32, &r));
	STEP(qk_add_keys(&q, pool, 0x600d, 0, 4, 32, &r));
	STEP(qk_take(&q, pool, NULL, &t, &r));
	STEP(t.seen && t.len == 32 ? 0 : -EIO);
	STEP(qk_pool_count(&q, pool) == 3 ? 0 : -EIO);
	STEP(ktls_pair(TLS_CIPHER_AES_GCM_256, &c, &s));
	a.fd = c;
	STEP(qk_sock_attach(&q, &a, &si, &r));
	STEP(si.seen && si.id == qk_cookie(c) ? 0 : -EIO);
	STEP(qk_sock_cmd(&q, QKTLS_CMD_SOCK_GET, -1, si.id, &si, &r));
	STEP(qk_sock_cmd(&q, QKTLS_CMD_SOCK_DETACH, c, 0, NULL, &r));
	STEP(qk_sock_cmd(&q, QKTLS_CMD_SOCK_GET, c, 0, NULL, &r) == -ENOENT ? 0 : -EIO);
	STEP(qk_pool_simple(&q, QKTLS_CMD_POOL_DEL, pool, &r));
#undef STEP
out:
	if (err)
		fprintf(stderr, "# known-good sequence: step %d failed: %s\n", step,
			strerror(err < 0 ? -err : err));
	if (c >= 0)
		close(c);
	if (s >= 0)
		close(s);
	qk_close(&q);
	return err ? step : 0;
}

static void report(const struct worker *w, double secs)
{
	bool shown[140] = { false };
	char top[256] = "";
	size_t used = 0;
	int e, k;

	/* The five commonest errors. */
	for (k = 0; k < 5 && used < sizeof(top); k++) {
		int best = 0;

		for (e = 1; e < 140; e++)
			if (!shown[e] && w->errors[e] > w->errors[best])
				best = e;
		if (!best)
			break;
		shown[best] = true;
		used += snprintf(top + used, sizeof(top) - used, " %s:%lu",
				 strerrorname_np(best) ? strerrorname_np(best) : "other",
				 w->errors[best]);
	}
	printf("# %-14s %8lu messages in %6.1f s, %8lu replies, %7lu acks; errors%s\n",
	       w->name, w->sent, secs, w->replies, w->acks, top);
	fflush(stdout);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Fuzz @n messages.  Exit status: 0, or what went wrong (10: key material
 * in a reply, 11: the known-good sequence failed afterwards).
 */
static int fuzz_loop(struct worker *w, unsigned long n, struct qk *q)
{
	double t0 = mono();
	unsigned long i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		if (i && i % REFRESH == 0) {
			fds_close(w);
			fds_open(w, q);
		}
		if (chance(&w->r, 1))
			some_data(w);
		one_message(w);
	}
	report(w, mono() - t0);
	if (w->leaks) {
		printf("# %s: %lu replies held key material\n", w->name, w->leaks);
		ret = 10;
	}
	fflush(stdout);
	return ret;
}

static void worker_setup(struct worker *w, const char *name, uint64_t seed,
			 uint16_t family, int foreign)
{
	int i;

	memset(w, 0, sizeof(*w));
	w->name = name;
	w->r.s = seed ? seed : 1;
	w->family = family;
	w->rekey = qk_tls_stat("TlsTxRekeyOk") >= 0;
	for (i = 0; i < N_POOLS; i++)
		snprintf(w->pools[i], sizeof(w->pools[i]), "fz%d", i);
	for (i = 0; i < N_FDS; i++)
		w->fds[i] = -1;
	w->peer_ktls = -1;
	fds_init(w, foreign);
}

static int make_pools(struct worker *w, struct qk *q)
{
	struct qk_reply r;
	int i, err = 0;

	for (i = 0; i < N_POOLS && !err; i++) {
		qk_pool_drop(q, w->pools[i]);
		err = qk_pool_new(q, w->pools[i], 256, 0, &r);
		qk_reply_free(&r);
	}
	return err;
}

/* A namespace's pair of workers: root here, nobody in a child. */
static int ns_workers(const char *root_name, const char *nobody_name,
		      uint64_t seed, uint16_t family, unsigned long n, int foreign)
{
	struct worker w;
	struct qk q;
	pid_t kid;
	int ret, st;

	if (qk_private_netns())
		return 20;
	if (qk_open(&q))
		return 21;
	worker_setup(&w, root_name, seed, family, foreign);
	if (nl_open(&w))
		return 22;
	w.fds[FD_NL] = w.nl;
	if (make_pools(&w, &q))
		return 23;
	setsockopt(w.nl, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &q.events_grp,
		   sizeof(q.events_grp));
	fds_open(&w, &q);
	fflush(stdout);
	kid = fork();
	if (kid == 0) {
		struct worker u;

		if (become_nobody())
			_exit(30);
		/* Its own netlink socket and generator; the root's sockets. */
		worker_setup(&u, nobody_name, seed ^ 0x9e3779b97f4a7c15ULL, family,
			     foreign);
		memcpy(u.fds, w.fds, sizeof(u.fds));
		memcpy(u.cookies, w.cookies, sizeof(u.cookies));
		if (nl_open(&u))
			_exit(31);
		u.fds[FD_NL] = u.nl;
		_exit(fuzz_loop(&u, n, NULL));
	}
	ret = fuzz_loop(&w, n, &q);
	st = kid > 0 ? qk_wait_child(kid) : 32;
	fds_close(&w);
	qk_close(&q);
	if (!ret && st)
		ret = st;
	if (!ret && known_good("fz-good"))
		ret = 11;
	return ret;
}

/* nobody in a user and network namespace of its own. */
static int userns_worker(uint64_t seed, uint16_t family, unsigned long n,
			 int foreign)
{
	struct worker w;
	struct qk q;
	int ret;

	if (become_nobody())
		return 30;
	if (unshare(CLONE_NEWUSER)) {
		printf("# userns-nobody: no user namespaces here (%s): skipped\n",
		       strerror(errno));
		fflush(stdout);
		return 0;
	}
	if (qk_private_netns() || qk_open(&q))
		return 20;
	worker_setup(&w, "userns-nobody", seed, family, foreign);
	if (nl_open(&w))
		return 22;
	w.fds[FD_NL] = w.nl;
	if (make_pools(&w, &q))
		return 23;
	fds_open(&w, &q);
	ret = fuzz_loop(&w, n, &q);
	fds_close(&w);
	qk_close(&q);
	if (!ret && known_good("fz-good"))
		ret = 11;
	return ret;
}

/* ---- the host's view: taint, slab caches, kmemleak ------------------------ */

static long tainted(void)
{
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");
	long t = -1;

	if (f) {
		if (fscanf(f, "%ld", &t) != 1)
			t = -1;
		fclose(f);
	}
	return t;
}

static const char *const caches[] = { "qktls_pool", "qktls_key", "qktls_sock" };
#define N_CACHES (sizeof(caches) / sizeof(caches[0]))

static void cache_counts(long *v)
{
	size_t i;

	qk_slab_shrink();
	for (i = 0; i < N_CACHES; i++)
		v[i] = qk_slab_active(caches[i]);
}

#define KMEMLEAK "/sys/kernel/debug/kmemleak"

static bool kmemleak_cmd(const char *cmd)
{
	FILE *f;

	if (access(KMEMLEAK, F_OK))
		qk_run("mount -t debugfs none /sys/kernel/debug 2>/dev/null");
	f = fopen(KMEMLEAK, "w");
	if (!f)
		return false;
	fputs(cmd, f);
	return !fclose(f);
}

/* Lines of the kmemleak report that name qktls; -1 without kmemleak. */
static long kmemleak_qktls(void)
{
	char line[512];
	long n = 0;
	FILE *f;

	/* Objects must stay unreferenced for two scans to count as leaks. */
	if (!kmemleak_cmd("scan") || !kmemleak_cmd("scan"))
		return -1;
	f = fopen(KMEMLEAK, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "qktls")) {
			fprintf(stderr, "# kmemleak: %s", line);
			n++;
		}
	fclose(f);
	return n;
}

FIXTURE(fz) {
	struct qk q;
};

FIXTURE_SETUP(fz)
{
	ASSERT_EQ(0, qk_open(&self->q));
}

FIXTURE_TEARDOWN(fz)
{
	qk_close(&self->q);
}

/* Up to 10 hours: the million-message run under emulation takes hours. */
TEST_F_TIMEOUT(fz, every_command, 36000)
{
	static const char *const names[] = {
		"ns1", "ns2", "userns-nobody",
	};
	unsigned long total = qk_env_ulong("QKTLS_NL_FUZZ_MSGS", 20000), each;
	uint64_t seed = qk_env_ulong("QKTLS_NL_FUZZ_SEED", 0);
	long taint0, taint1, before[N_CACHES], after[N_CACHES], leaks;
	pid_t kids[3];
	int c = -1, s = -1, i, st;
	double t0;
	size_t k;

	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("# seed %llu (QKTLS_NL_FUZZ_SEED=%llu reproduces each worker's messages), "
	       "%lu messages\n", (unsigned long long)seed, (unsigned long long)seed, total);
	fflush(stdout);
	each = total / 5;
	taint0 = tainted();
	ASSERT_LE(0, taint0);
	if (kmemleak_cmd("clear"))
		printf("# kmemleak: on, cleared\n");
	else
		printf("# kmemleak: not in this kernel (CONFIG_DEBUG_KMEMLEAK off); "
		       "leaks are judged by the module's slab caches\n");
	cache_counts(before);
	for (k = 0; k < N_IDS; k++)
		qk_id(ids[k], 0xf022, k);
	/* A kTLS socket of this namespace, inherited by every worker. */
	ASSERT_EQ(0, ktls_pair(TLS_CIPHER_AES_GCM_256, &c, &s));
	fflush(stdout);
	t0 = mono();
	for (i = 0; i < 3; i++) {
		uint64_t wseed = seed * (2 * i + 3);

		kids[i] = fork();
		ASSERT_LE(0, kids[i]);
		if (kids[i])
			continue;
		if (i < 2) {
			char rn[16], nn[16];

			snprintf(rn, sizeof(rn), "%s-root", names[i]);
			snprintf(nn, sizeof(nn), "%s-nobody", names[i]);
			/* Two namespaces' root and nobody: 4 of the 5 shares. */
			_exit(ns_workers(rn, nn, wseed, (uint16_t)self->q.family, each, c));
		}
		_exit(userns_worker(wseed, (uint16_t)self->q.family,
				    total - 4 * each, c));
	}
	for (i = 0; i < 3; i++) {
		st = qk_wait_child(kids[i]);
		EXPECT_EQ(0, st) {
			TH_LOG("worker %s: exit status %d (10: key material in a reply, "
			       "11: known-good sequence failed, 20-32: set-up)", names[i], st);
		}
	}
	printf("# all workers done in %.1f s (%.0f messages/s)\n", mono() - t0,
	       total / (mono() - t0));
	close(c);
	close(s);

	/* The module still works, here too. */
	EXPECT_EQ(0, known_good("fz-good-init"));

	/* The namespaces' pools and sockets go with them, after a while. */
	t0 = mono();
	do {
		cache_counts(after);
		for (k = 0; k < N_CACHES && after[k] <= before[k]; k++)
			;
		if (k == N_CACHES)
			break;
		usleep(200 * 1000);
	} while (mono() - t0 < 60);
	for (k = 0; k < N_CACHES; k++) {
		printf("# slab %-10s active objects %ld before, %ld after\n", caches[k],
		       before[k], after[k]);
		EXPECT_LE(after[k], before[k]);
	}
	leaks = kmemleak_qktls();
	if (leaks >= 0) {
		printf("# kmemleak: %ld report lines of qktls\n", leaks);
		EXPECT_EQ(0, leaks);
	}
	taint1 = tainted();
	printf("# tainted: %ld before, %ld after\n", taint0, taint1);
	EXPECT_EQ(taint0, taint1);
}

TEST_HARNESS_MAIN
