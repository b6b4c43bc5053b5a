// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dumps at scale: 1,000 pools holding 10,000 keys, every pool and every
 * key's metadata dumped across many messages, nothing lost or repeated.
 */
#include "kselftest_harness.h"
#include "../lib/qktls_nl.h"

#define TAG	0x5ca1e001u
#define POOLS	1000
#define PER	10

struct pool_seen {
	unsigned char seen[POOLS];
	int dup, other;
	uint32_t last_id;
	int unordered;
};

static int pools_cb(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];
	struct pool_seen *s = arg;
	unsigned int n;
	uint32_t id;

	if (genlmsg_parse(nlh, 0, tb, QKTLS_A_MAX, NULL) ||
	    !tb[QKTLS_A_POOL_NAME] || !tb[QKTLS_A_POOL_ID])
		return 0;
	id = nla_get_u32(tb[QKTLS_A_POOL_ID]);
	if (id <= s->last_id)
		s->unordered++;
	s->last_id = id;
	if (sscanf(nla_get_string(tb[QKTLS_A_POOL_NAME]), "scale-%u", &n) != 1 ||
	    n >= POOLS) {
		s->other++;
		return 0;
	}
	if (s->seen[n]++)
		s->dup++;
	if (!tb[QKTLS_A_POOL_KEY_COUNT] ||
	    nla_get_u32(tb[QKTLS_A_POOL_KEY_COUNT]) != PER)
		s->dup++;
	return 0;
}

struct keys_seen {
	uint32_t tag;
	uint64_t next;
	int n, bad;
};

static int keys_cb(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *k[QKTLS_KEY_A_MAX + 1], *a;
	struct genlmsghdr *g = nlmsg_data(nlh);
	uint8_t id[QKTLS_KEY_ID_LEN];
	struct keys_seen *s = arg;
	int rem;

	nla_for_each_attr(a, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0),
			  rem) {
		if (nla_type(a) != QKTLS_A_KEY)
			continue;
		if (nla_parse_nested(k, QKTLS_KEY_A_MAX, a, NULL) ||
		    !k[QKTLS_KEY_A_ID] || k[QKTLS_KEY_A_MATERIAL] ||
		    !k[QKTLS_KEY_A_INDEX]) {
			s->bad++;
			continue;
		}
		qk_id(id, s->tag, s->next);
		if (memcmp(id, nla_data(k[QKTLS_KEY_A_ID]), sizeof(id)) ||
		    nla_get_u64(k[QKTLS_KEY_A_INDEX]) != s->next)
			s->bad++;
		s->next++;
		s->n++;
	}
	return 0;
}

FIXTURE(scale) {
	struct qk q;
	struct qk_reply r;
};

FIXTURE_SETUP(scale)
{
	ASSERT_EQ(0, qk_open(&self->q));
}

FIXTURE_TEARDOWN(scale)
{
	char name[32];
	int i;

	for (i = 0; i < POOLS; i++) {
		snprintf(name, sizeof(name), "scale-%d", i);
		qk_pool_drop(&self->q, name);
	}
	qk_pool_drop(&self->q, "scale-big");
	qk_close(&self->q);
}

TEST_F_TIMEOUT(scale, thousand_pools_ten_thousand_keys, 600)
{
	static struct pool_seen ps;
	char name[32];
	int i, keys = 0;

	for (i = 0; i < POOLS; i++) {
		snprintf(name, sizeof(name), "scale-%d", i);
		ASSERT_EQ(0, qk_pool_new(&self->q, name, PER, 32, &self->r));
		qk_reply_free(&self->r);
		ASSERT_EQ(0, qk_add_keys(&self->q, name, TAG + i, 0, PER, 32,
					 &self->r));
		qk_reply_free(&self->r);
	}

	memset(&ps, 0, sizeof(ps));
	ASSERT_EQ(0, qk_xfer(&self->q, qk_msg(&self->q, QKTLS_CMD_POOL_GET, true),
			     &self->r, pools_cb, &ps));
	TH_LOG("pool dump: %d messages in %d reads", self->r.n_msgs,
	       self->r.n_recvs);
	EXPECT_LT(1, self->r.n_recvs) TH_LOG("the dump took several parts");
	qk_reply_free(&self->r);
	EXPECT_EQ(0, ps.dup);
	EXPECT_EQ(0, ps.unordered);
	for (i = 0; i < POOLS; i++)
		EXPECT_EQ(1, ps.seen[i]) TH_LOG("pool %d", i);

	for (i = 0; i < POOLS; i++) {
		struct keys_seen ks = { .tag = TAG + i };
		struct nl_msg *m = qk_msg(&self->q, QKTLS_CMD_KEY_GET, true);

		snprintf(name, sizeof(name), "scale-%d", i);
		nla_put_string(m, QKTLS_A_POOL_NAME, name);
		ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, keys_cb, &ks));
		qk_reply_free(&self->r);
		EXPECT_EQ(PER, ks.n);
		EXPECT_EQ(0, ks.bad);
		keys += ks.n;
	}
	EXPECT_EQ(POOLS * PER, keys);
}

TEST_F_TIMEOUT(scale, ten_thousand_keys_one_pool, 600)
{
	struct keys_seen ks = { .tag = TAG };
	struct nl_msg *m;
	int i;

	ASSERT_EQ(0, qk_pool_new(&self->q, "scale-big", 10000, 32, &self->r));
	qk_reply_free(&self->r);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, qk_add_keys(&self->q, "scale-big", TAG, i * 1000,
					 1000, 32, &self->r));
		qk_reply_free(&self->r);
	}
	m = qk_msg(&self->q, QKTLS_CMD_KEY_GET, true);
	nla_put_string(m, QKTLS_A_POOL_NAME, "scale-big");
	ASSERT_EQ(0, qk_xfer(&self->q, m, &self->r, keys_cb, &ks));
	TH_LOG("key dump: %d messages in %d reads", self->r.n_msgs,
	       self->r.n_recvs);
	EXPECT_LT(10, self->r.n_msgs);
	qk_reply_free(&self->r);
	EXPECT_EQ(10000, ks.n);
	EXPECT_EQ(0, ks.bad);
}

TEST_HARNESS_MAIN
