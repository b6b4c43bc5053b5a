// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attaching kTLS sockets to qktls.ko (QKTLS_CMD_SOCK_ATTACH, _GET, _DETACH):
 * what the reply holds and never holds (the secrets), every refusal with
 * its error and extack message, who may do what (fd holders vs
 * CAP_NET_ADMIN), network namespace isolation, and the lifetime of an
 * attachment: gone from a dump right after close(), its slot freed by
 * the close itself in a namespace nothing asks about (seen through
 * qktls.max_socks: the count only drops when an attachment is freed),
 * released with its
 * network namespace; an attached socket holds the module until it is
 * detached or closed.  The last test unloads and reloads qktls.
 */
#include <time.h>
#include "kselftest_harness.h"
#include "../lib/ktls.h"
#include "../lib/qktls_nl.h"

#define TAG 0x50c4a770u
#define AES256 0x1302

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(att) {
	struct qk q;
	struct qk_reply r;
	int c, s;
	uint8_t tx[48], rx[48];
	struct qk_attach a;
	long max_socks;
};

/* Linux 6.14 and later: kTLS can rekey, and the module takes a policy. */
static bool kernel_has_rekey(void)
{
	return qk_tls_stat("TlsTxRekeyOk") >= 0;
}

FIXTURE_SETUP(att)
{
	ASSERT_EQ(0, qk_open(&self->q));
	/* Tests lower it; teardown puts it back even when one fails. */
	self->max_socks = qk_param("max_socks");
	ASSERT_LT(0, self->max_socks);
	qk_pool_drop(&self->q, "att-tx");
	qk_pool_drop(&self->q, "att-rx");
	ASSERT_EQ(0, qk_pool_new(&self->q, "att-tx", 16, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_new(&self->q, "att-rx", 16, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, ktls_pair(TLS_CIPHER_AES_GCM_256, &self->c, &self->s));
	qk_material(self->tx, sizeof(self->tx), TAG, 1);
	qk_material(self->rx, sizeof(self->rx), TAG, 2);
	self->a = (struct qk_attach){
		.fd = self->c, .cipher = AES256,
		.tx_secret = self->tx, .tx_len = 48,
		.rx_secret = self->rx, .rx_len = 48,
		.link = "link-a", .tx_pool = "att-tx", .rx_pool = "att-rx",
		.qkd_update = true,
	};
	/* Without kTLS rekey (6.12), a rekey policy is refused. */
	if (kernel_has_rekey()) {
		self->a.rekey_bytes = 1 << 20;
		self->a.rekey_seconds = 3600;
	}
}

FIXTURE_TEARDOWN(att)
{
	qk_set_param("max_socks", self->max_socks);
	close(self->c);
	close(self->s);
	qk_pool_drop(&self->q, "att-tx");
	qk_pool_drop(&self->q, "att-rx");
	qk_close(&self->q);
}

static bool holds_secret(FIXTURE_DATA(att) *self, const struct qk_reply *r)
{
	return qk_contains(r->raw, r->raw_len, self->tx, 16) ||
	       qk_contains(r->raw, r->raw_len, self->rx, 16);
}

/*
 * The records policy: kTLS's own TX record count decides.  AES-GCM is
 * capped at 2^24 records per key without being asked; ChaCha20 is not.
 */
TEST_F(att, records_policy)
{
	uint8_t buf[100] = { 0 };
	struct qk_sock_info si;
	int c2, s2;

	self->a.rekey_bytes = 0;
	self->a.rekey_seconds = 0;
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, &si, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(1ULL << 24, (unsigned long long)si.rekey_records);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);

	self->a.rekey_records = 10;
	if (!kernel_has_rekey()) {
		/* A records policy is a rekey policy: refused on 6.12. */
		EXPECT_EQ(-EOPNOTSUPP, qk_sock_attach(&self->q, &self->a, &si,
						      &self->r));
		EXPECT_NE(NULL, strstr(self->r.extack, "kernel has no kTLS rekey"));
		qk_reply_free(&self->r);
		return;
	}
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, &si, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(10ULL, (unsigned long long)si.rekey_records);
	for (int i = 0; i < 10; i++) {
		ASSERT_EQ((ssize_t)sizeof(buf), write_full(self->c, buf, sizeof(buf)));
		ASSERT_EQ((ssize_t)sizeof(buf), read_full(self->s, buf, sizeof(buf)));
		ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c,
					 0, &si, &self->r));
		qk_reply_free(&self->r);
		/* One write, one record. */
		EXPECT_EQ(i + 1, si.stats[QKTLS_SOCK_STATS_A_TX_RECORDS]);
		EXPECT_EQ(i == 9, si.due) TH_LOG("after %d records", i + 1);
	}

	/* ChaCha20-Poly1305 has no record limit of its own. */
	ASSERT_EQ(0, ktls_pair(TLS_CIPHER_CHACHA20_POLY1305, &c2, &s2));
	self->a = (struct qk_attach){
		.fd = c2, .cipher = 0x1303,
		.tx_secret = self->tx, .tx_len = 32,
		.rx_secret = self->rx, .rx_len = 32,
	};
	EXPECT_EQ(0, qk_sock_attach(&self->q, &self->a, &si, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0ULL, (unsigned long long)si.rekey_records);
	close(c2);
	close(s2);
}

TEST_F(att, attach_get_dump_detach)
{
	uint64_t cookie = qk_cookie(self->c);
	struct qk_sock_info si;
	struct qk_sock_dump d;

	ASSERT_NE(0ULL, (unsigned long long)cookie);
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, &si, &self->r));
	EXPECT_FALSE(holds_secret(self, &self->r));
	qk_reply_free(&self->r);
	ASSERT_TRUE(si.seen);
	EXPECT_EQ(cookie, si.id);
	EXPECT_EQ(AES256, si.cipher);
	EXPECT_STREQ("link-a", si.link);
	EXPECT_STREQ("att-tx", si.tx_pool);
	EXPECT_STREQ("att-rx", si.rx_pool);
	EXPECT_TRUE(si.qkd_update);
	EXPECT_FALSE(si.due);
	EXPECT_EQ(kernel_has_rekey() ? 1ULL << 20 : 0,
		  (unsigned long long)si.rekey_bytes);
	EXPECT_EQ(kernel_has_rekey() ? 3600U : 0, si.rekey_seconds);
	EXPECT_EQ(0, si.stats[QKTLS_SOCK_STATS_A_TX_REKEYS]);
	EXPECT_EQ(0, si.stats[QKTLS_SOCK_STATS_A_TX_BYTES]);

	/* By fd, by ID, in the dump: the same socket, never a secret. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c, 0,
				 &si, &self->r));
	EXPECT_FALSE(holds_secret(self, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(cookie, si.id);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, -1, cookie,
				 &si, &self->r));
	qk_reply_free(&self->r);
	EXPECT_STREQ("link-a", si.link);
	ASSERT_EQ(0, qk_sock_dump(&self->q, cookie, &d, &self->r));
	EXPECT_FALSE(holds_secret(self, &self->r));
	qk_reply_free(&self->r);
	EXPECT_TRUE(d.found.seen);
	EXPECT_STREQ("att-rx", d.found.rx_pool);

	/* The other end is not attached. */
	EXPECT_EQ(-ENOENT, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->s,
				       0, NULL, &self->r));
	EXPECT_STREQ("the socket is not attached", self->r.extack);
	qk_reply_free(&self->r);

	/* Detach by fd: gone; attach again; detach by ID. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-ENOENT, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c,
				       0, NULL, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-ENOENT, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH,
				       self->c, 0, NULL, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, -1, cookie,
				 NULL, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(-ENOENT, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, -1,
				       cookie, NULL, &self->r));
	EXPECT_STREQ("no attached socket with this ID", self->r.extack);
	qk_reply_free(&self->r);

	/* Pools are optional. */
	self->a.tx_pool = self->a.rx_pool = self->a.link = NULL;
	self->a.qkd_update = false;
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, &si, &self->r));
	qk_reply_free(&self->r);
	EXPECT_STREQ("", si.tx_pool);
	EXPECT_STREQ("", si.link);
	EXPECT_FALSE(si.qkd_update);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
}

/* Attach @a expecting @err and an extack containing @msg; never a secret. */
#define ATTACH_FAILS(a, err, msg) do {					\
	EXPECT_EQ(err, qk_sock_attach(&self->q, a, NULL, &self->r));	\
	EXPECT_NE(NULL, strstr(self->r.extack, msg))			\
		TH_LOG("extack \"%s\", want \"%s\"", self->r.extack, msg); \
	EXPECT_FALSE(holds_secret(self, &self->r));			\
	qk_reply_free(&self->r);					\
} while (0)

TEST_F(att, refusals)
{
	struct qk_attach a;
	int p[2], u, t, c2, s2;

	a = self->a;
	a.fd = -1;
	ATTACH_FAILS(&a, -EBADF, "not a socket of the caller");
	ASSERT_EQ(0, pipe(p));
	a.fd = p[0];
	ATTACH_FAILS(&a, -ENOTSOCK, "not a socket of the caller");
	close(p[0]);
	close(p[1]);

	u = socket(AF_INET, SOCK_DGRAM, 0);
	a.fd = u;
	ATTACH_FAILS(&a, -EINVAL, "not a TCP socket");
	close(u);
	t = socket(AF_INET, SOCK_STREAM, 0);
	a.fd = t;
	ATTACH_FAILS(&a, -EINVAL, "no kTLS (tls ULP)");
	close(t);

	/* Wrong suite for the installed cipher; unknown suites. */
	a = self->a;
	a.cipher = 0x1301;
	a.tx_len = a.rx_len = 32;
	ATTACH_FAILS(&a, -EINVAL, "no TLS 1.3 TLS_AES_128_GCM_SHA256 kTLS key for TX");
	a.cipher = 0x1304;	/* TLS_AES_128_CCM_SHA256: not in kTLS 1.3 */
	ATTACH_FAILS(&a, -EINVAL, "not a TLS 1.3 cipher suite kTLS has");

	/* Secrets of the wrong length, missing attributes. */
	a = self->a;
	a.tx_len = 32;
	ATTACH_FAILS(&a, -EINVAL, "a traffic secret of TLS_AES_256_GCM_SHA384 is 48 bytes");
	a = self->a;
	a.rx_secret = NULL;
	EXPECT_EQ(-EINVAL, qk_sock_attach(&self->q, &a, NULL, &self->r));
	EXPECT_EQ(QKTLS_A_SOCK_RX_SECRET, self->r.miss_type);
	qk_reply_free(&self->r);
	a = self->a;
	a.cipher = 0;
	EXPECT_EQ(-EINVAL, qk_sock_attach(&self->q, &a, NULL, &self->r));
	EXPECT_EQ(QKTLS_A_SOCK_CIPHER, self->r.miss_type);
	qk_reply_free(&self->r);

	/* Unknown pools. */
	a = self->a;
	a.tx_pool = "att-none";
	ATTACH_FAILS(&a, -ENOENT, "no such pool");
	a = self->a;
	a.rx_pool = "att-none";
	ATTACH_FAILS(&a, -ENOENT, "no such pool");

	/* kTLS in one direction only. */
	ASSERT_EQ(0, tcp_pair(&c2, &s2));
	struct ktls_dir k = { .seq = 0 };

	ASSERT_EQ(0, ktls_set(c2, TLS_TX, TLS_CIPHER_AES_GCM_256, &k));
	a = self->a;
	a.fd = c2;
	ATTACH_FAILS(&a, -EINVAL, "kTLS key for RX");
	close(c2);
	close(s2);

	/* An attribute the command does not take. */
	struct nl_msg *m = qk_msg(&self->q, QKTLS_CMD_SOCK_ATTACH, false);

	nla_put_s32(m, QKTLS_A_SOCK_FD, self->c);
	nla_put_u8(m, QKTLS_A_SOCK_DIRECTION, 1);
	EXPECT_EQ(-EINVAL, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	qk_reply_free(&self->r);

	/* Attached already. */
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	qk_reply_free(&self->r);
	ATTACH_FAILS(&self->a, -EEXIST, "attached already");

	/* GET/DETACH: fd and ID together, neither. */
	m = qk_msg(&self->q, QKTLS_CMD_SOCK_GET, false);
	nla_put_s32(m, QKTLS_A_SOCK_FD, self->c);
	nla_put_u64(m, QKTLS_A_SOCK_ID, qk_cookie(self->c));
	EXPECT_EQ(-EINVAL, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	EXPECT_STREQ("name the socket by fd or by ID, not both", self->r.extack);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_SOCK_DETACH, false);
	EXPECT_EQ(-EINVAL, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	EXPECT_EQ(QKTLS_A_SOCK_FD, self->r.miss_type);
	qk_reply_free(&self->r);

	/* REKEY_REQUIRED: refused exactly where kTLS cannot rekey. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
	a = self->a;
	a.rekey_required = true;
	if (!kernel_has_rekey()) {
		ATTACH_FAILS(&a, -EOPNOTSUPP, "kernel has no kTLS rekey");
		/* So is any rekey policy, with the same message. */
		a.rekey_required = false;
		a.rekey_bytes = 1 << 20;
		ATTACH_FAILS(&a, -EOPNOTSUPP, "kernel has no kTLS rekey");
		a.rekey_bytes = 0;
		a.rekey_records = 100;
		ATTACH_FAILS(&a, -EOPNOTSUPP, "no rekey policy");
		/* Without them, the same socket attaches. */
		ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	} else {
		ASSERT_EQ(0, qk_sock_attach(&self->q, &a, NULL, &self->r));
	}
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
}

/* In a child without CAP_NET_ADMIN: fd holders may, ID and dump may not. */
static int unprivileged_checks(int fd, uint64_t cookie)
{
	struct qk_sock_dump d;
	struct qk_sock_info si;
	struct qk_reply r;
	struct qk q;
	int bad = 0;

	if (qk_open(&q))
		return 100;
	bad += qk_sock_cmd(&q, QKTLS_CMD_SOCK_GET, fd, 0, &si, &r) != 0 ||
	       si.id != cookie;
	qk_reply_free(&r);
	bad += qk_sock_cmd(&q, QKTLS_CMD_SOCK_GET, -1, cookie, NULL, &r) !=
	       -EPERM;
	qk_reply_free(&r);
	bad += qk_sock_cmd(&q, QKTLS_CMD_SOCK_DETACH, -1, cookie, NULL, &r) !=
	       -EPERM;
	qk_reply_free(&r);
	bad += qk_sock_dump(&q, 0, &d, &r) != -EPERM;
	qk_reply_free(&r);
	bad += qk_sock_attach(&q, &(struct qk_attach){ .fd = fd }, NULL, &r) !=
	       -EPERM;
	qk_reply_free(&r);
	/* The holder may detach its own socket. */
	bad += qk_sock_cmd(&q, QKTLS_CMD_SOCK_DETACH, fd, 0, NULL, &r) != 0;
	qk_reply_free(&r);
	qk_close(&q);
	return bad;
}

TEST_F(att, fd_holders_and_admins)
{
	uint64_t cookie = qk_cookie(self->c);
	pid_t pid;

	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	qk_reply_free(&self->r);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(qk_drop_net_admin() ? 99 :
		      unprivileged_checks(self->c, cookie));
	EXPECT_EQ(0, qk_wait_child(pid));
	EXPECT_EQ(-ENOENT, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c,
				       0, NULL, &self->r));
	qk_reply_free(&self->r);
}

/* In a new netns: the parent's socket is invisible and cannot attach. */
static int other_netns_checks(int fd, uint64_t cookie)
{
	struct qk_sock_dump d;
	struct qk_reply r;
	struct qk q;
	int bad = 0;

	if (unshare(CLONE_NEWNET) || qk_open(&q))
		return 100;
	bad += qk_sock_dump(&q, cookie, &d, &r) != 0 || d.n != 0;
	qk_reply_free(&r);
	bad += qk_sock_cmd(&q, QKTLS_CMD_SOCK_GET, -1, cookie, NULL, &r) !=
	       -ENOENT;
	qk_reply_free(&r);
	bad += qk_sock_cmd(&q, QKTLS_CMD_SOCK_DETACH, -1, cookie, NULL, &r) !=
	       -ENOENT;
	qk_reply_free(&r);
	qk_sock_cmd(&q, QKTLS_CMD_SOCK_DETACH, fd, 0, NULL, &r);
	bad += r.err != 0;	/* the fd holder still may */
	qk_reply_free(&r);
	qk_close(&q);
	return bad;
}

TEST_F(att, netns_isolation)
{
	uint64_t cookie = qk_cookie(self->c);
	pid_t pid;

	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	qk_reply_free(&self->r);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(other_netns_checks(self->c, cookie));
	EXPECT_EQ(0, qk_wait_child(pid));
	EXPECT_EQ(-ENOENT, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c,
				       0, NULL, &self->r));
	qk_reply_free(&self->r);

	/* Attaching from another netns is refused. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct qk_reply r;
		struct qk q;
		int err;

		if (unshare(CLONE_NEWNET) || qk_open(&q))
			_exit(100);
		err = qk_sock_attach(&q, &self->a, NULL, &r);
		_exit(err == -EINVAL &&
		      strstr(r.extack, "another network namespace") ? 0 : 1);
	}
	EXPECT_EQ(0, qk_wait_child(pid));
}

TEST_F(att, close_removes_from_dump)
{
	uint64_t cookie = qk_cookie(self->c);
	struct qk_sock_dump d;

	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_sock_dump(&self->q, cookie, &d, &self->r));
	qk_reply_free(&self->r);
	EXPECT_TRUE(d.found.seen);
	close(self->c);
	self->c = -1;
	ASSERT_EQ(0, qk_sock_dump(&self->q, cookie, &d, &self->r));
	qk_reply_free(&self->r);
	EXPECT_FALSE(d.found.seen);
	EXPECT_EQ(-ENOENT, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, -1,
				       cookie, NULL, &self->r));
	qk_reply_free(&self->r);
}

/*
 * A child in its own netns attaches @n sockets, then closes them (@close)
 * or keeps them; then waits for @release, or exits at once (netns gone).
 */
static pid_t netns_child(int n, bool close_them, int ready_w, int release_r)
{
	pid_t pid = fork();
	struct qk_reply r;
	struct qk q;
	uint8_t sec[48] = { 7 };
	char ch = 0;
	int i, c, s;

	if (pid) {
		/* A child that fails gives the parent's read() EOF, not a hang. */
		close(ready_w);
		return pid;
	}
	if (qk_private_netns() || qk_open(&q))
		_exit(100);
	for (i = 0; i < n; i++) {
		struct qk_attach a = {
			.cipher = AES256, .tx_secret = sec, .tx_len = 48,
			.rx_secret = sec, .rx_len = 48,
		};

		if (ktls_pair(TLS_CIPHER_AES_GCM_256, &c, &s))
			_exit(101);
		a.fd = c;
		if (qk_sock_attach(&q, &a, NULL, &r))
			_exit(102);
		qk_reply_free(&r);
		if (close_them) {
			close(c);
			close(s);
		}
	}
	qk_close(&q);
	if (write(ready_w, &ch, 1) != 1)
		_exit(103);
	if (release_r >= 0 && read(release_r, &ch, 1) < 0)
		_exit(104);
	_exit(0);
}

/*
 * With max_socks = @max, attach our socket until it works (true) or 20 s
 * pass: only a freed attachment elsewhere makes room.
 */
static bool attach_when_room(FIXTURE_DATA(att) *self, double *waited)
{
	double t0 = now_s();
	int err;

	do {
		err = qk_sock_attach(&self->q, &self->a, NULL, &self->r);
		qk_reply_free(&self->r);
		if (!err)
			break;
		if (err != -ENOSPC)
			return false;
		usleep(20000);	/* polling a condition, not standing in for it */
	} while (now_s() - t0 < 20);
	*waited = now_s() - t0;
	return !err;
}

TEST_F(att, closed_sockets_free_their_slot)
{
	long old = qk_param("max_socks");
	int ready[2], release[2];
	double waited;
	char ch;
	pid_t pid;

	ASSERT_LT(0, old);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(release));
	ASSERT_EQ(0, qk_set_param("max_socks", 1));
	pid = netns_child(1, true, ready[1], release[0]);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready[0], &ch, 1));
	/* The child's netns lives on; nothing asks about it. */
	EXPECT_TRUE(attach_when_room(self, &waited));
	TH_LOG("room after %.2f s", waited);
	EXPECT_EQ(0, qk_set_param("max_socks", old));
	ASSERT_EQ(1, write(release[1], &ch, 1));
	EXPECT_EQ(0, qk_wait_child(pid));
	qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0, NULL,
		    &self->r);
	qk_reply_free(&self->r);
}

TEST_F(att, netns_deletion_releases_attachments)
{
	long old = qk_param("max_socks");
	int ready[2];
	double waited;
	char ch;
	pid_t pid;

	ASSERT_LT(0, old);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, qk_set_param("max_socks", 3));
	/* Three open attached sockets; the child exits, its netns goes. */
	pid = netns_child(3, false, ready[1], -1);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready[0], &ch, 1));
	EXPECT_EQ(0, qk_wait_child(pid));
	EXPECT_TRUE(attach_when_room(self, &waited));
	TH_LOG("room after %.2f s", waited);
	EXPECT_EQ(0, qk_set_param("max_socks", old));
	qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0, NULL,
		    &self->r);
	qk_reply_free(&self->r);
}

TEST_F(att, max_socks)
{
	long old = qk_param("max_socks");
	int c2, s2;

	ASSERT_EQ(0, qk_set_param("max_socks", 1));
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, ktls_pair(TLS_CIPHER_AES_GCM_256, &c2, &s2));
	self->a.fd = c2;
	ATTACH_FAILS(&self->a, -ENOSPC, "max_socks (1) sockets are attached");
	EXPECT_EQ(0, qk_set_param("max_socks", old));
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	qk_reply_free(&self->r);
	close(c2);
	close(s2);
	qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0, NULL,
		    &self->r);
	qk_reply_free(&self->r);
}

/*
 * Last: an attached socket runs the module's operations, so it holds the
 * module, as a kTLS socket holds tls: rmmod is refused while sockets here
 * and in another netns are attached, and works once they are detached or
 * closed; the socket lives on with plain kTLS.
 */
TEST_F(att, unload_after_attached_sockets_go)
{
	const char *ko = getenv("QKTLS_KO");
	int ready[2], release[2];
	char cmd[512], buf[6], ch;
	pid_t pid;

	ASSERT_NE(NULL, ko);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(release));
	ASSERT_EQ(0, qk_sock_attach(&self->q, &self->a, NULL, &self->r));
	qk_reply_free(&self->r);
	pid = netns_child(2, false, ready[1], release[0]);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready[0], &ch, 1));
	EXPECT_LE(3, qk_slab_active("qktls_sock"));
	EXPECT_NE(0, qk_run("rmmod qktls 2>/dev/null")) TH_LOG("rmmod refused");
	EXPECT_EQ(0, qk_run("[ -e /sys/module/qktls ]"));

	/* Detached here, closed there (the child exits): rmmod works. */
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_DETACH, self->c, 0,
				 NULL, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(1, write(release[1], &ch, 1));
	EXPECT_EQ(0, qk_wait_child(pid));
	qk_close(&self->q);
	ASSERT_EQ(0, qk_run("rmmod qktls"));
	EXPECT_EQ(-1, qk_slab_active("qktls_sock")) TH_LOG("cache destroyed");
	EXPECT_NE(0, qk_run("dmesg | grep -q 'still has objects'"));
	/* The socket lives on, plain kTLS (same keys both ends). */
	EXPECT_EQ(5, write(self->c, "hello", 5));
	EXPECT_EQ(5, read_full(self->s, buf, 5));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));

	snprintf(cmd, sizeof(cmd), "insmod '%s'", ko);
	ASSERT_EQ(0, qk_run(cmd));
	ASSERT_EQ(0, qk_open(&self->q));
	EXPECT_EQ(-ENOENT, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c,
				       0, NULL, &self->r));
	qk_reply_free(&self->r);
	/* The fixture's pools went with the module; teardown finds none. */
}

TEST_HARNESS_MAIN
