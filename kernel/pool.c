// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: per-network-namespace pools of QKD keys.
 *
 * A pool keeps its keys on a list in arrival order and in a hash table by
 * ID.  Every change happens under the pool's mutex, so a key leaves its
 * pool exactly once, and events come out in the order the changes were
 * made.  Key memory is wiped whenever a key leaves, whatever the reason.
 */

#include <linux/atomic.h>
#include <linux/jhash.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "netlink.h"
#include "pool.h"
#include "sock.h"

static struct kmem_cache *qktls_key_cache;
static struct kmem_cache *qktls_pool_cache;
static unsigned int qktls_net_id;
static atomic64_t qktls_mem_used = ATOMIC64_INIT(0);

/* Largest hash table a pool may get, in buckets. */
#define QKTLS_MAX_BUCKETS	BIT(24)

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
 * qktls_key_mem_size() - kernel memory charged for one pooled key
 *
 * The key object itself plus its share of the hash table (at most two
 * buckets per key).
 *
 * Return: bytes.
 */
size_t qktls_key_mem_size(void)
{
	return kmem_cache_size(qktls_key_cache) + 2 * sizeof(struct hlist_head);
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
 * qktls_key_alloc() - allocate a zeroed key object
 *
 * Return: the key, or NULL.  Free it with qktls_key_free().
 */
struct qktls_key *qktls_key_alloc(void)
{
	return kmem_cache_zalloc(qktls_key_cache, GFP_KERNEL_ACCOUNT);
}

/**
 * qktls_key_free() - wipe and free a key object not in any pool
 * @key: the key, or NULL
 */
void qktls_key_free(struct qktls_key *key)
{
	if (!key)
		return;
	memzero_explicit(key->material, sizeof(key->material));
	kmem_cache_free(qktls_key_cache, key);
}

/**
 * qktls_taken_key_wipe() - wipe a key returned by qktls_pool_take()
 * @key: the key
 */
void qktls_taken_key_wipe(struct qktls_taken_key *key)
{
	memzero_explicit(key, sizeof(*key));
}

static u32 qktls_name_hash(const char *name)
{
	return jhash(name, strlen(name), 0);
}

static struct hlist_head *qktls_bucket(const struct qktls_pool *pool,
				       const u8 *id)
{
	u32 h = jhash(id, QKTLS_KEY_ID_LEN, pool->hash_seed);

	return &pool->buckets[h & (pool->n_buckets - 1)];
}

static struct qktls_key *qktls_key_find(const struct qktls_pool *pool,
					const u8 *id)
{
	struct qktls_key *key;

	if (!pool->n_buckets)
		return NULL;
	hlist_for_each_entry(key, qktls_bucket(pool, id), hnode)
		if (!memcmp(key->id, id, QKTLS_KEY_ID_LEN))
			return key;
	return NULL;
}

/* Make the hash table big enough for @want keys; nothing changes on error. */
static int qktls_pool_grow(struct qktls_pool *pool, u32 want)
{
	struct hlist_head *buckets;
	struct qktls_key *key;
	u32 size;

	if (want <= pool->n_buckets)
		return 0;
	if (want > QKTLS_MAX_BUCKETS)
		return -ENOMEM;
	size = max_t(u32, 16, roundup_pow_of_two(want));
	buckets = kvcalloc(size, sizeof(*buckets), GFP_KERNEL_ACCOUNT);
	if (!buckets)
		return -ENOMEM;
	kvfree(pool->buckets);
	pool->buckets = buckets;
	pool->n_buckets = size;
	list_for_each_entry(key, &pool->keys, list)
		hlist_add_head(&key->hnode, qktls_bucket(pool, key->id));
	return 0;
}

/* Take @key off its pool's list and table and uncharge it; not freed. */
static void qktls_pool_unlink_key(struct qktls_pool *pool,
				  struct qktls_key *key)
{
	size_t unit = qktls_key_mem_size();

	hlist_del(&key->hnode);
	list_del(&key->list);
	pool->key_count--;
	pool->key_bytes -= key->len;
	pool->mem_bytes -= unit;
	atomic64_sub(unit, &qktls_mem_used);
}

/* After keys left: free the table of an empty pool and tell the feeders. */
static void qktls_pool_keys_left(struct qktls_pool *pool, u32 before)
{
	if (!pool->key_count) {
		kvfree(pool->buckets);
		pool->buckets = NULL;
		pool->n_buckets = 0;
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

/* Schedule the expiry of the oldest key, if keys expire. */
static void qktls_pool_arm_expiry(struct qktls_pool *pool)
{
	struct qktls_key *oldest;
	u64 deadline, now;

	if (!pool->key_lifetime || pool->dead)
		return;
	oldest = list_first_entry_or_null(&pool->keys, struct qktls_key, list);
	if (!oldest)
		return;
	deadline = oldest->added + qktls_lifetime_jiffies(pool);
	now = get_jiffies_64();
	mod_delayed_work(system_dfl_wq, &pool->expire_work,
			 time_after64(deadline, now) ?
			 min_t(u64, deadline - now, MAX_JIFFY_OFFSET) : 0);
}

static void qktls_pool_expire(struct work_struct *work)
{
	struct qktls_pool *pool = container_of(to_delayed_work(work),
					       struct qktls_pool, expire_work);
	struct qktls_key *key, *tmp;
	u32 before, expired = 0;
	u64 now, life;

	mutex_lock(&pool->lock);
	if (pool->dead || !pool->key_lifetime)
		goto out;
	now = get_jiffies_64();
	life = qktls_lifetime_jiffies(pool);
	before = pool->key_count;
	list_for_each_entry_safe(key, tmp, &pool->keys, list) {
		if (time_before64(now, key->added + life))
			break;
		qktls_pool_unlink_key(pool, key);
		qktls_key_free(key);
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
	INIT_LIST_HEAD(&pool->keys);
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
	struct qktls_key *key, *tmp;
	u64 mem;

	mutex_lock(&pool->lock);
	pool->dead = true;
	mem = pool->mem_bytes;
	list_for_each_entry_safe(key, tmp, &pool->keys, list) {
		list_del(&key->list);
		qktls_key_free(key);
	}
	pool->stats.keys_dropped += pool->key_count;
	pool->key_count = 0;
	pool->key_bytes = 0;
	pool->mem_bytes = 0;
	atomic64_sub(mem, &qktls_mem_used);
	kvfree(pool->buckets);
	pool->buckets = NULL;
	pool->n_buckets = 0;
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
	u64 need = (u64)n * qktls_key_mem_size();
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

/**
 * qktls_pool_add() - add a batch of keys to a pool, all or nothing
 * @pool: the pool
 * @keys: the keys, from qktls_key_alloc(), with ID, length, material and
 *	index set
 * @n: number of keys
 * @bad: on error, the index in @keys of the key at fault
 * @why: on error, what was refused
 *
 * On success the pool owns the keys; on error the caller still does.
 *
 * Return: 0, -ENOENT (pool deleted), -EINVAL (length), -EEXIST (duplicate
 * ID), -ENOSPC (capacity), -ENOMEM (memory limits or out of memory).
 */
int qktls_pool_add(struct qktls_pool *pool, struct qktls_key **keys,
		   unsigned int n, unsigned int *bad, enum qktls_pool_err *why)
{
	size_t unit = qktls_key_mem_size();
	u64 need = (u64)n * unit, limit, bytes = 0, now;
	unsigned int i, j;
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
		if (keys[i]->len < pool->key_min_len ||
		    keys[i]->len > pool->key_max_len) {
			*bad = i;
			*why = QKTLS_ERR_LEN;
			err = -EINVAL;
			goto out;
		}
		bytes += keys[i]->len;
	}
	if ((u64)pool->key_count + n > pool->capacity) {
		*bad = pool->capacity - pool->key_count;
		*why = QKTLS_ERR_CAPACITY;
		err = -ENOSPC;
		goto out;
	}
	limit = READ_ONCE(qktls_pool_max_mem_bytes);
	if (pool->mem_bytes + need > limit) {
		*bad = limit > pool->mem_bytes ?
		       div_u64(limit - pool->mem_bytes, unit) : 0;
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
	err = qktls_pool_grow(pool, pool->key_count + n);
	if (err) {
		atomic64_sub(need, &qktls_mem_used);
		*why = QKTLS_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (qktls_key_find(pool, keys[i]->id)) {
			for (j = 0; j < i; j++)
				hlist_del(&keys[j]->hnode);
			atomic64_sub(need, &qktls_mem_used);
			*bad = i;
			*why = QKTLS_ERR_DUP;
			err = -EEXIST;
			goto out;
		}
		hlist_add_head(&keys[i]->hnode, qktls_bucket(pool, keys[i]->id));
	}

	was_empty = list_empty(&pool->keys);
	now = get_jiffies_64();
	for (i = 0; i < n; i++) {
		keys[i]->seq = pool->next_seq++;
		keys[i]->added = now;
		list_add_tail(&keys[i]->list, &pool->keys);
	}
	pool->key_count += n;
	pool->key_bytes += bytes;
	pool->mem_bytes += need;
	pool->stats.keys_added += n;
	pool->stats.bytes_added += bytes;
	if (was_empty)
		qktls_pool_arm_expiry(pool);
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
	struct qktls_key *key;
	unsigned int i, j;
	u32 before;
	int err = 0;

	*bad = n;
	mutex_lock(&pool->lock);
	if (pool->dead) {
		err = -ENOENT;
		goto out;
	}
	for (i = 0; i < n; i++) {
		key = qktls_key_find(pool, ids + i * QKTLS_KEY_ID_LEN);
		if (!key || key->doomed) {
			*bad = i;
			err = key ? -EINVAL : -ENOENT;
			for (j = 0; j < i; j++) {
				key = qktls_key_find(pool,
						     ids + j * QKTLS_KEY_ID_LEN);
				key->doomed = false;
			}
			goto out;
		}
		key->doomed = true;
	}
	before = pool->key_count;
	for (i = 0; i < n; i++) {
		key = qktls_key_find(pool, ids + i * QKTLS_KEY_ID_LEN);
		qktls_pool_unlink_key(pool, key);
		qktls_key_free(key);
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
	struct qktls_key *key, *tmp;
	u32 before;

	mutex_lock(&pool->lock);
	if (pool->dead) {
		mutex_unlock(&pool->lock);
		return -ENOENT;
	}
	before = pool->key_count;
	list_for_each_entry_safe(key, tmp, &pool->keys, list) {
		qktls_pool_unlink_key(pool, key);
		qktls_key_free(key);
	}
	pool->stats.keys_dropped += before;
	qktls_pool_keys_left(pool, before);
	mutex_unlock(&pool->lock);
	return 0;
}

/**
 * qktls_pool_take() - consume one key of a pool, exactly once
 * @pool: the pool
 * @id: the ID of the key to take, or NULL for the oldest key
 * @out: the key taken; the caller wipes it with qktls_taken_key_wipe()
 *
 * The key leaves the pool and its pool memory is wiped; of concurrent
 * takers of the same key, exactly one gets it.  May sleep.  Sends
 * QKTLS_CMD_POOL_LOW_NTF and QKTLS_CMD_POOL_EMPTY_NTF when the pool
 * crosses its low watermark or runs empty.
 *
 * Return: 0, or -ENOENT if the pool holds no such key or was deleted.
 */
int qktls_pool_take(struct qktls_pool *pool, const u8 *id,
		    struct qktls_taken_key *out)
{
	struct qktls_key *key;
	u32 before;
	int err = 0;

	mutex_lock(&pool->lock);
	if (pool->dead) {
		err = -ENOENT;
		goto out;
	}
	key = id ? qktls_key_find(pool, id) :
		   list_first_entry_or_null(&pool->keys, struct qktls_key, list);
	if (!key) {
		err = -ENOENT;
		goto out;
	}
	before = pool->key_count;
	qktls_pool_unlink_key(pool, key);
	memcpy(out->id, key->id, sizeof(out->id));
	out->index = key->index;
	out->has_index = key->has_index;
	out->len = key->len;
	memcpy(out->material, key->material, key->len);
	pool->stats.keys_consumed++;
	pool->stats.bytes_consumed += key->len;
	qktls_key_free(key);
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
 * Keys and pools come from caches of their own, never merged with others,
 * so that /proc/slabinfo shows them and unloading the module with an
 * object left warns.
 *
 * Return: 0 or a negative errno.
 */
int qktls_pool_init(void)
{
	int err = -ENOMEM;

	qktls_key_cache = kmem_cache_create("qktls_key",
					    sizeof(struct qktls_key), 0,
					    SLAB_NO_MERGE, NULL);
	qktls_pool_cache = kmem_cache_create("qktls_pool",
					     sizeof(struct qktls_pool), 0,
					     SLAB_NO_MERGE, NULL);
	if (qktls_key_cache && qktls_pool_cache)
		err = register_pernet_subsys(&qktls_net_ops);
	if (err) {
		kmem_cache_destroy(qktls_pool_cache);
		kmem_cache_destroy(qktls_key_cache);
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
	kmem_cache_destroy(qktls_key_cache);
}
