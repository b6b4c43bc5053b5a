// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pool's rekey policy (QKTLS_A_POOL_REKEY_BYTES, _SECONDS): set at
 * pool-new and pool-set, reported by pool-get, refused on a kernel without
 * kTLS rekey, and applied at attach to the sockets using the pool for TX,
 * limit by limit with the tighter of the socket's and the pool's winning.
 * A socket attached under the pool's byte limit becomes due after that
 * many bytes, whatever it asked for itself.
 */
#include "kselftest_harness.h"
#include "../lib/ktls.h"
#include "../lib/qktls_nl.h"

#define TAG 0x9011c7u
#define AES256 0x1302
#define KIB 1024ULL
#define MIB (1024 * KIB)

/* Write @n bytes on @w (kTLS), read them on @r. */
static int pass_bytes(int w, int r, size_t n)
{
	static uint8_t buf[64 * 1024];

	for (size_t k; n; n -= k) {
		k = n < sizeof(buf) ? n : sizeof(buf);
		if (write_full(w, buf, k) != (ssize_t)k ||
		    read_full(r, buf, k) != (ssize_t)k)
			return -1;
	}
	return 0;
}

static bool have_rekey(void)
{
	return qk_tls_stat("TlsTxRekeyOk") >= 0;
}

/* POOL_NEW or POOL_SET of @name with a rekey policy (~0 = leave out). */
static int pool_policy(struct qk *q, uint8_t cmd, const char *name,
		       uint64_t bytes, uint64_t secs, struct qk_pool_info *p,
		       struct qk_reply *r)
{
	struct nl_msg *msg = qk_msg(q, cmd, false);

	nla_put_string(msg, QKTLS_A_POOL_NAME, name);
	if (bytes != ~0ULL)
		nla_put_u64(msg, QKTLS_A_POOL_REKEY_BYTES, bytes);
	if (secs != ~0ULL)
		nla_put_u32(msg, QKTLS_A_POOL_REKEY_SECONDS, (uint32_t)secs);
	memset(p, 0, sizeof(*p));
	return qk_xfer(q, msg, r, qk_pool_info_cb, p);
}

FIXTURE(pol) {
	struct qk q;
	struct qk_reply r;
	struct qk_pool_info p;
	int c[3], s[3];
	uint8_t tx[48], rx[48];
};

FIXTURE_SETUP(pol)
{
	ASSERT_EQ(0, qk_private_netns());
	ASSERT_EQ(0, qk_open(&self->q));
	for (int i = 0; i < 3; i++)
		self->c[i] = self->s[i] = -1;
	qk_material(self->tx, sizeof(self->tx), TAG, 1);
	qk_material(self->rx, sizeof(self->rx), TAG, 2);
}

FIXTURE_TEARDOWN(pol)
{
	for (int i = 0; i < 3; i++) {
		if (self->c[i] >= 0)
			close(self->c[i]);
		if (self->s[i] >= 0)
			close(self->s[i]);
	}
	qk_pool_drop(&self->q, "pol-tx");
	qk_pool_drop(&self->q, "pol-rx");
	qk_close(&self->q);
}

/* Attach end @fd with its own policy; returns the policy it got. */
static int attach(struct __test_metadata *_metadata, FIXTURE_DATA(pol) *self,
		  int fd, const char *tx_pool, uint64_t bytes, uint32_t secs,
		  struct qk_sock_info *info)
{
	struct qk_attach a = {
		.fd = fd, .cipher = AES256,
		.tx_secret = self->tx, .tx_len = 48,
		.rx_secret = self->rx, .rx_len = 48,
		.tx_pool = tx_pool, .rx_pool = "pol-rx",
		.qkd_update = true, .rekey_bytes = bytes, .rekey_seconds = secs,
	};
	int err = qk_sock_attach(&self->q, &a, info, &self->r);

	if (err)
		TH_LOG("attach: %d %s", err, self->r.extack);
	qk_reply_free(&self->r);
	return err;
}

TEST_F(pol, set_get_and_old_kernels)
{
	struct nl_msg *msg;

	if (!have_rekey()) {
		/* An operator's policy must not be taken and then ignored. */
		EXPECT_EQ(-EOPNOTSUPP,
			  pool_policy(&self->q, QKTLS_CMD_POOL_NEW, "pol-tx",
				      MIB, ~0ULL, &self->p, &self->r));
		EXPECT_NE(NULL, strstr(self->r.extack, "kernel has no kTLS rekey"))
			TH_LOG("extack \"%s\"", self->r.extack);
		qk_reply_free(&self->r);
		ASSERT_EQ(0, pool_policy(&self->q, QKTLS_CMD_POOL_NEW, "pol-tx",
					 0, 0, &self->p, &self->r));
		qk_reply_free(&self->r);
		EXPECT_EQ(-EOPNOTSUPP,
			  pool_policy(&self->q, QKTLS_CMD_POOL_SET, "pol-tx",
				      ~0ULL, 30, &self->p, &self->r));
		qk_reply_free(&self->r);
		ASSERT_EQ(0, qk_pool_get(&self->q, "pol-tx", &self->p, &self->r));
		qk_reply_free(&self->r);
		EXPECT_EQ(0, self->p.rekey_bytes);
		EXPECT_EQ(0, self->p.rekey_seconds);
		return;
	}
	ASSERT_EQ(0, pool_policy(&self->q, QKTLS_CMD_POOL_NEW, "pol-tx",
				 MIB, 30, &self->p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ((long long)MIB, self->p.rekey_bytes);
	EXPECT_EQ(30, self->p.rekey_seconds);
	/* pool-set changes what it names and leaves the rest. */
	ASSERT_EQ(0, pool_policy(&self->q, QKTLS_CMD_POOL_SET, "pol-tx",
				 0, ~0ULL, &self->p, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_get(&self->q, "pol-tx", &self->p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0, self->p.rekey_bytes);
	EXPECT_EQ(30, self->p.rekey_seconds);
	EXPECT_EQ(1024, self->p.capacity);
	/* A u64 where a u32 belongs is refused by the policy. */
	msg = qk_msg(&self->q, QKTLS_CMD_POOL_SET, false);
	nla_put_string(msg, QKTLS_A_POOL_NAME, "pol-tx");
	nla_put_u64(msg, QKTLS_A_POOL_REKEY_SECONDS, 5);
	EXPECT_EQ(-EINVAL, qk_xfer(&self->q, msg, &self->r, NULL, NULL));
	qk_reply_free(&self->r);
}

TEST_F(pol, tighter_limit_wins_at_attach)
{
	struct qk_sock_info info;

	if (!have_rekey())
		SKIP(return, "kernel has no kTLS rekey (pool policies refused)");
	ASSERT_EQ(0, pool_policy(&self->q, QKTLS_CMD_POOL_NEW, "pol-tx",
				 MIB, 0, &self->p, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_new(&self->q, "pol-rx", 0, 32, &self->r));
	qk_reply_free(&self->r);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, ktls_pair(TLS_CIPHER_AES_GCM_256, &self->c[i],
				       &self->s[i]));

	/* The socket asks for less often than the pool allows: the pool's. */
	ASSERT_EQ(0, attach(_metadata, self, self->c[0], "pol-tx", 4 * MIB,
			    3600, &info));
	EXPECT_EQ(MIB, info.rekey_bytes);
	EXPECT_EQ(3600U, info.rekey_seconds);
	/* More often: the socket's. */
	ASSERT_EQ(0, attach(_metadata, self, self->s[0], "pol-tx", 256 * KIB,
			    0, &info));
	EXPECT_EQ(256 * KIB, info.rekey_bytes);
	EXPECT_EQ(0U, info.rekey_seconds);
	/* No policy of its own: the pool's. */
	ASSERT_EQ(0, attach(_metadata, self, self->c[1], "pol-tx", 0, 0, &info));
	EXPECT_EQ(MIB, info.rekey_bytes);
	EXPECT_EQ(0U, info.rekey_seconds);
	/* Another TX pool (or none): the pool's policy does not apply. */
	ASSERT_EQ(0, attach(_metadata, self, self->s[1], NULL, 4 * MIB, 0,
			    &info));
	EXPECT_EQ(4 * MIB, info.rekey_bytes);

	/* A new pool policy applies to sockets attached from then on. */
	ASSERT_EQ(0, pool_policy(&self->q, QKTLS_CMD_POOL_SET, "pol-tx",
				 ~0ULL, 10, &self->p, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, attach(_metadata, self, self->c[2], "pol-tx", 0, 3600,
			    &info));
	EXPECT_EQ(MIB, info.rekey_bytes);
	EXPECT_EQ(10U, info.rekey_seconds);
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c[0], 0,
				 &info, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(MIB, info.rekey_bytes);
	EXPECT_EQ(3600U, info.rekey_seconds);
}

TEST_F(pol, pool_limit_makes_the_socket_due)
{
	struct qk_sock_info info;

	if (!have_rekey())
		SKIP(return, "kernel has no kTLS rekey (pool policies refused)");
	ASSERT_EQ(0, pool_policy(&self->q, QKTLS_CMD_POOL_NEW, "pol-tx",
				 256 * KIB, 0, &self->p, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_new(&self->q, "pol-rx", 0, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, ktls_pair(TLS_CIPHER_AES_GCM_256, &self->c[0],
			       &self->s[0]));
	/* The application asked for a rekey every 64 MiB. */
	ASSERT_EQ(0, attach(_metadata, self, self->c[0], "pol-tx", 64 * MIB, 0,
			    &info));
	EXPECT_EQ(256 * KIB, info.rekey_bytes);
	EXPECT_FALSE(info.due);
	/* Well under the pool's limit (TLS framing counts too): not due. */
	ASSERT_EQ(0, pass_bytes(self->c[0], self->s[0], 128 * KIB));
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c[0], 0,
				 &info, &self->r));
	qk_reply_free(&self->r);
	EXPECT_FALSE(info.due);
	/* Past it: due. */
	ASSERT_EQ(0, pass_bytes(self->c[0], self->s[0], 128 * KIB));
	ASSERT_EQ(0, qk_sock_cmd(&self->q, QKTLS_CMD_SOCK_GET, self->c[0], 0,
				 &info, &self->r));
	qk_reply_free(&self->r);
	EXPECT_TRUE(info.due) TH_LOG("256 KiB sent under a 256 KiB pool policy");
}

TEST_HARNESS_MAIN
