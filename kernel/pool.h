/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktls: per-network-namespace pools of QKD keys.
 *
 * Locking: qktls_net.lock (a mutex) guards the set of pools of a namespace;
 * qktls_pool.lock (a mutex) guards one pool's keys, settings and counters.
 * The order is qktls_net.lock, then qktls_pool.lock.  Every function here
 * may sleep.
 */
#ifndef _QKTLS_POOL_H
#define _QKTLS_POOL_H

#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/qktls.h>

#include "bucket.h"

struct net;

/* Module parameters (main.c). */
extern unsigned long qktls_max_mem_bytes;
extern unsigned long qktls_pool_max_mem_bytes;
extern unsigned int qktls_max_pools;
extern unsigned int qktls_pool_qkd_rekeys_per_min;
extern unsigned int qktls_pool_qkd_rekey_burst;

#define QKTLS_POOL_NAME_BITS	8
#define QKTLS_SOCK_ID_BITS	8

/**
 * struct qktls_net - qktls state of one network namespace
 * @net: the namespace
 * @lock: guards @pools, @names and @n_pools
 * @pools: pools by ID (resumable dumps walk it in ID order)
 * @names: pools by name
 * @n_pools: number of pools
 * @next_id: cursor for cyclic pool ID allocation
 * @sock_lock: guards @socks, @sock_ids, @n_socks and @sock_next_seq
 * @socks: attached sockets (struct qktls_sock), in attach order
 * @sock_ids: attached sockets by socket cookie
 * @n_socks: number of attached sockets
 * @sock_next_seq: attach number of the next socket
 * @sock_work: reaps closed sockets and applies the rekey policies
 *
 * Attached sockets (kernel/sock.c) hang off this structure too, so that
 * they go away with the namespace.
 */
struct qktls_net {
	struct net *net;
	struct mutex lock; /* pools of the namespace */
	struct xarray pools;
	DECLARE_HASHTABLE(names, QKTLS_POOL_NAME_BITS);
	unsigned int n_pools;
	u32 next_id;

	struct mutex sock_lock; /* attached sockets of the namespace */
	struct list_head socks;
	DECLARE_HASHTABLE(sock_ids, QKTLS_SOCK_ID_BITS);
	unsigned int n_socks;
	u64 sock_next_seq;
	struct delayed_work sock_work;
};

/**
 * struct qktls_pool_stats - a pool's counters, see enum qktls_stats_attrs
 * @keys_added: keys accepted
 * @keys_consumed: keys taken
 * @keys_expired: keys wiped because they outlived the lifetime
 * @keys_dropped: keys deleted or flushed unused
 * @bytes_added: key bytes accepted
 * @bytes_consumed: key bytes taken
 * @add_rejected: KEY_ADD batches refused
 * @low_events: crossings below the low watermark
 * @empty_events: times the pool ran empty
 */
struct qktls_pool_stats {
	u64 keys_added;
	u64 keys_consumed;
	u64 keys_expired;
	u64 keys_dropped;
	u64 bytes_added;
	u64 bytes_consumed;
	u64 add_rejected;
	u64 low_events;
	u64 empty_events;
};

/**
 * struct qktls_pool - the keys of one peer link
 * @refcnt: references (the namespace's table holds one while linked)
 * @qn: the namespace's state
 * @id: number in the namespace, never 0
 * @name: name, unique in the namespace
 * @peer: peer link identity, may be empty
 * @name_node: link in qktls_net.names
 * @lock: guards everything below
 * @dead: deleted; holds no keys and accepts none
 * @key_min_len: shortest key accepted, bytes
 * @key_max_len: longest key accepted, bytes; the width of a slot's material
 * @capacity: most keys held
 * @low_watermark: below this many keys, an event tells the feeders
 * @key_lifetime: seconds a key may wait, 0 = forever
 * @rekey_bytes: rekey policy of sockets attached with this TX pool, 0 = none
 * @rekey_seconds: likewise, seconds
 * @blocks: the key blocks (struct qktls_block) by block number, that is a
 *	key's arrival number divided by @blk_slots
 * @blk_slots: key slots in a block
 * @unit: bytes charged for each filled slot
 * @head: arrival number of the oldest key; @next_seq when there is none
 * @next_seq: arrival number of the next key
 * @table: open-addressing hash table of the keys by ID: each entry is the
 *	low 32 bits of a key's arrival number, or QKTLS_NO_SLOT
 * @table_size: entries in @table; 0 when the pool is empty
 * @hash_seed: seed of the ID hash
 * @key_count: keys held
 * @key_bytes: key material held, bytes
 * @mem_bytes: kernel memory charged for the keys, bytes
 * @stats: counters
 * @expire_work: wipes keys that outlived @key_lifetime
 * @qkd_requests: rate limit of the QKD rekeys its sockets' callers ask for
 *
 * See Documentation/qktls/pools.rst, "Memory layout".
 */
struct qktls_pool {
	refcount_t refcnt;
	struct qktls_net *qn;
	u32 id;
	char name[QKTLS_POOL_NAME_MAX];
	char peer[QKTLS_PEER_MAX];
	struct hlist_node name_node;

	struct mutex lock; /* keys, settings, counters */
	bool dead;
	u32 key_min_len;
	u32 key_max_len;
	u32 capacity;
	u32 low_watermark;
	u32 key_lifetime;
	u64 rekey_bytes;
	u32 rekey_seconds;
	struct xarray blocks;
	u32 blk_slots;
	u32 unit;
	u64 head;
	u64 next_seq;
	u32 *table;
	u32 table_size;
	u32 hash_seed;
	u32 key_count;
	u64 key_bytes;
	u64 mem_bytes;
	struct qktls_pool_stats stats;
	struct delayed_work expire_work;
	struct qktls_bucket qkd_requests;
};

/**
 * struct qktls_key - one QKD key outside any pool
 * @id: the key's ID
 * @index: position in an ETSI 004 key stream, if @has_index
 * @len: length of @material
 * @has_index: @index is set
 * @material: the key; whoever holds it wipes it with qktls_key_wipe()
 *
 * What qktls_pool_add() copies into a pool and qktls_pool_take() copies
 * out of one.
 */
struct qktls_key {
	u8 id[QKTLS_KEY_ID_LEN];
	u64 index;
	u8 len;
	bool has_index;
	u8 material[QKTLS_KEY_MAX_LEN];
};

/**
 * struct qktls_key_meta - what a dump shows of a pooled key (no material)
 * @id: the key's ID
 * @index: position in an ETSI 004 key stream, if @has_index
 * @added: arrival time, jiffies
 * @len: length of the key
 * @has_index: @index is set
 */
struct qktls_key_meta {
	u8 id[QKTLS_KEY_ID_LEN];
	u64 index;
	u64 added;
	u8 len;
	bool has_index;
};

/**
 * struct qktls_pool_params - settings of a new pool, or changes to one
 * @peer: peer identity, or NULL to leave it
 * @key_min_len: shortest key, bytes
 * @key_max_len: longest key, bytes
 * @capacity: most keys
 * @low_watermark: low watermark, keys
 * @key_lifetime: seconds, 0 = forever
 * @rekey_bytes: rekey policy, bytes, 0 = none
 * @rekey_seconds: rekey policy, seconds, 0 = none
 * @set_capacity: qktls_pool_set() changes @capacity
 * @set_low_watermark: qktls_pool_set() changes @low_watermark
 * @set_key_lifetime: qktls_pool_set() changes @key_lifetime
 * @set_rekey_bytes: qktls_pool_set() changes @rekey_bytes
 * @set_rekey_seconds: qktls_pool_set() changes @rekey_seconds
 */
struct qktls_pool_params {
	const char *peer;
	u32 key_min_len;
	u32 key_max_len;
	u32 capacity;
	u32 low_watermark;
	u32 key_lifetime;
	u64 rekey_bytes;
	u32 rekey_seconds;
	bool set_capacity;
	bool set_low_watermark;
	bool set_key_lifetime;
	bool set_rekey_bytes;
	bool set_rekey_seconds;
};

/**
 * enum qktls_pool_err - what qktls_pool_add() or qktls_pool_set() refused
 * @QKTLS_ERR_NONE: nothing
 * @QKTLS_ERR_DEAD: the pool was deleted meanwhile
 * @QKTLS_ERR_LEN: a key's length is outside the pool's range
 * @QKTLS_ERR_DUP: a key's ID is in the pool or earlier in the batch
 * @QKTLS_ERR_CAPACITY: the pool has no room for the key
 * @QKTLS_ERR_POOL_MEM: the pool's memory limit would be passed
 * @QKTLS_ERR_GLOBAL_MEM: the global memory limit would be passed
 * @QKTLS_ERR_NOMEM: the kernel is out of memory
 * @QKTLS_ERR_BUSY: the new capacity is below the keys held
 * @QKTLS_ERR_WATERMARK: the low watermark is not below the capacity
 * @QKTLS_ERR_SPAN: the oldest key is nearly 2^32 arrivals older than the
 *	newest
 */
enum qktls_pool_err {
	QKTLS_ERR_NONE,
	QKTLS_ERR_DEAD,
	QKTLS_ERR_LEN,
	QKTLS_ERR_DUP,
	QKTLS_ERR_CAPACITY,
	QKTLS_ERR_POOL_MEM,
	QKTLS_ERR_GLOBAL_MEM,
	QKTLS_ERR_NOMEM,
	QKTLS_ERR_BUSY,
	QKTLS_ERR_WATERMARK,
	QKTLS_ERR_SPAN,
};

/**
 * struct qktls_net_totals - sums over the pools of a namespace
 * @pools: pools
 * @keys: keys held
 * @key_bytes: key material held, bytes
 * @mem_bytes: kernel memory charged for the keys, bytes
 * @stats: counters summed
 */
struct qktls_net_totals {
	u32 pools;
	u32 keys;
	u64 key_bytes;
	u64 mem_bytes;
	struct qktls_pool_stats stats;
};

int qktls_pool_init(void);
void qktls_pool_exit(void);
struct qktls_net *qktls_net(const struct net *net);
u64 qktls_mem_used_bytes(void);
void qktls_net_totals(struct qktls_net *qn, struct qktls_net_totals *t);

int qktls_pool_create(struct qktls_net *qn, const char *name,
		      const struct qktls_pool_params *p,
		      struct qktls_pool **poolp);
int qktls_pool_delete(struct qktls_net *qn, const char *name);
struct qktls_pool *qktls_pool_get(struct qktls_net *qn, const char *name);
void qktls_pool_put(struct qktls_pool *pool);
int qktls_pool_set(struct qktls_pool *pool, const struct qktls_pool_params *p,
		   enum qktls_pool_err *why);
int qktls_pool_batch_fits(struct qktls_pool *pool, unsigned int n,
			  enum qktls_pool_err *why);
int qktls_pool_add(struct qktls_pool *pool, const struct qktls_key *keys,
		   unsigned int n, unsigned int *bad, enum qktls_pool_err *why);
int qktls_pool_del_keys(struct qktls_pool *pool, const u8 *ids,
			unsigned int n, unsigned int *bad);
int qktls_pool_flush(struct qktls_pool *pool);
int qktls_pool_charge_request(struct qktls_pool *pool,
			      struct netlink_ext_ack *extack);
int qktls_pool_take(struct qktls_pool *pool, const u8 *id,
		    struct qktls_key *out);
bool qktls_pool_next_key(struct qktls_pool *pool, u64 *seq,
			 struct qktls_key_meta *meta);
void qktls_key_wipe(struct qktls_key *key);

#endif /* _QKTLS_POOL_H */
