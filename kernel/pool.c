// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: per-network-namespace pools of QKD keys.
 *
 * A pool numbers its keys in arrival order and stores key number s in slot
 * s % blk_slots of block s / blk_slots: blocks are 2 KiB objects of a slab
 * cache of their own, each a run of arrival numbers, held in an xarray by
 * block number.  A block keeps its slots column by column (arrival time,
 * length and flags, ID, material), so a slot costs 21 bytes plus the
 * pool's longest key.  An open-addressing hash table of 32-bit arrival
 * numbers finds a key by ID.  A key that leaves empties its slot, which is
 * wiped; a block is wiped and freed when its last key leaves.  The oldest
 * key is the first filled slot from @head on, so FIFO takes and expiry
 * look only there.  Documentation/qktls/pools.rst has the arithmetic.
 *
 * Every change happens under the pool's mutex, so a key leaves its pool
 * exactly once, and events come out in the order the changes were made.
 */

#include <linux/atomic.h>
#include <linux/jhash.h>
#include <linux/jiffies.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "netlink.h"
#include "pool.h"
#include "sock.h"

/**
 * struct qktls_block - a run of key slots of one pool
 * @base: arrival time of the block's first key, jiffies
 * @index: ETSI 004 indexes of the slots, allocated with the first key that
 *	has one, else NULL
 * @live: keys in the block
 * @filled: slots ever filled (the keys and the emptied slots), charged
 * @data: the columns: u32 arrival time - @base, jiffies; u8 meta (0 for an
 *	empty slot, else QKTLS_META_*); ID; material (the pool's
 *	key_max_len bytes)
 */
struct qktls_block {
	u64 base;
	u64 *index;
	u16 live;
	u16 filled;
	u8 data[] __aligned(8);
};

#define QKTLS_BLOCK_SIZE	2048
#define QKTLS_SLOT_FIXED	(sizeof(u32) + 1 + QKTLS_KEY_ID_LEN)
#define QKTLS_META_LEN		GENMASK(5, 0)	/* length - 1 */
#define QKTLS_META_INDEX	BIT(6)		/* has an index */
#define QKTLS_META_DOOMED	BIT(7)		/* see qktls_pool_del_keys() */
#define QKTLS_NO_SLOT		U32_MAX		/* an empty table entry */
/* The table is at most 3/4 full, and twice the keys when it grows. */
#define QKTLS_TABLE_MIN		16

static struct kmem_cache *qktls_block_cache;
static struct kmem_cache *qktls_pool_cache;
static unsigned int qktls_net_id;
static atomic64_t qktls_mem_used = ATOMIC64_INIT(0);

/* A filled slot: block, block number and slot in it. */
struct qktls_ref {
	struct qktls_block *blk;
	unsigned long nr;
	unsigned int i;
};

/**
 * qktls_net() - the qktls state of a network namespace
 * @net: the namespace
 *
 * Return: its state, valid as long as @net is.
 */
struct qktls_net *qktls_net(const struct net *net)
{
	return net_generic(net, qktls_net_id);
}

/**
 * qktls_mem_used_bytes() - kernel memory charged to all pools
 *
 * Return: bytes, over every namespace.
 */
u64 qktls_mem_used_bytes(void)
{
	return atomic64_read(&qktls_mem_used);
}

/**
 * qktls_key_wipe() - wipe a key held outside any pool
 * @key: the key
 */
void qktls_key_wipe(struct qktls_key *key)
{
	memzero_explicit(key, sizeof(*key));
}

static u32 qktls_name_hash(const char *name)
{
	return jhash(name, strlen(name), 0);
}

/* --- slots ----------------------------------------------------------------- */

static u32 *qktls_slot_time(const struct qktls_ref *r)
{
	return (u32 *)r->blk->data + r->i;
}

static u8 *qktls_slot_meta(const struct qktls_pool *pool,
			   const struct qktls_ref *r)
{
	return r->blk->data + pool->blk_slots * sizeof(u32) + r->i;
}

static u8 *qktls_slot_id(const struct qktls_pool *pool,
			 const struct qktls_ref *r)
{
	return r->blk->data + pool->blk_slots * (sizeof(u32) + 1) +
	       r->i * QKTLS_KEY_ID_LEN;
}

static u8 *qktls_slot_material(const struct qktls_pool *pool,
			       const struct qktls_ref *r)
{
	return r->blk->data + pool->blk_slots * QKTLS_SLOT_FIXED +
	       r->i * pool->key_max_len;
}

static unsigned int qktls_slot_len(const struct qktls_pool *pool,
				   const struct qktls_ref *r)
{
	return (*qktls_slot_meta(pool, r) & QKTLS_META_LEN) + 1;
}

static u64 qktls_ref_seq(const struct qktls_pool *pool,
			 const struct qktls_ref *r)
{
	return (u64)r->nr * pool->blk_slots + r->i;
}

/* The slot of arrival number @seq; true if it holds a key. */
static bool qktls_slot(struct qktls_pool *pool, u64 seq,
		       struct qktls_ref *r)
{
	u32 i;

	r->nr = div_u64_rem(seq, pool->blk_slots, &i);
	r->i = i;
	r->blk = xa_load(&pool->blocks, r->nr);
	return r->blk && *qktls_slot_meta(pool, r);
}

/* The first key at or after arrival number @seq; false if there is none. */
static bool qktls_slot_from(struct qktls_pool *pool, u64 seq,
			    struct qktls_ref *r)
{
	struct qktls_block *blk;
	unsigned long start, nr;
	u32 i;

	if (seq >= pool->next_seq)
		return false;
	start = div_u64_rem(seq, pool->blk_slots, &i);
	xa_for_each_start(&pool->blocks, nr, blk, start) {
		r->blk = blk;
		r->nr = nr;
		for (r->i = nr == start ? i : 0; r->i < pool->blk_slots;
		     r->i++)
			if (*qktls_slot_meta(pool, r))
				return true;
	}
	return false;
}

/* Wipe and free a block whose last key left, and uncharge its slots. */
static void qktls_block_release(struct qktls_pool *pool, struct qktls_ref *r)
{
	u64 mem = (u64)r->blk->filled * pool->unit;

	if (r->blk->live)
		return;
	xa_erase(&pool->blocks, r->nr);
	pool->mem_bytes -= mem;
	atomic64_sub(mem, &qktls_mem_used);
	kfree_sensitive(r->blk->index);
	memzero_explicit(r->blk, QKTLS_BLOCK_SIZE);
	kmem_cache_free(qktls_block_cache, r->blk);
	r->blk = NULL;
}

/* Wipe the key in a slot and empty it; the block stays. */
static void qktls_slot_wipe(struct qktls_pool *pool, struct qktls_ref *r)
{
	memzero_explicit(qktls_slot_material(pool, r), pool->key_max_len);
	memset(qktls_slot_id(pool, r), 0, QKTLS_KEY_ID_LEN);
	*qktls_slot_meta(pool, r) = 0;
	*qktls_slot_time(r) = 0;
	if (r->blk->index)
		r->blk->index[r->i] = 0;
	r->blk->live--;
}

/* --- the table of IDs ------------------------------------------------------ */

static u32 qktls_table_home(const struct qktls_pool *pool, const u8 *id)
{
	return reciprocal_scale(jhash(id, QKTLS_KEY_ID_LEN, pool->hash_seed),
				pool->table_size);
}

static u32 qktls_table_next(const struct qktls_pool *pool, u32 h)
{
	return h + 1 == pool->table_size ? 0 : h + 1;
}

/*
 * The key an entry names.  Keys held lie within 2^32 arrival numbers from
 * @head on (qktls_pool_add() sees to it), so the low 32 bits suffice.
 */
static void qktls_table_key(struct qktls_pool *pool, u32 e,
			    struct qktls_ref *r)
{
	bool live = qktls_slot(pool, pool->head + (u32)(e - (u32)pool->head),
			       r);

	WARN_ON_ONCE(!live);
}

/* The table entry of the key with ID @id, or -1; @r gets its slot. */
static long qktls_table_find(struct qktls_pool *pool, const u8 *id,
			     struct qktls_ref *r)
{
	u32 h, e;

	if (!pool->table_size)
		return -1;
	for (h = qktls_table_home(pool, id);
	     (e = pool->table[h]) != QKTLS_NO_SLOT;
	     h = qktls_table_next(pool, h)) {
		qktls_table_key(pool, e, r);
		if (!memcmp(qktls_slot_id(pool, r), id, QKTLS_KEY_ID_LEN))
			return h;
	}
	return -1;
}

static void qktls_table_insert(struct qktls_pool *pool, const u8 *id, u64 seq)
{
	u32 h = qktls_table_home(pool, id);

	while (pool->table[h] != QKTLS_NO_SLOT)
		h = qktls_table_next(pool, h);
	pool->table[h] = (u32)seq;
}

/* Empty entry @h, moving later entries of its probe run back (no tombs). */
static void qktls_table_delete(struct qktls_pool *pool, u32 h)
{
	struct qktls_ref r;
	u32 j = h, home, e;

	pool->table[h] = QKTLS_NO_SLOT;
	for (;;) {
		j = qktls_table_next(pool, j);
		e = pool->table[j];
		if (e == QKTLS_NO_SLOT)
			return;
		qktls_table_key(pool, e, &r);
		home = qktls_table_home(pool, qktls_slot_id(pool, &r));
		/* Stays if its home is cyclically in (h, j]. */
		if (h <= j ? (h < home && home <= j) : (h < home || home <= j))
			continue;
		pool->table[h] = e;
		pool->table[j] = QKTLS_NO_SLOT;
		h = j;
	}
}

/* Rebuild the table with @size entries from the keys; nothing on error. */
static int qktls_table_resize(struct qktls_pool *pool, u32 size)
{
	struct qktls_ref r;
	u32 *table;
	u64 seq;

	/*
	 * Large tables from vmalloc: no high-order pages, and the memory
	 * shows in /proc/meminfo (VmallocUsed) as the benchmark measures it.
	 */
	if (size * sizeof(*table) > KMALLOC_MAX_CACHE_SIZE)
		table = __vmalloc(size * sizeof(*table), GFP_KERNEL_ACCOUNT);
	else
		table = kmalloc_array(size, sizeof(*table), GFP_KERNEL_ACCOUNT);
	if (!table)
		return -ENOMEM;
	memset(table, 0xff, size * sizeof(*table));	/* QKTLS_NO_SLOT */
	kvfree(pool->table);
	pool->table = table;
	pool->table_size = size;
	for (seq = pool->head; qktls_slot_from(pool, seq, &r);
	     seq = qktls_ref_seq(pool, &r) + 1)
		qktls_table_insert(pool, qktls_slot_id(pool, &r),
				   qktls_ref_seq(pool, &r));
	return 0;
}

/* Make room in the table for @want keys at most 3/4 full. */
static int qktls_table_reserve(struct qktls_pool *pool, u32 want)
{
	if ((u64)want * 4 <= (u64)pool->table_size * 3)
		return 0;
	if (want > U32_MAX / 8)
		return -ENOMEM;
	return qktls_table_resize(pool, max_t(u32, QKTLS_TABLE_MIN, 2 * want));
}

/* --- keys leaving ---------------------------------------------------------- */

/* Move @head to the oldest key left. */
static void qktls_pool_advance(struct qktls_pool *pool)
{
	struct qktls_ref r;

	if (qktls_slot_from(pool, pool->head, &r))
		pool->head = qktls_ref_seq(pool, &r);
	else
		pool->head = pool->next_seq;
}

/* Take the key at @r (table entry @h) out of the pool, wiped. */
static void qktls_pool_drop(struct qktls_pool *pool, struct qktls_ref *r,
			    u32 h)
{
	pool->key_count--;
	pool->key_bytes -= qktls_slot_len(pool, r);
	qktls_table_delete(pool, h);
	qktls_slot_wipe(pool, r);
	qktls_block_release(pool, r);
}

/* Wipe every key and free every block and the table. */
static u32 qktls_pool_clear(struct qktls_pool *pool)
{
	u32 n = pool->key_count;
	struct qktls_ref r;

	xa_for_each(&pool->blocks, r.nr, r.blk) {
		r.blk->live = 0;
		qktls_block_release(pool, &r);
	}
	kvfree(pool->table);
	pool->table = NULL;
	pool->table_size = 0;
	pool->key_count = 0;
	pool->key_bytes = 0;
	pool->head = pool->next_seq;
	WARN_ON_ONCE(pool->mem_bytes);
	return n;
}

/* After keys left: move @head, shrink the table, tell the feeders. */
static void qktls_pool_keys_left(struct qktls_pool *pool, u32 before)
{
	qktls_pool_advance(pool);
	if (!pool->key_count) {
		kvfree(pool->table);
		pool->table = NULL;
		pool->table_size = 0;
	} else if (pool->key_count < pool->table_size / 8 &&
		   pool->table_size > QKTLS_TABLE_MIN) {
		/* On failure the bigger table serves on. */
		qktls_table_resize(pool, max_t(u32, QKTLS_TABLE_MIN,
					       2 * pool->key_count));
	}
	if (before >= pool->low_watermark &&
	    pool->key_count < pool->low_watermark) {
		pool->stats.low_events++;
		qktls_nl_pool_event(pool, QKTLS_CMD_POOL_LOW_NTF, 0);
	}
	if (before && !pool->key_count) {
		pool->stats.empty_events++;
		qktls_nl_pool_event(pool, QKTLS_CMD_POOL_EMPTY_NTF, 0);
	}
}

static u64 qktls_lifetime_jiffies(const struct qktls_pool *pool)
{
	return (u64)pool->key_lifetime * HZ;
}

static u64 qktls_slot_added(const struct qktls_ref *r)
{
	return r->blk->base + *qktls_slot_time(r);
}

/* Schedule the expiry of the oldest key, if keys expire. */
static void qktls_pool_arm_expiry(struct qktls_pool *pool)
{
	struct qktls_ref r;
	u64 deadline, now;

	if (!pool->key_lifetime || pool->dead || !pool->key_count)
		return;
	if (WARN_ON_ONCE(!qktls_slot(pool, pool->head, &r)))
		return;
	deadline = qktls_slot_added(&r) + qktls_lifetime_jiffies(pool);
	now = get_jiffies_64();
	mod_delayed_work(system_dfl_wq, &pool->expire_work,
			 time_after64(deadline, now) ?
			 min_t(u64, deadline - now, MAX_JIFFY_OFFSET) : 0);
}

static void qktls_pool_expire(struct work_struct *work)
{
	struct qktls_pool *pool = container_of(to_delayed_work(work),
					       struct qktls_pool, expire_work);
	u32 before, expired = 0;
	struct qktls_ref r;
	u64 now, life;
	long h;

	mutex_lock(&pool->lock);
	if (pool->dead || !pool->key_lifetime)
		goto out;
	now = get_jiffies_64();
	life = qktls_lifetime_jiffies(pool);
	before = pool->key_count;
	while (pool->key_count && qktls_slot(pool, pool->head, &r) &&
	       !time_before64(now, qktls_slot_added(&r) + life)) {
		h = qktls_table_find(pool, qktls_slot_id(pool, &r), &r);
		if (WARN_ON_ONCE(h < 0))
			break;
		qktls_pool_drop(pool, &r, h);
		qktls_pool_advance(pool);
		expired++;
	}
	if (expired) {
		pool->stats.keys_expired += expired;
		qktls_nl_pool_event(pool, QKTLS_CMD_KEYS_EXPIRED_NTF, expired);
		qktls_pool_keys_left(pool, before);
	}
	qktls_pool_arm_expiry(pool);
out:
	mutex_unlock(&pool->lock);
}

static struct qktls_pool *qktls_pool_find(struct qktls_net *qn,
					  const char *name)
{
	struct qktls_pool *pool;

	lockdep_assert_held(&qn->lock);
	hash_for_each_possible(qn->names, pool, name_node,
			       qktls_name_hash(name))
		if (!strcmp(pool->name, name))
			return pool;
	return NULL;
}

/**
 * qktls_pool_create() - create a pool in a namespace
 * @qn: the namespace's state
 * @name: the pool's name, checked by the caller
 * @p: its settings, checked by the caller
 * @poolp: the new pool, referenced (release with qktls_pool_put())
 *
 * Sends QKTLS_CMD_POOL_CREATED_NTF.
 *
 * Return: 0, -EEXIST if the name is taken, -ENOSPC if the namespace has
 * qktls_max_pools pools, -ENOMEM.
 */
int qktls_pool_create(struct qktls_net *qn, const char *name,
		      const struct qktls_pool_params *p,
		      struct qktls_pool **poolp)
{
	struct qktls_pool *pool;
	int err;

	pool = kmem_cache_zalloc(qktls_pool_cache, GFP_KERNEL_ACCOUNT);
	if (!pool)
		return -ENOMEM;
	refcount_set(&pool->refcnt, 1);
	pool->qn = qn;
	strscpy(pool->name, name, sizeof(pool->name));
	if (p->peer)
		strscpy(pool->peer, p->peer, sizeof(pool->peer));
	mutex_init(&pool->lock);
	pool->key_min_len = p->key_min_len;
	pool->key_max_len = p->key_max_len;
	pool->capacity = p->capacity;
	pool->low_watermark = p->low_watermark;
	pool->key_lifetime = p->key_lifetime;
	pool->rekey_bytes = p->rekey_bytes;
	pool->rekey_seconds = p->rekey_seconds;
	xa_init(&pool->blocks);
	pool->blk_slots = (QKTLS_BLOCK_SIZE - sizeof(struct qktls_block)) /
			  (QKTLS_SLOT_FIXED + p->key_max_len);
	pool->unit = DIV_ROUND_UP(QKTLS_BLOCK_SIZE, pool->blk_slots) +
		     2 * sizeof(*pool->table);
	pool->hash_seed = get_random_u32();
	INIT_DELAYED_WORK(&pool->expire_work, qktls_pool_expire);
	qktls_bucket_init(&pool->qkd_requests,
			  READ_ONCE(qktls_pool_qkd_rekey_burst));

	mutex_lock(&qn->lock);
	if (qktls_pool_find(qn, name)) {
		err = -EEXIST;
		goto fail;
	}
	if (qn->n_pools >= READ_ONCE(qktls_max_pools)) {
		err = -ENOSPC;
		goto fail;
	}
	err = xa_alloc_cyclic(&qn->pools, &pool->id, pool,
			      XA_LIMIT(1, INT_MAX), &qn->next_id,
			      GFP_KERNEL_ACCOUNT);
	if (err < 0)
		goto fail;
	hash_add(qn->names, &pool->name_node, qktls_name_hash(name));
	qn->n_pools++;
	refcount_inc(&pool->refcnt);
	qktls_nl_pool_event(pool, QKTLS_CMD_POOL_CREATED_NTF, 0);
	mutex_unlock(&qn->lock);
	*poolp = pool;
	return 0;

fail:
	mutex_unlock(&qn->lock);
	mutex_destroy(&pool->lock);
	kmem_cache_free(qktls_pool_cache, pool);
	return err;
}

/* Wipe every key of an unlinked pool and mark it dead. */
static void qktls_pool_kill(struct qktls_pool *pool)
{
	mutex_lock(&pool->lock);
	pool->dead = true;
	pool->stats.keys_dropped += qktls_pool_clear(pool);
	mutex_unlock(&pool->lock);
	cancel_delayed_work_sync(&pool->expire_work);
}

static void qktls_pool_unlink(struct qktls_net *qn, struct qktls_pool *pool)
{
	lockdep_assert_held(&qn->lock);
	hash_del(&pool->name_node);
	xa_erase(&qn->pools, pool->id);
	qn->n_pools--;
}

/**
 * qktls_pool_delete() - delete a pool and wipe its keys
 * @qn: the namespace's state
 * @name: the pool's name
 *
 * Holders of references keep a dead pool that has no keys and takes none.
 * Sends QKTLS_CMD_POOL_DELETED_NTF.
 *
 * Return: 0 or -ENOENT.
 */
int qktls_pool_delete(struct qktls_net *qn, const char *name)
{
	struct qktls_pool *pool;

	mutex_lock(&qn->lock);
	pool = qktls_pool_find(qn, name);
	if (!pool) {
		mutex_unlock(&qn->lock);
		return -ENOENT;
	}
	qktls_pool_unlink(qn, pool);
	qktls_pool_kill(pool);
	qktls_nl_pool_event(pool, QKTLS_CMD_POOL_DELETED_NTF, 0);
	mutex_unlock(&qn->lock);
	qktls_pool_put(pool);
	return 0;
}

/**
 * qktls_pool_get() - find a pool by name and reference it
 * @qn: the namespace's state
 * @name: the pool's name
 *
 * Return: the pool (release it with qktls_pool_put()), or NULL.
 */
struct qktls_pool *qktls_pool_get(struct qktls_net *qn, const char *name)
{
	struct qktls_pool *pool;

	mutex_lock(&qn->lock);
	pool = qktls_pool_find(qn, name);
	if (pool)
		refcount_inc(&pool->refcnt);
	mutex_unlock(&qn->lock);
	return pool;
}

/**
 * qktls_pool_put() - release a reference to a pool
 * @pool: the pool, or NULL
 */
void qktls_pool_put(struct qktls_pool *pool)
{
	if (pool && refcount_dec_and_test(&pool->refcnt)) {
		WARN_ON_ONCE(pool->key_count);
		xa_destroy(&pool->blocks);
		mutex_destroy(&pool->lock);
		kmem_cache_free(qktls_pool_cache, pool);
	}
}

/**
 * qktls_pool_set() - change a pool's settings, all or nothing
 * @pool: the pool
 * @p: the changes (the key length range is ignored)
 * @why: what was refused
 *
 * Return: 0, -ENOENT (deleted), -EBUSY (capacity below the keys held),
 * -EINVAL (low watermark not below capacity).
 */
int qktls_pool_set(struct qktls_pool *pool, const struct qktls_pool_params *p,
		   enum qktls_pool_err *why)
{
	u32 capacity, low;
	int err = 0;

	*why = QKTLS_ERR_NONE;
	mutex_lock(&pool->lock);
	if (pool->dead) {
		*why = QKTLS_ERR_DEAD;
		err = -ENOENT;
		goto out;
	}
	capacity = p->set_capacity ? p->capacity : pool->capacity;
	low = p->set_low_watermark ? p->low_watermark : pool->low_watermark;
	if (capacity < pool->key_count) {
		*why = QKTLS_ERR_BUSY;
		err = -EBUSY;
		goto out;
	}
	if (low >= capacity) {
		*why = QKTLS_ERR_WATERMARK;
		err = -EINVAL;
		goto out;
	}
	pool->capacity = capacity;
	pool->low_watermark = low;
	if (p->peer)
		strscpy(pool->peer, p->peer, sizeof(pool->peer));
	if (p->set_key_lifetime) {
		pool->key_lifetime = p->key_lifetime;
		qktls_pool_arm_expiry(pool);
	}
	if (p->set_rekey_bytes)
		pool->rekey_bytes = p->rekey_bytes;
	if (p->set_rekey_seconds)
		pool->rekey_seconds = p->rekey_seconds;
out:
	mutex_unlock(&pool->lock);
	return err;
}

/**
 * qktls_pool_batch_fits() - could a batch of @n keys fit in the pool at all?
 * @pool: the pool
 * @n: keys in the batch
 * @why: if not, why
 *
 * A cheap check before allocating for a batch; qktls_pool_add() checks
 * again, under the pool's lock, against the keys held.
 *
 * Return: 0, -ENOSPC (capacity) or -ENOMEM (memory limits).
 */
int qktls_pool_batch_fits(struct qktls_pool *pool, unsigned int n,
			  enum qktls_pool_err *why)
{
	u64 need = (u64)n * pool->unit;
	int err = 0;

	*why = QKTLS_ERR_NONE;
	mutex_lock(&pool->lock);
	if (n > pool->capacity) {
		*why = QKTLS_ERR_CAPACITY;
		err = -ENOSPC;
	} else if (need > READ_ONCE(qktls_pool_max_mem_bytes)) {
		*why = QKTLS_ERR_POOL_MEM;
		err = -ENOMEM;
	} else if (need > READ_ONCE(qktls_max_mem_bytes)) {
		*why = QKTLS_ERR_GLOBAL_MEM;
		err = -ENOMEM;
	}
	if (err)
		pool->stats.add_rejected++;
	mutex_unlock(&pool->lock);
	return err;
}

/* The slot for the next key, in a new block if need be. */
static int qktls_pool_new_slot(struct qktls_pool *pool, u64 now,
			       struct qktls_ref *r)
{
	struct qktls_block *blk;
	int err;

	if ((u32)pool->next_seq == QKTLS_NO_SLOT)
		pool->next_seq++;
	qktls_slot(pool, pool->next_seq, r);
	if (r->blk)
		return 0;
	blk = kmem_cache_zalloc(qktls_block_cache, GFP_KERNEL_ACCOUNT);
	if (!blk)
		return -ENOMEM;
	blk->base = now;
	err = xa_err(xa_store(&pool->blocks, r->nr, blk, GFP_KERNEL_ACCOUNT));
	if (err) {
		kmem_cache_free(qktls_block_cache, blk);
		return err;
	}
	r->blk = blk;
	return 0;
}

/* Copy @key into the next slot and index it. */
static int qktls_pool_fill(struct qktls_pool *pool, const struct qktls_key *key,
			   u64 now)
{
	struct qktls_ref r;
	int err;

	err = qktls_pool_new_slot(pool, now, &r);
	if (err)
		return err;
	if (key->has_index && !r.blk->index) {
		r.blk->index = kcalloc(pool->blk_slots, sizeof(u64),
				       GFP_KERNEL_ACCOUNT);
		if (!r.blk->index) {
			qktls_block_release(pool, &r);
			return -ENOMEM;
		}
	}
	*qktls_slot_time(&r) = now - r.blk->base;
	*qktls_slot_meta(pool, &r) = (key->len - 1) |
				     (key->has_index ? QKTLS_META_INDEX : 0);
	memcpy(qktls_slot_id(pool, &r), key->id, QKTLS_KEY_ID_LEN);
	memcpy(qktls_slot_material(pool, &r), key->material, key->len);
	if (key->has_index)
		r.blk->index[r.i] = key->index;
	r.blk->live++;
	r.blk->filled++;
	pool->key_count++;
	qktls_table_insert(pool, key->id, pool->next_seq++);
	return 0;
}

/* Take the first @n keys of a failed batch out again, as if never added. */
static void qktls_pool_unfill(struct qktls_pool *pool,
			      const struct qktls_key *keys, unsigned int n,
			      u64 next_seq)
{
	struct qktls_ref r;
	long h;

	while (n--) {
		h = qktls_table_find(pool, keys[n].id, &r);
		if (WARN_ON_ONCE(h < 0))
			continue;
		pool->key_count--;
		qktls_table_delete(pool, h);
		qktls_slot_wipe(pool, &r);
		r.blk->filled--;
		qktls_block_release(pool, &r);
	}
	pool->next_seq = next_seq;
}

/**
 * qktls_pool_add() - add a batch of keys to a pool, all or nothing
 * @pool: the pool
 * @keys: the keys, ID, length, material and index set; the pool copies
 *	them and the caller wipes its copies
 * @n: number of keys
 * @bad: on error, the index in @keys of the key at fault
 * @why: on error, what was refused
 *
 * Return: 0, -ENOENT (pool deleted), -EINVAL (length), -EEXIST (duplicate
 * ID), -ENOSPC (capacity), -ENOMEM (memory limits or out of memory).
 */
int qktls_pool_add(struct qktls_pool *pool, const struct qktls_key *keys,
		   unsigned int n, unsigned int *bad, enum qktls_pool_err *why)
{
	u64 need = (u64)n * pool->unit, limit, bytes = 0, now, next_seq;
	struct qktls_ref r;
	unsigned int i;
	bool was_empty;
	int err = 0;

	*bad = 0;
	*why = QKTLS_ERR_NONE;
	mutex_lock(&pool->lock);
	if (pool->dead) {
		*why = QKTLS_ERR_DEAD;
		err = -ENOENT;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (keys[i].len < pool->key_min_len ||
		    keys[i].len > pool->key_max_len) {
			*bad = i;
			*why = QKTLS_ERR_LEN;
			err = -EINVAL;
			goto out;
		}
		bytes += keys[i].len;
	}
	if ((u64)pool->key_count + n > pool->capacity) {
		*bad = pool->capacity - pool->key_count;
		*why = QKTLS_ERR_CAPACITY;
		err = -ENOSPC;
		goto out;
	}
	/* Room for the batch, a skip to a new block and one skipped number. */
	if (pool->next_seq - pool->head + n + pool->blk_slots + 1 >= U32_MAX) {
		*why = QKTLS_ERR_SPAN;
		err = -ENOSPC;
		goto out;
	}
	limit = READ_ONCE(qktls_pool_max_mem_bytes);
	if (pool->mem_bytes + need > limit) {
		*bad = limit > pool->mem_bytes ?
		       div_u64(limit - pool->mem_bytes, pool->unit) : 0;
		*why = QKTLS_ERR_POOL_MEM;
		err = -ENOMEM;
		goto out;
	}
	limit = READ_ONCE(qktls_max_mem_bytes);
	if (atomic64_add_return(need, &qktls_mem_used) > limit) {
		atomic64_sub(need, &qktls_mem_used);
		*why = QKTLS_ERR_GLOBAL_MEM;
		err = -ENOMEM;
		goto out;
	}
	err = qktls_table_reserve(pool, pool->key_count + n);
	if (err) {
		atomic64_sub(need, &qktls_mem_used);
		*why = QKTLS_ERR_NOMEM;
		goto out;
	}

	was_empty = !pool->key_count;
	next_seq = pool->next_seq;
	now = get_jiffies_64();
	/* A block's times are 32-bit offsets: past that, start a new block. */
	qktls_slot(pool, pool->next_seq, &r);
	if (r.blk && now - r.blk->base > U32_MAX)
		pool->next_seq = (u64)(r.nr + 1) * pool->blk_slots;
	for (i = 0; i < n; i++) {
		if (qktls_table_find(pool, keys[i].id, &r) >= 0) {
			*why = QKTLS_ERR_DUP;
			err = -EEXIST;
		} else {
			err = qktls_pool_fill(pool, &keys[i], now);
			if (err)
				*why = QKTLS_ERR_NOMEM;
		}
		if (err) {
			qktls_pool_unfill(pool, keys, i, next_seq);
			atomic64_sub(need, &qktls_mem_used);
			*bad = i;
			goto out;
		}
	}
	pool->key_bytes += bytes;
	pool->mem_bytes += need;
	pool->stats.keys_added += n;
	pool->stats.bytes_added += bytes;
	if (was_empty) {
		qktls_pool_advance(pool);
		qktls_pool_arm_expiry(pool);
	}
out:
	if (err)
		pool->stats.add_rejected++;
	mutex_unlock(&pool->lock);
	return err;
}

/**
 * qktls_pool_del_keys() - delete keys by ID, all or nothing
 * @pool: the pool
 * @ids: the IDs, @n times QKTLS_KEY_ID_LEN bytes
 * @n: number of IDs
 * @bad: on error, the index in @ids at fault, or @n if the pool was deleted
 *
 * Return: 0, -ENOENT (pool deleted, or an ID it does not hold), -EINVAL
 * (an ID named twice).
 */
int qktls_pool_del_keys(struct qktls_pool *pool, const u8 *ids,
			unsigned int n, unsigned int *bad)
{
	struct qktls_ref r;
	unsigned int i, j;
	u32 before;
	int err = 0;
	long h;

	*bad = n;
	mutex_lock(&pool->lock);
	if (pool->dead) {
		err = -ENOENT;
		goto out;
	}
	for (i = 0; i < n; i++) {
		h = qktls_table_find(pool, ids + i * QKTLS_KEY_ID_LEN, &r);
		if (h < 0 || *qktls_slot_meta(pool, &r) & QKTLS_META_DOOMED) {
			*bad = i;
			err = h < 0 ? -ENOENT : -EINVAL;
			for (j = 0; j < i; j++) {
				qktls_table_find(pool,
						 ids + j * QKTLS_KEY_ID_LEN, &r);
				*qktls_slot_meta(pool, &r) &= ~QKTLS_META_DOOMED;
			}
			goto out;
		}
		*qktls_slot_meta(pool, &r) |= QKTLS_META_DOOMED;
	}
	before = pool->key_count;
	for (i = 0; i < n; i++) {
		h = qktls_table_find(pool, ids + i * QKTLS_KEY_ID_LEN, &r);
		qktls_pool_drop(pool, &r, h);
	}
	pool->stats.keys_dropped += n;
	qktls_pool_keys_left(pool, before);
out:
	mutex_unlock(&pool->lock);
	return err;
}

/**
 * qktls_pool_flush() - delete every key of a pool
 * @pool: the pool
 *
 * Return: 0 or -ENOENT (pool deleted).
 */
int qktls_pool_flush(struct qktls_pool *pool)
{
	u32 before;

	mutex_lock(&pool->lock);
	if (pool->dead) {
		mutex_unlock(&pool->lock);
		return -ENOENT;
	}
	before = qktls_pool_clear(pool);
	pool->stats.keys_dropped += before;
	qktls_pool_keys_left(pool, before);
	mutex_unlock(&pool->lock);
	return 0;
}

/**
 * qktls_pool_take() - consume one key of a pool, exactly once
 * @pool: the pool
 * @id: the ID of the key to take, or NULL for the oldest key
 * @out: the key taken; the caller wipes it with qktls_key_wipe()
 *
 * The key leaves the pool and its pool memory is wiped; of concurrent
 * takers of the same key, exactly one gets it.  May sleep.  Sends
 * QKTLS_CMD_POOL_LOW_NTF and QKTLS_CMD_POOL_EMPTY_NTF when the pool
 * crosses its low watermark or runs empty.
 *
 * Return: 0, or -ENOENT if the pool holds no such key or was deleted.
 */
int qktls_pool_take(struct qktls_pool *pool, const u8 *id,
		    struct qktls_key *out)
{
	struct qktls_ref r;
	u32 before;
	int err = 0;
	long h = -1;

	mutex_lock(&pool->lock);
	if (pool->dead) {
		err = -ENOENT;
		goto out;
	}
	if (id)
		h = qktls_table_find(pool, id, &r);
	else if (qktls_slot(pool, pool->head, &r))
		h = qktls_table_find(pool, qktls_slot_id(pool, &r), &r);
	if (h < 0) {
		err = -ENOENT;
		goto out;
	}
	before = pool->key_count;
	memcpy(out->id, qktls_slot_id(pool, &r), sizeof(out->id));
	out->has_index = *qktls_slot_meta(pool, &r) & QKTLS_META_INDEX;
	out->index = out->has_index ? r.blk->index[r.i] : 0;
	out->len = qktls_slot_len(pool, &r);
	memcpy(out->material, qktls_slot_material(pool, &r), out->len);
	pool->stats.keys_consumed++;
	pool->stats.bytes_consumed += out->len;
	qktls_pool_drop(pool, &r, h);
	qktls_pool_keys_left(pool, before);
out:
	mutex_unlock(&pool->lock);
	return err;
}

/**
 * qktls_pool_charge_request() - let a caller's QKD rekey take a key?
 * @pool: a TX pool
 * @extack: why not
 *
 * A QKD rekey that a caller asks for (rather than the socket's policy or
 * the peer) counts against the pool's rate limit
 * (qktls.pool_qkd_rekeys_per_min and qktls.pool_qkd_rekey_burst), so the
 * applications of one link cannot drain the keys its sockets share.
 *
 * Return: 0, or -EBUSY (over the limit).
 */
int qktls_pool_charge_request(struct qktls_pool *pool,
			      struct netlink_ext_ack *extack)
{
	int err = 0;

	mutex_lock(&pool->lock);
	if (!qktls_bucket_take(&pool->qkd_requests,
			       READ_ONCE(qktls_pool_qkd_rekeys_per_min),
			       READ_ONCE(qktls_pool_qkd_rekey_burst))) {
		NL_SET_ERR_MSG_FMT(extack,
				   "TX pool over pool_qkd_rekeys_per_min (%u), burst %u",
				   READ_ONCE(qktls_pool_qkd_rekeys_per_min),
				   READ_ONCE(qktls_pool_qkd_rekey_burst));
		err = -EBUSY;
	}
	mutex_unlock(&pool->lock);
	return err;
}

/**
 * qktls_pool_next_key() - the oldest key from an arrival number on
 * @pool: the pool, locked by the caller
 * @seq: the arrival number to start from; set to the key's
 * @meta: what may be shown of the key
 *
 * Dumps resume by arrival number: keys keep theirs while they are pooled.
 *
 * Return: true, or false if the pool holds no key from @seq on.
 */
bool qktls_pool_next_key(struct qktls_pool *pool, u64 *seq,
			 struct qktls_key_meta *meta)
{
	struct qktls_ref r;

	lockdep_assert_held(&pool->lock);
	if (!qktls_slot_from(pool, max(*seq, pool->head), &r))
		return false;
	*seq = qktls_ref_seq(pool, &r);
	memcpy(meta->id, qktls_slot_id(pool, &r), sizeof(meta->id));
	meta->has_index = *qktls_slot_meta(pool, &r) & QKTLS_META_INDEX;
	meta->index = meta->has_index ? r.blk->index[r.i] : 0;
	meta->len = qktls_slot_len(pool, &r);
	meta->added = qktls_slot_added(&r);
	return true;
}

/**
 * qktls_net_totals() - sum the pools of a namespace
 * @qn: the namespace's state
 * @t: the totals
 */
void qktls_net_totals(struct qktls_net *qn, struct qktls_net_totals *t)
{
	struct qktls_pool *pool;
	unsigned long id;

	memset(t, 0, sizeof(*t));
	mutex_lock(&qn->lock);
	xa_for_each(&qn->pools, id, pool) {
		mutex_lock(&pool->lock);
		t->pools++;
		t->keys += pool->key_count;
		t->key_bytes += pool->key_bytes;
		t->mem_bytes += pool->mem_bytes;
		t->stats.keys_added += pool->stats.keys_added;
		t->stats.keys_consumed += pool->stats.keys_consumed;
		t->stats.keys_expired += pool->stats.keys_expired;
		t->stats.keys_dropped += pool->stats.keys_dropped;
		t->stats.bytes_added += pool->stats.bytes_added;
		t->stats.bytes_consumed += pool->stats.bytes_consumed;
		t->stats.add_rejected += pool->stats.add_rejected;
		t->stats.low_events += pool->stats.low_events;
		t->stats.empty_events += pool->stats.empty_events;
		mutex_unlock(&pool->lock);
	}
	mutex_unlock(&qn->lock);
}

static int __net_init qktls_net_init(struct net *net)
{
	struct qktls_net *qn = qktls_net(net);

	qn->net = net;
	mutex_init(&qn->lock);
	xa_init_flags(&qn->pools, XA_FLAGS_ALLOC1);
	hash_init(qn->names);
	qn->next_id = 1;
	qktls_socks_net_init(qn);
	return 0;
}

static void __net_exit qktls_net_exit(struct net *net)
{
	struct qktls_net *qn = qktls_net(net);
	struct qktls_pool *pool;
	unsigned long id;

	/* The sockets first: they hold references to pools. */
	qktls_socks_net_exit(qn);
	mutex_lock(&qn->lock);
	xa_for_each(&qn->pools, id, pool) {
		qktls_pool_unlink(qn, pool);
		qktls_pool_kill(pool);
		qktls_pool_put(pool);
	}
	mutex_unlock(&qn->lock);
	xa_destroy(&qn->pools);
	mutex_destroy(&qn->lock);
}

static struct pernet_operations qktls_net_ops = {
	.init = qktls_net_init,
	.exit = qktls_net_exit,
	.id = &qktls_net_id,
	.size = sizeof(struct qktls_net),
};

/**
 * qktls_pool_init() - set up pools: object caches and per-namespace state
 *
 * Key blocks and pools come from caches of their own, never merged with others,
 * so that /proc/slabinfo shows them and unloading the module with an
 * object left warns.
 *
 * Return: 0 or a negative errno.
 */
int qktls_pool_init(void)
{
	int err = -ENOMEM;

	BUILD_BUG_ON(QKTLS_KEY_MIN_LEN < 2 ||
		     QKTLS_KEY_MAX_LEN - 1 > QKTLS_META_LEN);
	qktls_block_cache = kmem_cache_create("qktls_keyblk", QKTLS_BLOCK_SIZE,
					      8, SLAB_NO_MERGE, NULL);
	qktls_pool_cache = kmem_cache_create("qktls_pool",
					     sizeof(struct qktls_pool), 0,
					     SLAB_NO_MERGE, NULL);
	if (qktls_block_cache && qktls_pool_cache)
		err = register_pernet_subsys(&qktls_net_ops);
	if (err) {
		kmem_cache_destroy(qktls_pool_cache);
		kmem_cache_destroy(qktls_block_cache);
	}
	return err;
}

/**
 * qktls_pool_exit() - wipe every pool of every namespace and free the cache
 */
void qktls_pool_exit(void)
{
	unregister_pernet_subsys(&qktls_net_ops);
	WARN_ON(atomic64_read(&qktls_mem_used));
	kmem_cache_destroy(qktls_pool_cache);
	kmem_cache_destroy(qktls_block_cache);
}
