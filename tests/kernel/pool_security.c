// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who may use the qktls family: callers without CAP_NET_ADMIN are refused
 * every command and the events group; another network namespace sees
 * none of this one's pools.
 */
#include <sched.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "../lib/qktls_nl.h"

#define TAG 0x5ec00001u

/*
 * In the child: every command fails with -EPERM, and so does joining the
 * events group.  Exit status = number of failed checks.
 */
static int unprivileged_checks(void)
{
	static const struct { uint8_t cmd; bool dump; } cmds[] = {
		{ QKTLS_CMD_POOL_NEW, false }, { QKTLS_CMD_POOL_DEL, false },
		{ QKTLS_CMD_POOL_SET, false }, { QKTLS_CMD_POOL_GET, false },
		{ QKTLS_CMD_POOL_GET, true }, { QKTLS_CMD_KEY_ADD, false },
		{ QKTLS_CMD_KEY_DEL, false }, { QKTLS_CMD_KEY_FLUSH, false },
		{ QKTLS_CMD_KEY_GET, true }, { QKTLS_CMD_KEY_TAKE, false },
		{ QKTLS_CMD_STATS_GET, false },
	};
	uint8_t id[QKTLS_KEY_ID_LEN] = { 1 }, mat[32] = { 2 };
	struct qk_reply r;
	struct qk q;
	size_t i;
	int bad = 0;

	if (qk_open(&q))
		return 100;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct nl_msg *m = qk_msg(&q, cmds[i].cmd, cmds[i].dump);

		nla_put_string(m, QKTLS_A_POOL_NAME, "sec");
		if (cmds[i].cmd == QKTLS_CMD_KEY_ADD)
			qk_put_key(m, id, mat, sizeof(mat), NULL);
		qk_xfer(&q, m, &r, NULL, NULL);
		if (r.err != -EPERM) {
			fprintf(stderr, "# cmd %d dump %d: %d, not -EPERM\n",
				cmds[i].cmd, cmds[i].dump, r.err);
			bad++;
		}
		qk_reply_free(&r);
	}
	if (qk_subscribe(&q) != -EPERM) {
		fprintf(stderr, "# joined the events group\n");
		bad++;
	}
	qk_close(&q);
	return bad;
}

FIXTURE(sec) {
	struct qk q;
	struct qk_reply r;
};

FIXTURE_SETUP(sec)
{
	ASSERT_EQ(0, qk_open(&self->q));
	qk_pool_drop(&self->q, "sec");
	ASSERT_EQ(0, qk_pool_new(&self->q, "sec", 16, 32, &self->r));
	qk_reply_free(&self->r);
	ASSERT_EQ(0, qk_add_keys(&self->q, "sec", TAG, 0, 4, 32, &self->r));
	qk_reply_free(&self->r);
}

FIXTURE_TEARDOWN(sec)
{
	qk_pool_drop(&self->q, "sec");
	qk_close(&self->q);
}

static void pool_untouched(struct __test_metadata *_metadata, struct qk *q)
{
	struct qk_pool_info p;
	struct qk_reply r;

	ASSERT_EQ(0, qk_pool_get(q, "sec", &p, &r));
	qk_reply_free(&r);
	EXPECT_EQ(4, p.count);
	EXPECT_EQ(16, p.capacity);
}

TEST_F(sec, no_cap_net_admin)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(qk_drop_net_admin() ? 99 : unprivileged_checks());
	EXPECT_EQ(0, qk_wait_child(pid));
	pool_untouched(_metadata, &self->q);
}

TEST_F(sec, user_nobody)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(setgid(65534) || setuid(65534) ? 99 :
		      unprivileged_checks());
	EXPECT_EQ(0, qk_wait_child(pid));
	pool_untouched(_metadata, &self->q);
}

struct count_pools {
	int n;
	int named_sec;
};

static int count_cb(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[QKTLS_A_MAX + 1];
	struct count_pools *c = arg;

	if (genlmsg_parse(nlh, 0, tb, QKTLS_A_MAX, NULL))
		return 0;
	c->n++;
	if (tb[QKTLS_A_POOL_NAME] &&
	    !strcmp(nla_get_string(tb[QKTLS_A_POOL_NAME]), "sec"))
		c->named_sec++;
	return 0;
}

/* In a new netns: no pools; a pool of the same name is another pool. */
static int other_netns_checks(void)
{
	struct count_pools c = { 0 };
	struct qk_pool_info p;
	struct qk_taken t;
	struct qk_reply r;
	struct qk q;
	int bad = 0;

	if (unshare(CLONE_NEWNET) || qk_open(&q))
		return 100;
	qk_xfer(&q, qk_msg(&q, QKTLS_CMD_POOL_GET, true), &r, count_cb, &c);
	bad += r.err != 0 || c.n != 0;
	qk_reply_free(&r);
	qk_pool_get(&q, "sec", &p, &r);
	bad += r.err != -ENOENT;
	qk_reply_free(&r);
	qk_take(&q, "sec", NULL, &t, &r);
	bad += r.err != -ENOENT;
	qk_reply_free(&r);
	qk_pool_new(&q, "sec", 100, 32, &r);
	bad += r.err != 0;
	qk_reply_free(&r);
	qk_add_keys(&q, "sec", TAG, 0, 50, 32, &r);
	bad += r.err != 0;
	qk_reply_free(&r);
	qk_pool_get(&q, "sec", &p, &r);
	bad += r.err != 0 || p.count != 50 || p.capacity != 100;
	qk_reply_free(&r);
	qk_close(&q);
	/* The namespace goes with this process: its pool is wiped then. */
	return bad;
}

TEST_F(sec, other_netns)
{
	struct count_pools c = { 0 };
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(other_netns_checks());
	EXPECT_EQ(0, qk_wait_child(pid));
	pool_untouched(_metadata, &self->q);
	qk_xfer(&self->q, qk_msg(&self->q, QKTLS_CMD_POOL_GET, true),
		&self->r, count_cb, &c);
	EXPECT_EQ(0, self->r.err);
	EXPECT_EQ(1, c.named_sec);
	qk_reply_free(&self->r);
}

/*
 * GENL_UNS_ADMIN_PERM: an unprivileged user owns the network namespace it
 * creates with its own user namespace, and may manage pools there, only.
 */
static int userns_checks(void)
{
	struct count_pools c = { 0 };
	struct qk_reply r;
	struct qk q;
	int bad = 0;

	if (setgid(65534) || setuid(65534))
		return 100;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
		return 200;	/* unprivileged user namespaces are off */
	if (qk_open(&q))
		return 101;
	qk_pool_new(&q, "mine", 4, 32, &r);
	bad += r.err != 0;
	qk_reply_free(&r);
	qk_add_keys(&q, "mine", TAG, 0, 2, 32, &r);
	bad += r.err != 0;
	qk_reply_free(&r);
	qk_xfer(&q, qk_msg(&q, QKTLS_CMD_POOL_GET, true), &r, count_cb, &c);
	bad += r.err != 0 || c.n != 1 || c.named_sec != 0;
	qk_reply_free(&r);
	bad += qk_subscribe(&q) != 0;
	qk_close(&q);
	return bad;
}

TEST_F(sec, user_namespace_owner)
{
	pid_t pid = fork();
	int st;

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(userns_checks());
	st = qk_wait_child(pid);
	if (st == 200)
		SKIP(return, "unprivileged user namespaces are disabled");
	EXPECT_EQ(0, st);
	pool_untouched(_metadata, &self->q);
}

TEST_F(sec, events_stay_in_their_netns)
{
	struct qk ev;
	pid_t pid;

	ASSERT_EQ(0, qk_open(&ev));
	ASSERT_EQ(0, qk_subscribe(&ev));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(other_netns_checks());
	EXPECT_EQ(0, qk_wait_child(pid));
	/* Only this namespace's own event comes; none of the child's. */
	ASSERT_EQ(0, qk_pool_new(&self->q, "sec2", 4, 32, &self->r));
	qk_reply_free(&self->r);
	EXPECT_EQ(QKTLS_CMD_POOL_CREATED_NTF, qk_next_event(&ev, 10000, NULL,
							    NULL));
	EXPECT_EQ(-ETIMEDOUT, qk_next_event(&ev, 200, NULL, NULL));
	qk_pool_drop(&self->q, "sec2");
	qk_close(&ev);
}

TEST_HARNESS_MAIN
