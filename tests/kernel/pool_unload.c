// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unloading qktls.ko with full pools, in this and another network
 * namespace, is clean: the key and pool caches were in use, rmmod wipes
 * and frees everything (kmem_cache_destroy() would warn about any object
 * left, and the VM runner fails on a warning), and the module comes back
 * with parameters given at load time.  Leaves qktls loaded with defaults.
 */
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "../lib/qktls_nl.h"

#define TAG 0x0dd00001u

static bool dmesg_has(const char *what)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "dmesg | grep -q '%s'", what);
	return qk_run(cmd) == 0;
}

static int load(const char *params)
{
	const char *ko = getenv("QKTLS_KO");
	char cmd[512];

	if (!ko)
		return -1;
	snprintf(cmd, sizeof(cmd), "insmod '%s' %s", ko, params);
	return qk_run(cmd);
}

/* A child in its own netns holding a full pool until @release closes. */
static pid_t netns_holder(int ready_w, int release_r)
{
	pid_t pid = fork();
	struct qk_reply r;
	struct qk q;
	char c = 0;

	if (pid)
		return pid;
	if (unshare(CLONE_NEWNET) || qk_open(&q) ||
	    qk_pool_new(&q, "other", 100, 32, &r) ||
	    qk_add_keys(&q, "other", TAG, 0, 100, 32, &r))
		_exit(1);
	qk_reply_free(&r);
	if (write(ready_w, &c, 1) != 1)
		_exit(2);
	if (read(release_r, &c, 1) < 0)
		_exit(3);
	/* The family went away and came back meanwhile: the pool is gone. */
	qk_close(&q);
	if (qk_open(&q) || qk_pool_get(&q, "other", &(struct qk_pool_info){},
				       &r) != -ENOENT)
		_exit(4);
	_exit(0);
}

TEST(unload_with_full_pools)
{
	int ready[2], release[2], st;
	struct qk_reply r;
	struct qk q;
	char c;
	pid_t pid;

	ASSERT_NE(NULL, getenv("QKTLS_KO"));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(release));
	ASSERT_EQ(0, qk_open(&q));
	ASSERT_EQ(0, qk_pool_new(&q, "full-a", 1000, 32, &r));
	qk_reply_free(&r);
	ASSERT_EQ(0, qk_pool_new(&q, "full-b", 1000, 64, &r));
	qk_reply_free(&r);
	ASSERT_EQ(0, qk_add_keys(&q, "full-a", TAG, 0, 1000, 32, &r));
	qk_reply_free(&r);
	ASSERT_EQ(0, qk_add_keys(&q, "full-b", TAG, 0, 1000, 64, &r));
	qk_reply_free(&r);
	qk_close(&q);

	pid = netns_holder(ready[1], release[0]);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready[0], &c, 1));

	/* 2 KiB blocks: 38 keys of 32 bytes or 23 of 64 each: 27 + 44 + 3. */
	EXPECT_LE(74, qk_slab_active("qktls_keyblk"));
	EXPECT_LE(3, qk_slab_active("qktls_pool"));
	TH_LOG("before rmmod: qktls_keyblk %ld, qktls_pool %ld active",
	       qk_slab_active("qktls_keyblk"), qk_slab_active("qktls_pool"));

	ASSERT_EQ(0, qk_run("rmmod qktls"));
	EXPECT_NE(0, access("/sys/module/qktls", F_OK));
	EXPECT_EQ(-1, qk_slab_active("qktls_keyblk"))
		TH_LOG("key block cache destroyed");
	EXPECT_EQ(-1, qk_slab_active("qktls_pool"));
	EXPECT_FALSE(dmesg_has("still has objects"));
	EXPECT_FALSE(dmesg_has("qktls.*WARN"));

	/* Back, with a parameter given at load time. */
	ASSERT_EQ(0, load("max_pools=2"));
	ASSERT_EQ(0, qk_open(&q));
	EXPECT_EQ(-ENOENT, qk_pool_get(&q, "full-a", &(struct qk_pool_info){},
				       &r));
	qk_reply_free(&r);
	EXPECT_EQ(0, qk_pool_new(&q, "p1", 0, 0, &r));
	qk_reply_free(&r);
	EXPECT_EQ(0, qk_pool_new(&q, "p2", 0, 0, &r));
	qk_reply_free(&r);
	EXPECT_EQ(-ENOSPC, qk_pool_new(&q, "p3", 0, 0, &r));
	qk_reply_free(&r);
	qk_close(&q);

	ASSERT_EQ(1, write(release[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("netns child: status %d", st);

	/* Leave qktls loaded with its defaults for the tests after this. */
	EXPECT_EQ(0, qk_run("rmmod qktls"));
	EXPECT_FALSE(dmesg_has("still has objects"));
	ASSERT_EQ(0, load(""));
}

TEST_HARNESS_MAIN
