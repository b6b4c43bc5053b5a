/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qktls: QKD key pools for kernel TLS.
 *
 * Documentation/netlink/specs/qktls.yaml describes the same family in the
 * kernel's YNL format; Documentation/qktls/netlink.rst is the reference.
 *
 * Generic netlink family "qktls", version QKTLS_GENL_VERSION.
 *
 * Every command needs CAP_NET_ADMIN in the user namespace that owns the
 * caller's network namespace, and acts only on that namespace's pools: a
 * pool is invisible from any other network namespace.  Key material enters
 * the kernel and never leaves it: no reply, dump or event carries key
 * bytes, whatever the command.  Errors come with an extack message that
 * names the attribute at fault.
 *
 * A pool holds the QKD keys of one peer link, in the order they arrived.
 * Keys are 16 to 64 bytes long, carry a 16-byte ID (an ETSI GS QKD 014
 * key_ID is a UUID) and optionally a 64-bit index (ETSI GS QKD 004 key
 * stream position).  A key leaves the pool exactly once: consumed by the
 * kernel (a handshake or a rekey), taken, deleted, flushed or expired; its
 * memory is wiped then.
 *
 * QKTLS_CMD_POOL_NEW
 *   Create a pool.  Request: QKTLS_A_POOL_NAME (required, 1 to
 *   QKTLS_POOL_NAME_MAX - 1 characters from [A-Za-z0-9._-]),
 *   QKTLS_A_POOL_PEER (optional peer identity, up to QKTLS_PEER_MAX - 1
 *   bytes), QKTLS_A_POOL_KEY_MIN_LEN and QKTLS_A_POOL_KEY_MAX_LEN (bytes,
 *   default 32 and 32, within QKTLS_KEY_MIN_LEN..QKTLS_KEY_MAX_LEN),
 *   QKTLS_A_POOL_CAPACITY (keys, default 1024), QKTLS_A_POOL_LOW_WATERMARK
 *   (keys, default capacity / 4, below capacity), QKTLS_A_POOL_KEY_LIFETIME
 *   (seconds, 0 = keys do not expire; default 0).  Fails with -EEXIST if
 *   the name is taken, -ENOSPC if the namespace has qktls.max_pools pools.
 *   Reply: the pool, as QKTLS_CMD_POOL_GET gives it.  Event:
 *   QKTLS_CMD_POOL_CREATED_NTF.
 *
 * QKTLS_CMD_POOL_DEL
 *   Delete a pool and wipe its keys.  Request: QKTLS_A_POOL_NAME.  Event:
 *   QKTLS_CMD_POOL_DELETED_NTF.
 *
 * QKTLS_CMD_POOL_SET
 *   Change QKTLS_A_POOL_PEER, QKTLS_A_POOL_CAPACITY,
 *   QKTLS_A_POOL_LOW_WATERMARK or QKTLS_A_POOL_KEY_LIFETIME of the pool
 *   named by QKTLS_A_POOL_NAME.  An empty QKTLS_A_POOL_PEER clears the
 *   peer.  The key length range cannot change.  A capacity below the
 *   number of keys held is refused (-EBUSY).  All or nothing.  Reply: the
 *   pool.
 *
 * QKTLS_CMD_POOL_GET
 *   do: the pool named by QKTLS_A_POOL_NAME; dump: every pool of the
 *   namespace, resumable across messages.  Reply per pool: QKTLS_A_POOL_ID,
 *   QKTLS_A_POOL_NAME, QKTLS_A_POOL_PEER (if set), QKTLS_A_POOL_KEY_MIN_LEN,
 *   QKTLS_A_POOL_KEY_MAX_LEN, QKTLS_A_POOL_CAPACITY,
 *   QKTLS_A_POOL_LOW_WATERMARK, QKTLS_A_POOL_KEY_LIFETIME,
 *   QKTLS_A_POOL_KEY_COUNT, QKTLS_A_POOL_KEY_BYTES, QKTLS_A_POOL_MEM_BYTES
 *   and QKTLS_A_POOL_STATS (nested enum qktls_stats_attrs).
 *
 * QKTLS_CMD_KEY_ADD
 *   Add a batch of keys to the pool named by QKTLS_A_POOL_NAME: one or
 *   more QKTLS_A_KEY, each nesting QKTLS_KEY_A_ID (16 bytes, required),
 *   QKTLS_KEY_A_MATERIAL (required, length within the pool's range) and
 *   QKTLS_KEY_A_INDEX (optional).  The batch is all or nothing: a
 *   duplicate ID (in the pool or in the batch: -EEXIST), a wrong length
 *   (-EINVAL), no room (-ENOSPC, capacity; -ENOMEM, memory limits) or an
 *   unknown pool (-ENOENT) adds none of its keys.  The extack offset points
 *   at the offending key.  No reply beyond the ack.
 *
 * QKTLS_CMD_KEY_DEL
 *   Delete the keys whose QKTLS_KEY_A_ID the QKTLS_A_KEY entries name, from
 *   the pool QKTLS_A_POOL_NAME.  All or nothing: an unknown ID (-ENOENT)
 *   or an ID named twice (-EINVAL) deletes none.
 *
 * QKTLS_CMD_KEY_FLUSH
 *   Delete every key of the pool QKTLS_A_POOL_NAME.
 *
 * QKTLS_CMD_KEY_GET
 *   dump only: the metadata of the keys of pool QKTLS_A_POOL_NAME (required
 *   in the dump request), oldest first, resumable.  Each message carries
 *   QKTLS_A_POOL_NAME and QKTLS_A_KEY entries with QKTLS_KEY_A_ID,
 *   QKTLS_KEY_A_INDEX (if set), QKTLS_KEY_A_LEN and QKTLS_KEY_A_AGE_MS.
 *   Never QKTLS_KEY_A_MATERIAL.
 *
 * QKTLS_CMD_KEY_TAKE
 *   Consume one key of pool QKTLS_A_POOL_NAME and wipe it: the one whose ID
 *   a QKTLS_A_KEY entry names (at most one entry, else -EINVAL), or the
 *   oldest without one.  Exactly once:
 *   of concurrent takers of the same key, one succeeds and the others get
 *   -ENOENT.  For operators (discard keys) and tests; the kernel's own
 *   users consume keys internally.  Reply: QKTLS_A_POOL_NAME and one
 *   QKTLS_A_KEY with QKTLS_KEY_A_ID, QKTLS_KEY_A_INDEX (if set) and
 *   QKTLS_KEY_A_LEN of the key taken.
 *
 * QKTLS_CMD_STATS_GET
 *   The namespace's totals: QKTLS_A_NS_POOLS, QKTLS_A_NS_KEYS,
 *   QKTLS_A_NS_KEY_BYTES, QKTLS_A_NS_MEM_BYTES, QKTLS_A_NS_MEM_LIMIT and
 *   QKTLS_A_POOL_STATS summed over the pools that exist.
 *
 * Events, on multicast group QKTLS_MCGRP_EVENTS (joining it needs
 * CAP_NET_ADMIN), sent in the namespace of the pool, in the order things
 * happened:
 *
 * QKTLS_CMD_POOL_CREATED_NTF, QKTLS_CMD_POOL_DELETED_NTF
 *   QKTLS_A_POOL_ID, QKTLS_A_POOL_NAME, QKTLS_A_POOL_PEER (if set).
 * QKTLS_CMD_POOL_LOW_NTF
 *   The pool went below its low watermark (sent on the crossing, not for
 *   every key after it): QKTLS_A_POOL_ID, QKTLS_A_POOL_NAME,
 *   QKTLS_A_POOL_KEY_COUNT, QKTLS_A_POOL_LOW_WATERMARK,
 *   QKTLS_A_POOL_CAPACITY, so a feeder knows how many keys to fetch.
 * QKTLS_CMD_POOL_EMPTY_NTF
 *   The pool's last key went: as QKTLS_CMD_POOL_LOW_NTF.
 * QKTLS_CMD_KEYS_EXPIRED_NTF
 *   Keys outlived QKTLS_A_POOL_KEY_LIFETIME and were wiped: as
 *   QKTLS_CMD_POOL_LOW_NTF plus QKTLS_A_EXPIRED_COUNT.
 *
 * Module parameters bound memory whatever the input: max_mem_bytes (all
 * pools of all namespaces), pool_max_mem_bytes (one pool) and max_pools
 * (pools per namespace).
 */
#ifndef _UAPI_LINUX_QKTLS_H
#define _UAPI_LINUX_QKTLS_H

#define QKTLS_GENL_NAME		"qktls"
#define QKTLS_GENL_VERSION	1
#define QKTLS_MCGRP_EVENTS	"events"

#define QKTLS_POOL_NAME_MAX	32	/* including the terminating NUL */
#define QKTLS_PEER_MAX		128	/* including the terminating NUL */
#define QKTLS_KEY_ID_LEN	16
#define QKTLS_KEY_MIN_LEN	16
#define QKTLS_KEY_MAX_LEN	64

/**
 * enum qktls_cmd - commands and events of the qktls family
 * @QKTLS_CMD_UNSPEC: unused
 * @QKTLS_CMD_POOL_NEW: create a pool
 * @QKTLS_CMD_POOL_DEL: delete a pool and wipe its keys
 * @QKTLS_CMD_POOL_SET: change a pool's settings
 * @QKTLS_CMD_POOL_GET: get one pool, or dump all pools
 * @QKTLS_CMD_KEY_ADD: add a batch of keys, all or nothing
 * @QKTLS_CMD_KEY_DEL: delete keys by ID, all or nothing
 * @QKTLS_CMD_KEY_FLUSH: delete every key of a pool
 * @QKTLS_CMD_KEY_GET: dump key metadata (never material) of a pool
 * @QKTLS_CMD_KEY_TAKE: consume one key (by ID, or the oldest), exactly once
 * @QKTLS_CMD_STATS_GET: totals of the network namespace
 * @QKTLS_CMD_POOL_CREATED_NTF: event: a pool was created
 * @QKTLS_CMD_POOL_DELETED_NTF: event: a pool was deleted
 * @QKTLS_CMD_POOL_LOW_NTF: event: a pool went below its low watermark
 * @QKTLS_CMD_POOL_EMPTY_NTF: event: a pool's last key went
 * @QKTLS_CMD_KEYS_EXPIRED_NTF: event: keys expired and were wiped
 * @__QKTLS_CMD_MAX: internal
 * @QKTLS_CMD_MAX: highest command number
 */
enum qktls_cmd {
	QKTLS_CMD_UNSPEC,
	QKTLS_CMD_POOL_NEW,
	QKTLS_CMD_POOL_DEL,
	QKTLS_CMD_POOL_SET,
	QKTLS_CMD_POOL_GET,
	QKTLS_CMD_KEY_ADD,
	QKTLS_CMD_KEY_DEL,
	QKTLS_CMD_KEY_FLUSH,
	QKTLS_CMD_KEY_GET,
	QKTLS_CMD_KEY_TAKE,
	QKTLS_CMD_STATS_GET,
	QKTLS_CMD_POOL_CREATED_NTF,
	QKTLS_CMD_POOL_DELETED_NTF,
	QKTLS_CMD_POOL_LOW_NTF,
	QKTLS_CMD_POOL_EMPTY_NTF,
	QKTLS_CMD_KEYS_EXPIRED_NTF,

	__QKTLS_CMD_MAX,
	QKTLS_CMD_MAX = __QKTLS_CMD_MAX - 1
};

/**
 * enum qktls_attrs - top-level attributes
 * @QKTLS_A_UNSPEC: unused
 * @QKTLS_A_PAD: padding for 64-bit attributes
 * @QKTLS_A_POOL_ID: u32, the pool's number in its namespace (replies)
 * @QKTLS_A_POOL_NAME: NUL-terminated string, the pool's name
 * @QKTLS_A_POOL_PEER: NUL-terminated string, the peer link's identity
 * @QKTLS_A_POOL_KEY_MIN_LEN: u32, shortest key accepted, bytes
 * @QKTLS_A_POOL_KEY_MAX_LEN: u32, longest key accepted, bytes
 * @QKTLS_A_POOL_CAPACITY: u32, most keys the pool holds
 * @QKTLS_A_POOL_LOW_WATERMARK: u32, below this many keys, tell the feeders
 * @QKTLS_A_POOL_KEY_LIFETIME: u32, seconds a key may wait; 0 = forever
 * @QKTLS_A_POOL_KEY_COUNT: u32, keys held now (replies, events)
 * @QKTLS_A_POOL_KEY_BYTES: u64, key material held now, bytes (replies)
 * @QKTLS_A_POOL_MEM_BYTES: u64, kernel memory the keys take (replies)
 * @QKTLS_A_POOL_STATS: nest, enum qktls_stats_attrs (replies)
 * @QKTLS_A_KEY: nest, enum qktls_key_attrs; may appear many times
 * @QKTLS_A_EXPIRED_COUNT: u32, keys that expired (events)
 * @QKTLS_A_NS_POOLS: u32, pools in the namespace (stats)
 * @QKTLS_A_NS_KEYS: u32, keys in the namespace (stats)
 * @QKTLS_A_NS_KEY_BYTES: u64, key material in the namespace (stats)
 * @QKTLS_A_NS_MEM_BYTES: u64, kernel memory of the namespace's pools
 * @QKTLS_A_NS_MEM_LIMIT: u64, the max_mem_bytes module parameter
 * @__QKTLS_A_MAX: internal
 * @QKTLS_A_MAX: highest attribute number
 */
enum qktls_attrs {
	QKTLS_A_UNSPEC,
	QKTLS_A_PAD,
	QKTLS_A_POOL_ID,
	QKTLS_A_POOL_NAME,
	QKTLS_A_POOL_PEER,
	QKTLS_A_POOL_KEY_MIN_LEN,
	QKTLS_A_POOL_KEY_MAX_LEN,
	QKTLS_A_POOL_CAPACITY,
	QKTLS_A_POOL_LOW_WATERMARK,
	QKTLS_A_POOL_KEY_LIFETIME,
	QKTLS_A_POOL_KEY_COUNT,
	QKTLS_A_POOL_KEY_BYTES,
	QKTLS_A_POOL_MEM_BYTES,
	QKTLS_A_POOL_STATS,
	QKTLS_A_KEY,
	QKTLS_A_EXPIRED_COUNT,
	QKTLS_A_NS_POOLS,
	QKTLS_A_NS_KEYS,
	QKTLS_A_NS_KEY_BYTES,
	QKTLS_A_NS_MEM_BYTES,
	QKTLS_A_NS_MEM_LIMIT,

	__QKTLS_A_MAX,
	QKTLS_A_MAX = __QKTLS_A_MAX - 1
};

/**
 * enum qktls_key_attrs - attributes nested in QKTLS_A_KEY
 * @QKTLS_KEY_A_UNSPEC: unused
 * @QKTLS_KEY_A_PAD: padding for 64-bit attributes
 * @QKTLS_KEY_A_ID: binary, QKTLS_KEY_ID_LEN bytes, the key's ID
 * @QKTLS_KEY_A_INDEX: u64, position in an ETSI 004 key stream (optional)
 * @QKTLS_KEY_A_MATERIAL: binary, the key; requests only, never sent back
 * @QKTLS_KEY_A_LEN: u32, the key's length in bytes (replies)
 * @QKTLS_KEY_A_AGE_MS: u64, milliseconds since the key arrived (replies)
 * @__QKTLS_KEY_A_MAX: internal
 * @QKTLS_KEY_A_MAX: highest attribute number
 */
enum qktls_key_attrs {
	QKTLS_KEY_A_UNSPEC,
	QKTLS_KEY_A_PAD,
	QKTLS_KEY_A_ID,
	QKTLS_KEY_A_INDEX,
	QKTLS_KEY_A_MATERIAL,
	QKTLS_KEY_A_LEN,
	QKTLS_KEY_A_AGE_MS,

	__QKTLS_KEY_A_MAX,
	QKTLS_KEY_A_MAX = __QKTLS_KEY_A_MAX - 1
};

/**
 * enum qktls_stats_attrs - counters nested in QKTLS_A_POOL_STATS, all u64
 * @QKTLS_STATS_A_UNSPEC: unused
 * @QKTLS_STATS_A_PAD: padding for 64-bit attributes
 * @QKTLS_STATS_A_KEYS_ADDED: keys accepted into the pool
 * @QKTLS_STATS_A_KEYS_CONSUMED: keys consumed (kernel users, KEY_TAKE)
 * @QKTLS_STATS_A_KEYS_EXPIRED: keys wiped because they outlived the lifetime
 * @QKTLS_STATS_A_KEYS_DROPPED: keys deleted or flushed unused
 * @QKTLS_STATS_A_BYTES_ADDED: key bytes accepted
 * @QKTLS_STATS_A_BYTES_CONSUMED: key bytes consumed
 * @QKTLS_STATS_A_ADD_REJECTED: KEY_ADD batches refused
 * @QKTLS_STATS_A_LOW_EVENTS: times the pool went below its low watermark
 * @QKTLS_STATS_A_EMPTY_EVENTS: times the pool ran empty
 * @__QKTLS_STATS_A_MAX: internal
 * @QKTLS_STATS_A_MAX: highest attribute number
 */
enum qktls_stats_attrs {
	QKTLS_STATS_A_UNSPEC,
	QKTLS_STATS_A_PAD,
	QKTLS_STATS_A_KEYS_ADDED,
	QKTLS_STATS_A_KEYS_CONSUMED,
	QKTLS_STATS_A_KEYS_EXPIRED,
	QKTLS_STATS_A_KEYS_DROPPED,
	QKTLS_STATS_A_BYTES_ADDED,
	QKTLS_STATS_A_BYTES_CONSUMED,
	QKTLS_STATS_A_ADD_REJECTED,
	QKTLS_STATS_A_LOW_EVENTS,
	QKTLS_STATS_A_EMPTY_EVENTS,

	__QKTLS_STATS_A_MAX,
	QKTLS_STATS_A_MAX = __QKTLS_STATS_A_MAX - 1
};

#endif /* _UAPI_LINUX_QKTLS_H */
