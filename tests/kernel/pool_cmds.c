// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every command of the qktls family, success and failure paths: exact
 * errno, extack text, nothing half-applied, limits, expiry and events.
 */
#include "kselftest_harness.h"
#include "../lib/qktls_nl.h"

#define TAG 0x51cd0001u

FIXTURE(cmds) {
	struct qk q;
	struct qk_reply r;
};

FIXTURE_SETUP(cmds)
{
	ASSERT_EQ(0, qk_open(&self->q));
	qk_pool_drop(&self->q, "t");
}

FIXTURE_TEARDOWN(cmds)
{
	qk_pool_drop(&self->q, "t");
	qk_close(&self->q);
}

#define EXPECT_ERR(r, e) do {						\
	EXPECT_EQ((e), (r)->err);					\
	EXPECT_NE(0, (r)->extack[0]) TH_LOG("no extack text");		\
	TH_LOG("errno %d extack \"%s\"", (r)->err, (r)->extack);	\
} while (0)

TEST_F(cmds, pool_new_defaults_get_del)
{
	struct qk_pool_info p;

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 0, 0, &self->r));
	EXPECT_EQ(1, self->r.n_msgs) TH_LOG("POOL_NEW replies with the pool");
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	ASSERT_TRUE(p.seen);
	EXPECT_STREQ("t", p.name);
	EXPECT_NE(0, p.id);
	EXPECT_EQ(32, p.min_len);
	EXPECT_EQ(32, p.max_len);
	EXPECT_EQ(1024, p.capacity);
	EXPECT_EQ(256, p.low);
	EXPECT_EQ(0, p.lifetime);
	EXPECT_EQ(0, p.count);
	EXPECT_EQ(0, p.mem_bytes);

	EXPECT_EQ(0, qk_pool_simple(&self->q, QKTLS_CMD_POOL_DEL, "t", &self->r));
	qk_reply_free(&self->r);
	qk_pool_get(&self->q, "t", &p, &self->r);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);
	qk_pool_simple(&self->q, QKTLS_CMD_POOL_DEL, "t", &self->r);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);
}

TEST_F(cmds, pool_new_errors)
{
	struct nl_msg *m;

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 0, 0, &self->r));
	qk_reply_free(&self->r);
	qk_pool_new(&self->q, "t", 0, 0, &self->r);
	EXPECT_ERR(&self->r, -EEXIST);
	qk_reply_free(&self->r);

	/* No name. */
	m = qk_msg(&self->q, QKTLS_CMD_POOL_NEW, false);
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 8);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err);
	EXPECT_EQ(QKTLS_A_POOL_NAME, self->r.miss_type);
	qk_reply_free(&self->r);

	qk_pool_new(&self->q, "", 0, 0, &self->r);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);
	qk_pool_new(&self->q, "a b", 0, 0, &self->r);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);
	qk_pool_new(&self->q, "0123456789abcdef0123456789abcdef", 0, 0,
		    &self->r);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);

	/* Key lengths outside 16..64, range upside down. */
	qk_pool_new(&self->q, "u", 0, 8, &self->r);
	EXPECT_ERR(&self->r, -ERANGE);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_POOL_NEW, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "u");
	nla_put_u32(m, QKTLS_A_POOL_KEY_MIN_LEN, 48);
	nla_put_u32(m, QKTLS_A_POOL_KEY_MAX_LEN, 32);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);

	/* Capacity 0, watermark not below capacity. */
	m = qk_msg(&self->q, QKTLS_CMD_POOL_NEW, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "u");
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 0);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -ERANGE);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_POOL_NEW, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "u");
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 4);
	nla_put_u32(m, QKTLS_A_POOL_LOW_WATERMARK, 4);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);

	/* Strict policy: an attribute the command does not take. */
	m = qk_msg(&self->q, QKTLS_CMD_POOL_NEW, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "u");
	nla_put_u32(m, QKTLS_A_POOL_ID, 7);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_POOL_NEW, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "u");
	nla_put_u32(m, QKTLS_A_NS_POOLS, 7);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err);
	qk_reply_free(&self->r);

	/* Nothing of the above created "u". */
	qk_pool_simple(&self->q, QKTLS_CMD_POOL_DEL, "u", &self->r);
	EXPECT_EQ(-ENOENT, self->r.err);
	qk_reply_free(&self->r);
}

TEST_F(cmds, max_pools)
{
	long saved = qk_param("max_pools");
	struct nl_msg *m = qk_msg(&self->q, QKTLS_CMD_STATS_GET, false);
	struct nlattr *tb[QKTLS_A_MAX + 1];
	struct genlmsghdr *g;
	uint32_t pools;

	ASSERT_LE(0, saved);
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	g = nlmsg_data((struct nlmsghdr *)self->r.raw);
	ASSERT_EQ(0, genlmsg_parse((struct nlmsghdr *)self->r.raw, 0, tb,
				   QKTLS_A_MAX, NULL));
	(void)g;
	ASSERT_NE(NULL, tb[QKTLS_A_NS_POOLS]);
	pools = nla_get_u32(tb[QKTLS_A_NS_POOLS]);
	qk_reply_free(&self->r);

	ASSERT_EQ(0, qk_set_param("max_pools", pools + 1));
	EXPECT_EQ(0, qk_pool_new(&self->q, "t", 0, 0, &self->r));
	qk_reply_free(&self->r);
	qk_pool_new(&self->q, "u", 0, 0, &self->r);
	EXPECT_ERR(&self->r, -ENOSPC);
	qk_reply_free(&self->r);
	EXPECT_EQ(0, qk_set_param("max_pools", saved));
	EXPECT_EQ(0, qk_pool_new(&self->q, "u", 0, 0, &self->r));
	qk_reply_free(&self->r);
	qk_pool_drop(&self->q, "u");
}

TEST_F(cmds, pool_set)
{
	struct qk_pool_info p;
	struct nl_msg *m;

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 8, 0, &self->r));
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_POOL_SET, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	nla_put_string(m, QKTLS_A_POOL_PEER, "peer-b.example");
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 16);
	nla_put_u32(m, QKTLS_A_POOL_LOW_WATERMARK, 5);
	nla_put_u32(m, QKTLS_A_POOL_KEY_LIFETIME, 600);
	EXPECT_EQ(0, qk_xfer(&self->q, m, &self->r, qk_pool_info_cb, &p));
	qk_reply_free(&self->r);
	ASSERT_TRUE(p.seen);
	EXPECT_STREQ("peer-b.example", p.peer);
	EXPECT_EQ(16, p.capacity);
	EXPECT_EQ(5, p.low);
	EXPECT_EQ(600, p.lifetime);

	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 6, 32, &self->r));
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_POOL_SET, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 5);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EBUSY);
	qk_reply_free(&self->r);

	m = qk_msg(&self->q, QKTLS_CMD_POOL_SET, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 6);
	nla_put_u32(m, QKTLS_A_POOL_LOW_WATERMARK, 6);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);

	m = qk_msg(&self->q, QKTLS_CMD_POOL_SET, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	nla_put_u32(m, QKTLS_A_POOL_KEY_MIN_LEN, 16);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);

	m = qk_msg(&self->q, QKTLS_CMD_POOL_SET, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "nope");
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 6);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);

	/* All or nothing: the refused changes left the pool as it was. */
	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(16, p.capacity);
	EXPECT_EQ(5, p.low);
	EXPECT_EQ(6, p.count);
}

TEST_F(cmds, key_add_and_errors)
{
	uint8_t id[QKTLS_KEY_ID_LEN], mat[QKTLS_KEY_MAX_LEN];
	struct qk_pool_info p;
	struct nl_msg *m;

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 10, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 4, 32, &self->r));
	EXPECT_EQ(0, self->r.n_msgs) TH_LOG("KEY_ADD replies with the ack only");
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(4, p.count);
	EXPECT_EQ(128, p.key_bytes);
	EXPECT_LT(4 * 32, p.mem_bytes);
	EXPECT_EQ(4, p.stats[QKTLS_STATS_A_KEYS_ADDED]);
	EXPECT_EQ(128, p.stats[QKTLS_STATS_A_BYTES_ADDED]);

	qk_add_keys(&self->q, "t", TAG, 10, 1, 16, &self->r);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);
	qk_add_keys(&self->q, "t", TAG, 3, 1, 32, &self->r);
	EXPECT_ERR(&self->r, -EEXIST);
	qk_reply_free(&self->r);
	qk_add_keys(&self->q, "t", TAG, 4, 7, 32, &self->r);
	EXPECT_ERR(&self->r, -ENOSPC);
	qk_reply_free(&self->r);
	qk_add_keys(&self->q, "nope", TAG, 4, 1, 32, &self->r);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);
	/* Larger than the pool could ever hold: refused before allocating. */
	qk_add_keys(&self->q, "t", TAG, 4, 11, 32, &self->r);
	EXPECT_ERR(&self->r, -ENOSPC);
	qk_reply_free(&self->r);

	/* Duplicate inside the batch. */
	m = qk_msg(&self->q, QKTLS_CMD_KEY_ADD, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_id(id, TAG, 20);
	qk_material(mat, 32, TAG, 20);
	qk_put_key(m, id, mat, 32, NULL);
	qk_put_key(m, id, mat, 32, NULL);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EEXIST);
	qk_reply_free(&self->r);

	/* No key; key without ID; key without material; material too long. */
	m = qk_msg(&self->q, QKTLS_CMD_KEY_ADD, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err);
	EXPECT_EQ(QKTLS_A_KEY, self->r.miss_type);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_KEY_ADD, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_put_key(m, NULL, mat, 32, NULL);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err);
	EXPECT_EQ(QKTLS_KEY_A_ID, self->r.miss_type);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_KEY_ADD, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_put_key(m, id, NULL, 0, NULL);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err);
	EXPECT_EQ(QKTLS_KEY_A_MATERIAL, self->r.miss_type);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_KEY_ADD, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	{
		uint8_t big[65] = { 1 };

		qk_put_key(m, id, big, sizeof(big), NULL);
	}
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -ERANGE);
	qk_reply_free(&self->r);
	/* ID of the wrong size. */
	m = qk_msg(&self->q, QKTLS_CMD_KEY_ADD, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	{
		struct nlattr *n = nla_nest_start(m, QKTLS_A_KEY);

		nla_put(m, QKTLS_KEY_A_ID, 8, id);
		nla_put(m, QKTLS_KEY_A_MATERIAL, 32, mat);
		nla_nest_end(m, n);
	}
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -ERANGE);
	qk_reply_free(&self->r);

	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(4, p.count) TH_LOG("refused batches added nothing");
	/* Batches the pool saw and refused: length, two duplicates, full twice. */
	EXPECT_EQ(5, p.stats[QKTLS_STATS_A_ADD_REJECTED]);
}

TEST_F(cmds, batch_atomicity)
{
	uint8_t id[QKTLS_KEY_ID_LEN], mat[QKTLS_KEY_MAX_LEN];
	struct qk_taken t;
	struct nl_msg *m;
	int bad, i;

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 100, 0, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 1000, 1, 32, &self->r));
	qk_reply_free(&self->r);

	/* Bad key in the middle: wrong length, then a duplicate ID. */
	for (bad = 0; bad < 2; bad++) {
		m = qk_msg(&self->q, QKTLS_CMD_KEY_ADD, false);
		nla_put_string(m, QKTLS_A_POOL_NAME, "t");
		for (i = 0; i < 9; i++) {
			qk_id(id, TAG, i == 4 && bad ? 1000 : i);
			qk_material(mat, 32, TAG, i);
			qk_put_key(m, id, mat, i == 4 && !bad ? 40 : 32, NULL);
		}
		qk_xfer(&self->q, m, &self->r, NULL, NULL);
		EXPECT_ERR(&self->r, bad ? -EEXIST : -EINVAL);
		qk_reply_free(&self->r);
		for (i = 0; i < 9; i++) {
			qk_id(id, TAG, i);
			qk_take(&self->q, "t", id, &t, &self->r);
			EXPECT_EQ(-ENOENT, self->r.err) TH_LOG("key %d got in", i);
			qk_reply_free(&self->r);
		}
	}
	/* The pool's own key is still there, and the only one. */
	EXPECT_EQ(0, qk_take(&self->q, "t", NULL, &t, &self->r));
	qk_reply_free(&self->r);
	qk_id(id, TAG, 1000);
	EXPECT_EQ(0, memcmp(id, t.id, sizeof(id)));
	qk_take(&self->q, "t", NULL, &t, &self->r);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);
}

TEST_F(cmds, key_del_flush)
{
	uint8_t id[QKTLS_KEY_ID_LEN], mat[32];
	struct qk_pool_info p;
	struct nl_msg *m;

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 0, 0, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 10, 32, &self->r));
	qk_reply_free(&self->r);

	m = qk_msg(&self->q, QKTLS_CMD_KEY_DEL, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_id(id, TAG, 1);
	qk_put_key(m, id, NULL, 0, NULL);
	qk_id(id, TAG, 2);
	qk_put_key(m, id, NULL, 0, NULL);
	EXPECT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	qk_reply_free(&self->r);

	/* Unknown ID in the middle: nothing deleted. */
	m = qk_msg(&self->q, QKTLS_CMD_KEY_DEL, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_id(id, TAG, 3);
	qk_put_key(m, id, NULL, 0, NULL);
	qk_id(id, TAG, 1);
	qk_put_key(m, id, NULL, 0, NULL);
	qk_id(id, TAG, 4);
	qk_put_key(m, id, NULL, 0, NULL);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);
	/* The same ID twice. */
	m = qk_msg(&self->q, QKTLS_CMD_KEY_DEL, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_id(id, TAG, 5);
	qk_put_key(m, id, NULL, 0, NULL);
	qk_put_key(m, id, NULL, 0, NULL);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);
	/* Material has no place in KEY_DEL (strict policy). */
	m = qk_msg(&self->q, QKTLS_CMD_KEY_DEL, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_material(mat, 32, TAG, 5);
	qk_put_key(m, id, mat, 32, NULL);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_KEY_DEL, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);

	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(8, p.count);
	EXPECT_EQ(2, p.stats[QKTLS_STATS_A_KEYS_DROPPED]);

	EXPECT_EQ(0, qk_pool_simple(&self->q, QKTLS_CMD_KEY_FLUSH, "t",
				    &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0, p.count);
	EXPECT_EQ(0, p.mem_bytes);
	EXPECT_EQ(10, p.stats[QKTLS_STATS_A_KEYS_DROPPED]);
	qk_pool_simple(&self->q, QKTLS_CMD_KEY_FLUSH, "nope", &self->r);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);
}

TEST_F(cmds, key_take)
{
	uint8_t id[QKTLS_KEY_ID_LEN];
	struct qk_pool_info p;
	struct qk_taken t;
	struct nl_msg *m;
	int i;

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 8, 0, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 3, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 3, 3, 32, &self->r));
	qk_reply_free(&self->r);

	/* By ID. */
	qk_id(id, TAG, 4);
	ASSERT_EQ(0, qk_take(&self->q, "t", id, &t, &self->r));
	qk_reply_free(&self->r);
	ASSERT_TRUE(t.seen);
	EXPECT_EQ(0, memcmp(id, t.id, sizeof(id)));
	EXPECT_EQ(32, t.len);
	EXPECT_TRUE(t.has_index);
	EXPECT_EQ(4, t.index);
	qk_take(&self->q, "t", id, &t, &self->r);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);

	/* Oldest first, in arrival order. */
	for (i = 0; i < 6; i++) {
		if (i == 4)
			continue;
		ASSERT_EQ(0, qk_take(&self->q, "t", NULL, &t, &self->r));
		qk_reply_free(&self->r);
		qk_id(id, TAG, i);
		EXPECT_EQ(0, memcmp(id, t.id, sizeof(id))) TH_LOG("key %d", i);
	}
	qk_take(&self->q, "t", NULL, &t, &self->r);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);
	qk_take(&self->q, "nope", NULL, &t, &self->r);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);

	m = qk_msg(&self->q, QKTLS_CMD_KEY_TAKE, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	qk_put_key(m, id, NULL, 0, NULL);
	qk_put_key(m, id, NULL, 0, NULL);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -EINVAL);
	qk_reply_free(&self->r);

	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(6, p.stats[QKTLS_STATS_A_KEYS_CONSUMED]);
	EXPECT_EQ(6 * 32, p.stats[QKTLS_STATS_A_BYTES_CONSUMED]);
	EXPECT_EQ(1, p.stats[QKTLS_STATS_A_EMPTY_EVENTS]);
	EXPECT_EQ(1, p.stats[QKTLS_STATS_A_LOW_EVENTS]);
}

struct key_dump {
	int n;
	int bad;
	uint64_t next;
};

static int key_dump_cb(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[QKTLS_A_MAX + 1], *k[QKTLS_KEY_A_MAX + 1], *a;
	uint8_t id[QKTLS_KEY_ID_LEN];
	struct key_dump *d = arg;
	int rem;

	if (genlmsg_parse(nlh, 0, tb, QKTLS_A_MAX, NULL) ||
	    !tb[QKTLS_A_POOL_NAME]) {
		d->bad++;
		return 0;
	}
	nla_for_each_attr(a, genlmsg_attrdata(nlmsg_data(nlh), 0),
			  genlmsg_attrlen(nlmsg_data(nlh), 0), rem) {
		if (nla_type(a) != QKTLS_A_KEY)
			continue;
		if (nla_parse_nested(k, QKTLS_KEY_A_MAX, a, NULL) ||
		    !k[QKTLS_KEY_A_ID] || !k[QKTLS_KEY_A_LEN] ||
		    !k[QKTLS_KEY_A_AGE_MS] || k[QKTLS_KEY_A_MATERIAL]) {
			d->bad++;
			continue;
		}
		qk_id(id, TAG, d->next++);
		if (memcmp(id, nla_data(k[QKTLS_KEY_A_ID]), sizeof(id)))
			d->bad++;
		d->n++;
	}
	return 0;
}

TEST_F(cmds, key_get_dump)
{
	struct key_dump d = { 0 };
	struct nl_msg *m;

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 4096, 0, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 1000, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 1000, 1000, 32, &self->r));
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_KEY_GET, true);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	EXPECT_EQ(0, qk_xfer(&self->q, m, &self->r, key_dump_cb, &d));
	EXPECT_EQ(2000, d.n);
	EXPECT_EQ(0, d.bad);
	EXPECT_LT(1, self->r.n_msgs) TH_LOG("a multi-part dump");
	qk_reply_free(&self->r);

	m = qk_msg(&self->q, QKTLS_CMD_KEY_GET, true);
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err);
	EXPECT_EQ(QKTLS_A_POOL_NAME, self->r.miss_type);
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_KEY_GET, true);
	nla_put_string(m, QKTLS_A_POOL_NAME, "nope");
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_ERR(&self->r, -ENOENT);
	qk_reply_free(&self->r);
}

TEST_F(cmds, stats_get)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];
	struct nl_msg *m;
	uint64_t pools0, keys0, bytes0;

	m = qk_msg(&self->q, QKTLS_CMD_STATS_GET, false);
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	ASSERT_EQ(0, genlmsg_parse((struct nlmsghdr *)self->r.raw, 0, tb,
				   QKTLS_A_MAX, NULL));
	pools0 = nla_get_u32(tb[QKTLS_A_NS_POOLS]);
	keys0 = nla_get_u32(tb[QKTLS_A_NS_KEYS]);
	bytes0 = nla_get_u64(tb[QKTLS_A_NS_KEY_BYTES]);
	ASSERT_NE(NULL, tb[QKTLS_A_NS_MEM_LIMIT]);
	EXPECT_EQ((uint64_t)qk_param("max_mem_bytes"),
		  nla_get_u64(tb[QKTLS_A_NS_MEM_LIMIT]));
	EXPECT_NE(NULL, tb[QKTLS_A_POOL_STATS]);
	qk_reply_free(&self->r);

	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 0, 48, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 7, 48, &self->r));
	qk_reply_free(&self->r);
	m = qk_msg(&self->q, QKTLS_CMD_STATS_GET, false);
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	ASSERT_EQ(0, genlmsg_parse((struct nlmsghdr *)self->r.raw, 0, tb,
				   QKTLS_A_MAX, NULL));
	EXPECT_EQ(pools0 + 1, nla_get_u32(tb[QKTLS_A_NS_POOLS]));
	EXPECT_EQ(keys0 + 7, nla_get_u32(tb[QKTLS_A_NS_KEYS]));
	EXPECT_EQ(bytes0 + 7 * 48, nla_get_u64(tb[QKTLS_A_NS_KEY_BYTES]));
	qk_reply_free(&self->r);
}

TEST_F(cmds, memory_limits)
{
	long pool_saved = qk_param("pool_max_mem_bytes");
	long glob_saved = qk_param("max_mem_bytes");
	struct nlattr *tb[QKTLS_A_MAX + 1];
	struct qk_pool_info p;
	struct nl_msg *m;
	long long unit, ns_mem;

	ASSERT_LE(0, pool_saved);
	ASSERT_LE(0, glob_saved);
	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 1000, 0, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 1, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	unit = p.mem_bytes;
	ASSERT_LT(32, unit);
	TH_LOG("kernel bytes per pooled key: %llu", (unsigned long long)unit);

	/* Per pool: room for 10 keys. */
	ASSERT_EQ(0, qk_set_param("pool_max_mem_bytes", 10 * unit));
	EXPECT_EQ(0, qk_add_keys(&self->q, "t", TAG, 1, 9, 32, &self->r));
	qk_reply_free(&self->r);
	qk_add_keys(&self->q, "t", TAG, 10, 1, 32, &self->r);
	EXPECT_ERR(&self->r, -ENOMEM);
	qk_reply_free(&self->r);
	EXPECT_EQ(0, qk_set_param("pool_max_mem_bytes", pool_saved));
	qk_pool_simple(&self->q, QKTLS_CMD_KEY_FLUSH, "t", &self->r);
	qk_reply_free(&self->r);

	/* Global: room for 5 more keys than the namespace holds. */
	m = qk_msg(&self->q, QKTLS_CMD_STATS_GET, false);
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	ASSERT_EQ(0, genlmsg_parse((struct nlmsghdr *)self->r.raw, 0, tb,
				   QKTLS_A_MAX, NULL));
	ns_mem = nla_get_u64(tb[QKTLS_A_NS_MEM_BYTES]);
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_set_param("max_mem_bytes", ns_mem + 5 * unit));
	qk_add_keys(&self->q, "t", TAG, 100, 6, 32, &self->r);
	EXPECT_ERR(&self->r, -ENOMEM);
	qk_reply_free(&self->r);
	EXPECT_EQ(0, qk_add_keys(&self->q, "t", TAG, 100, 5, 32, &self->r));
	qk_reply_free(&self->r);
	qk_add_keys(&self->q, "t", TAG, 200, 1, 32, &self->r);
	EXPECT_ERR(&self->r, -ENOMEM);
	qk_reply_free(&self->r);
	EXPECT_EQ(0, qk_set_param("max_mem_bytes", glob_saved));
	EXPECT_EQ(0, qk_add_keys(&self->q, "t", TAG, 200, 1, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(6, p.count);
}

/* Expect the next event to be @cmd on pool "t"; returns its count. */
static int expect_event(struct __test_metadata *_metadata, struct qk *q,
			struct qk_reply *ev, int cmd, int *count)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];
	int got;

	memset(tb, 0, sizeof(tb));
	got = qk_next_event(q, 10000, ev, tb);
	EXPECT_EQ(cmd, got);
	if (got != cmd)
		return -1;
	EXPECT_NE(NULL, tb[QKTLS_A_POOL_NAME]);
	EXPECT_NE(NULL, tb[QKTLS_A_POOL_ID]);
	if (tb[QKTLS_A_POOL_NAME])
		EXPECT_STREQ("t", nla_get_string(tb[QKTLS_A_POOL_NAME]));
	if (count)
		*count = tb[QKTLS_A_EXPIRED_COUNT] ?
			 (int)nla_get_u32(tb[QKTLS_A_EXPIRED_COUNT]) :
			 tb[QKTLS_A_POOL_KEY_COUNT] ?
			 (int)nla_get_u32(tb[QKTLS_A_POOL_KEY_COUNT]) : -1;
	return 0;
}

TEST_F(cmds, events_in_order)
{
	struct qk ev;
	struct qk_reply evr = { 0 };
	struct qk_taken t;
	struct nl_msg *m;
	int count, i;

	ASSERT_EQ(0, qk_open(&ev));
	ASSERT_EQ(0, qk_subscribe(&ev));
	m = qk_msg(&self->q, QKTLS_CMD_POOL_NEW, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 8);
	nla_put_u32(m, QKTLS_A_POOL_LOW_WATERMARK, 2);
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 4, 32, &self->r));
	qk_reply_free(&self->r);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, qk_take(&self->q, "t", NULL, &t, &self->r));
		qk_reply_free(&self->r);
	}
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 10, 3, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_simple(&self->q, QKTLS_CMD_KEY_FLUSH, "t",
				    &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_pool_simple(&self->q, QKTLS_CMD_POOL_DEL, "t",
				    &self->r));
	qk_reply_free(&self->r);

	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_CREATED_NTF, NULL);
	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_LOW_NTF, &count);
	EXPECT_EQ(1, count);
	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_EMPTY_NTF, &count);
	EXPECT_EQ(0, count);
	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_LOW_NTF, &count);
	EXPECT_EQ(0, count);
	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_EMPTY_NTF, &count);
	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_DELETED_NTF, NULL);
	EXPECT_EQ(-ETIMEDOUT, qk_next_event(&ev, 200, &evr, NULL))
		TH_LOG("no further event");
	qk_reply_free(&evr);
	qk_close(&ev);
}

TEST_F(cmds, expiry)
{
	struct qk ev;
	struct qk_reply evr = { 0 };
	struct qk_pool_info p;
	struct nl_msg *m;
	int count;

	ASSERT_EQ(0, qk_open(&ev));
	ASSERT_EQ(0, qk_subscribe(&ev));
	m = qk_msg(&self->q, QKTLS_CMD_POOL_NEW, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	nla_put_u32(m, QKTLS_A_POOL_CAPACITY, 8);
	nla_put_u32(m, QKTLS_A_POOL_LOW_WATERMARK, 2);
	nla_put_u32(m, QKTLS_A_POOL_KEY_LIFETIME, 1);
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 3, 32, &self->r));
	qk_reply_free(&self->r);

	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_CREATED_NTF, NULL);
	/* The expiry event itself is what the test waits on. */
	expect_event(_metadata, &ev, &evr, QKTLS_CMD_KEYS_EXPIRED_NTF, &count);
	EXPECT_EQ(3, count);
	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_LOW_NTF, NULL);
	expect_event(_metadata, &ev, &evr, QKTLS_CMD_POOL_EMPTY_NTF, NULL);
	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(0, p.count);
	EXPECT_EQ(0, p.mem_bytes);
	EXPECT_EQ(3, p.stats[QKTLS_STATS_A_KEYS_EXPIRED]);
	qk_reply_free(&evr);
	qk_close(&ev);
}

/* Gather every byte the kernel sends while keys come and go. */
TEST_F(cmds, no_key_material_comes_back)
{
	uint8_t id[QKTLS_KEY_ID_LEN], mat[QKTLS_KEY_MAX_LEN];
	struct qk_reply all = { 0 }, evr = { 0 };
	struct qk_pool_info p;
	struct key_dump d = { 0 };
	struct qk_taken t;
	struct nl_msg *m;
	struct qk ev;
	int i;

	ASSERT_EQ(0, qk_open(&ev));
	ASSERT_EQ(0, qk_subscribe(&ev));
#define KEEP() do { qk_append(&all, self->r.raw, self->r.raw_len); \
		    qk_reply_free(&self->r); } while (0)
	ASSERT_EQ(0, qk_pool_new(&self->q, "t", 64, 32, &self->r));
	KEEP();
	ASSERT_EQ(0, qk_add_keys(&self->q, "t", TAG, 0, 32, 32, &self->r));
	KEEP();
	/* A refused batch: its error ack echoes the request. */
	m = qk_msg(&self->q, QKTLS_CMD_KEY_ADD, false);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	for (i = 40; i < 44; i++) {
		qk_id(id, TAG, i == 42 ? 0 : i);
		qk_material(mat, 32, TAG, i);
		qk_put_key(m, id, mat, 32, NULL);
	}
	qk_xfer(&self->q, m, &self->r, NULL, NULL);
	EXPECT_EQ(-EEXIST, self->r.err);
	KEEP();
	m = qk_msg(&self->q, QKTLS_CMD_KEY_GET, true);
	nla_put_string(m, QKTLS_A_POOL_NAME, "t");
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, key_dump_cb, &d));
	KEEP();
	ASSERT_EQ(0, qk_pool_get(&self->q, "t", &p, &self->r));
	KEEP();
	m = qk_msg(&self->q, QKTLS_CMD_POOL_GET, true);
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	KEEP();
	for (i = 0; i < 32; i++) {
		ASSERT_EQ(0, qk_take(&self->q, "t", NULL, &t, &self->r));
		KEEP();
	}
	m = qk_msg(&self->q, QKTLS_CMD_STATS_GET, false);
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, NULL, NULL));
	KEEP();
	ASSERT_EQ(0, qk_pool_simple(&self->q, QKTLS_CMD_POOL_DEL, "t",
				    &self->r));
	KEEP();
	while (qk_next_event(&ev, 500, &evr, NULL) >= 0)
		;
	EXPECT_LT(0L, evr.raw_len);
	EXPECT_LT(1000L, all.raw_len);
	for (i = 0; i < 44; i++) {
		qk_material(mat, 32, TAG, i);
		/* 12 bytes: a match by chance is out of the question. */
		EXPECT_FALSE(qk_contains(all.raw, all.raw_len, mat, 12))
			TH_LOG("key %d material in a reply", i);
		EXPECT_FALSE(qk_contains(evr.raw, evr.raw_len, mat, 12))
			TH_LOG("key %d material in an event", i);
	}
	qk_reply_free(&all);
	qk_reply_free(&evr);
	qk_close(&ev);
}

TEST_HARNESS_MAIN
