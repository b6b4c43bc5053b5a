/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qktls: QKD key pools for kernel TLS.
 *
 * Documentation/netlink/specs/qktls.yaml describes the same family in the
 * kernel's YNL format; Documentation/qktls/netlink.rst is the reference.
 *
 * Generic netlink family "qktls", version QKTLS_GENL_VERSION.
 *
 * Every pool command needs CAP_NET_ADMIN in the user namespace that owns
 * the caller's network namespace, and acts only on that namespace's pools:
 * a pool is invisible from any other network namespace.  The socket
 * commands below say what they need.  Key material enters
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
 *   (seconds, 0 = keys do not expire; default 0), QKTLS_A_POOL_REKEY_BYTES
 *   and QKTLS_A_POOL_REKEY_SECONDS (the pool's rekey policy, 0 = none,
 *   default 0: see QKTLS_CMD_SOCK_ATTACH; a policy on a kernel without
 *   kTLS rekey is refused with -EOPNOTSUPP).  Fails with -EEXIST if
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
 *   QKTLS_A_POOL_LOW_WATERMARK, QKTLS_A_POOL_KEY_LIFETIME,
 *   QKTLS_A_POOL_REKEY_BYTES or QKTLS_A_POOL_REKEY_SECONDS of the pool
 *   named by QKTLS_A_POOL_NAME (a new rekey policy applies to sockets
 *   attached from then on).  An empty QKTLS_A_POOL_PEER clears the
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
 *   QKTLS_A_POOL_REKEY_BYTES, QKTLS_A_POOL_REKEY_SECONDS,
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
 * Attached sockets.  After a TLS 1.3 handshake, the agent (qktlsd) installs
 * kTLS on a TCP socket and attaches it: the module then holds the traffic
 * secrets of both directions and can rekey the socket from its pools, so
 * neither secrets nor QKD keys return to userspace.  A socket is known by
 * its socket cookie (SO_COOKIE, as ss(8) shows it).  An attachment ends when
 * the socket is closed, on QKTLS_CMD_SOCK_DETACH, when its network
 * namespace goes away or when the module is unloaded; its secrets are
 * wiped then.  Rekey needs kTLS rekey (Linux 6.14 or later); on older
 * kernels attach works and rekey fails with -EOPNOTSUPP.
 *
 * QKTLS_CMD_SOCK_ATTACH
 *   Needs CAP_NET_ADMIN.  Request: QKTLS_A_SOCK_FD (a TCP socket of the
 *   caller, in the caller's network namespace, whose pools it uses, with
 *   TLS 1.3 kTLS installed in both directions),
 *   QKTLS_A_SOCK_CIPHER (the installed cipher suite, IANA value: 0x1301,
 *   0x1302 or 0x1303), QKTLS_A_SOCK_TX_SECRET and QKTLS_A_SOCK_RX_SECRET
 *   (the current traffic secrets, Hash.length bytes), and optionally
 *   QKTLS_A_SOCK_LINK (the link's name, for display),
 *   QKTLS_A_SOCK_TX_POOL (the pool this end takes its QKD update keys from)
 *   and QKTLS_A_SOCK_RX_POOL (the pool holding the keys the peer takes),
 *   QKTLS_A_SOCK_QKD_UPDATE (the peer negotiated the QKD key update),
 *   QKTLS_A_SOCK_REKEY_BYTES and QKTLS_A_SOCK_REKEY_SECONDS (rekey policy,
 *   0 = none; the TX pool's policy applies too, and of the two the tighter
 *   limit wins, field by field, so an operator's pool policy bounds every
 *   socket of the link), QKTLS_A_SOCK_REKEY_RECORDS (records under one
 *   TX key; 0 = none; a socket of an AES-GCM suite gets at most 2^24,
 *   below RFC 8446 section 5.5's 2^24.5), QKTLS_A_SOCK_REKEY_REQUIRED
 *   (fail with -EOPNOTSUPP if this kernel cannot rekey),
 *   QKTLS_A_SOCK_QKD_POLICY (enum qktls_qkd_policy, default
 *   QKTLS_QKD_PREFERRED; QKTLS_QKD_REQUIRED with a rekey policy needs
 *   QKTLS_A_SOCK_QKD_UPDATE and a TX pool, else -EINVAL).  -EEXIST if the
 *   socket is attached already,
 *   -ENOENT for an unknown pool, -ENOSPC if qktls.max_socks sockets are
 *   attached, -EINVAL for anything else wrong with the socket or the
 *   request.  A closed socket's attachment is released by the next
 *   request that looks at the namespace's sockets, or within
 *   qktls.sock_scan_ms.  Reply: the socket, as QKTLS_CMD_SOCK_GET gives
 *   it.
 *
 * QKTLS_CMD_SOCK_DETACH
 *   Forget a socket and wipe its secrets: QKTLS_A_SOCK_FD (no capability
 *   needed: the caller holds the socket) or QKTLS_A_SOCK_ID (needs
 *   CAP_NET_ADMIN).
 *
 * QKTLS_CMD_SOCK_GET
 *   do: the socket named by QKTLS_A_SOCK_FD (no capability needed) or
 *   QKTLS_A_SOCK_ID (CAP_NET_ADMIN); dump: every attached socket of the
 *   namespace (CAP_NET_ADMIN).  Reply: QKTLS_A_SOCK_ID, QKTLS_A_SOCK_LINK
 *   (if set), QKTLS_A_SOCK_CIPHER, QKTLS_A_SOCK_TX_POOL and
 *   QKTLS_A_SOCK_RX_POOL (if set), QKTLS_A_SOCK_QKD_UPDATE (if set),
 *   QKTLS_A_SOCK_REKEY_BYTES, QKTLS_A_SOCK_REKEY_RECORDS,
 *   QKTLS_A_SOCK_REKEY_SECONDS, QKTLS_A_SOCK_REKEY_DUE (flag, set when the
 *   policy says the next write should rekey TX), QKTLS_A_SOCK_QKD_POLICY
 *   and QKTLS_A_SOCK_STATS (nested enum qktls_sock_stats_attrs).  Never a
 *   secret.
 *
 * The module owns the post-handshake TLS of an attached socket, inside the
 * application's own socket calls (Documentation/qktls/key-update.rst):
 *
 * - TX: a write, send, sendmsg, sendfile or splice first rekeys TX when
 *   the policy is due (bytes and records counted exactly, seconds, the
 *   AEAD's record limit, or a KeyUpdate of the peer with update_requested),
 *   then sends its data; a write larger than what the key may still carry
 *   is split at the limit.  Writers of one socket are serialised.  With the
 *   TX pool empty, QKTLS_QKD_REQUIRED fails the write with ENOKEY (nothing
 *   is sent, QKTLS_CMD_SOCK_REKEY_NTF says so) and QKTLS_QKD_PREFERRED does
 *   a standard RFC 8446 update, counted.
 * - RX: a read, recv, recvmsg or splice consumes the peer's handshake and
 *   alert records before the application sees data: a QKD key reference
 *   and KeyUpdate install the RX key from the RX pool (a reference the pool
 *   does not hold fails reads with ENOKEY from then on), a standard
 *   KeyUpdate the RFC 8446 next secret, NewSessionTickets are dropped and
 *   counted, close_notify reads as end of file, any other alert fails
 *   reads with ECONNRESET, a malformed record with EPROTO.
 * - getsockopt(SOL_TLS, TLS_TX or TLS_RX) gives the version and cipher and
 *   no key, salt, IV or record sequence; setsockopt(SOL_TLS, TLS_TX or
 *   TLS_RX) fails with EBUSY.
 * - The module holds a reference to itself while any socket is attached.
 *
 * QKTLS_CMD_SOCK_REKEY
 *   Rekey one direction of an attached socket, synchronously, in the
 *   caller's thread, so the switch is ordered with that thread's own writes
 *   (TX) or reads (RX).  No capability needed: the caller names a socket it
 *   holds, QKTLS_A_SOCK_FD, and QKTLS_A_SOCK_DIRECTION
 *   (QKTLS_SOCK_DIR_TX or QKTLS_SOCK_DIR_RX).
 *   TX: with QKTLS_REKEY_QKD in QKTLS_A_SOCK_REKEY_FLAGS, take the oldest
 *   key of the TX pool, send a QKTLS_HS_QKD_KEY_REF handshake record with
 *   its ID, then a KeyUpdate record, and switch TX to
 *   S' = HKDF-Extract(HKDF-Expand-Label(S, "qktls qkd upd", "", Hash.length),
 *   K_qkd); without it, a standard RFC 8446 update (KeyUpdate record, then
 *   S' = HKDF-Expand-Label(S, "traffic upd", "", Hash.length)).
 *   QKTLS_REKEY_REQUEST_UPDATE sets update_requested in the KeyUpdate.
 *   Reply: QKTLS_A_SOCK_ID, QKTLS_A_SOCK_DIRECTION and QKTLS_A_SOCK_KEY_REF
 *   (the ID of the QKD key used, if any).
 *   RX: refused with -EINVAL: the module follows the peer's key updates
 *   inside the application's reads.  Errors: -ENOKEY (the pool has no such
 *   key, the TX pool is empty or was deleted, or there is no pool for that
 *   direction), -EOPNOTSUPP (no kTLS rekey in this kernel, or QKD update
 *   not negotiated), -ENOENT (socket not attached), -EINVAL (a key
 *   reference on TX; QKTLS_REKEY_QKD on RX without one), -EBUSY (a QKD
 *   rekey over the rate limit of the socket or of its TX pool: module
 *   parameters sock_qkd_rekeys_per_min, sock_qkd_rekey_burst,
 *   pool_qkd_rekeys_per_min, pool_qkd_rekey_burst; the rekey policy and
 *   the peer's updates are not limited), or the error of sending the
 *   records.
 *   On error the direction's key is unchanged: nothing is ever sent or
 *   accepted under a key the peer does not have.
 *   (If the QKTLS_HS_QKD_KEY_REF record went out and the KeyUpdate could
 *   not, the QKD key is consumed; the peer sees no KeyUpdate.)
 *
 * Events for sockets, on the same group:
 * QKTLS_CMD_SOCK_REKEY_NTF
 *   A rekey finished: QKTLS_A_SOCK_ID, QKTLS_A_SOCK_LINK,
 *   QKTLS_A_SOCK_DIRECTION, QKTLS_A_SOCK_KEY_REF (if QKD) and
 *   QKTLS_A_SOCK_ERROR (0 or a negative errno).
 * QKTLS_CMD_SOCK_REKEY_DUE_NTF
 *   The socket's policy says TX should be rekeyed and it was not (sent when
 *   it becomes due, then once per rekey period: rekey_seconds, or 60 s
 *   with only rekey_bytes): QKTLS_A_SOCK_ID, QKTLS_A_SOCK_LINK (if set)
 *   and QKTLS_A_SOCK_STATS.
 *
 * Wire format of the QKD key update (Documentation/qktls/key-update.rst):
 * negotiated by the TLS extension QKTLS_EXT_QKD_KEY_UPDATE in ClientHello
 * and EncryptedExtensions (body: one byte, QKTLS_QKD_KEY_UPDATE_VERSION);
 * the key reference travels in a handshake record holding one handshake
 * message of type QKTLS_HS_QKD_KEY_REF whose body is the 16-byte key ID.
 *
 * Module parameters bound memory whatever the input: max_mem_bytes (all
 * pools of all namespaces), pool_max_mem_bytes (one pool), max_pools
 * (pools per namespace) and max_socks (attached sockets, all namespaces);
 * sock_scan_ms is the period of the reaping of closed sockets and of the
 * rekey policy checks.
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
#define QKTLS_SECRET_MAX_LEN	48	/* SHA-384 */

/* Wire constants of the QKD key update (private-use code points). */
#define QKTLS_EXT_QKD_KEY_UPDATE	0xff37	/* TLS extension type */
#define QKTLS_QKD_KEY_UPDATE_VERSION	1
#define QKTLS_HS_QKD_KEY_REF		0xe7	/* TLS handshake type */

/**
 * enum qktls_sock_dir - a direction of an attached socket
 * @QKTLS_SOCK_DIR_TX: what this end sends (TLS_TX)
 * @QKTLS_SOCK_DIR_RX: what this end receives (TLS_RX)
 */
enum qktls_sock_dir {
	QKTLS_SOCK_DIR_TX = 1,
	QKTLS_SOCK_DIR_RX = 2,
};

/**
 * enum qktls_qkd_policy - what a socket's TX rekeys do without a QKD key
 * @QKTLS_QKD_OFF: every rekey is a standard RFC 8446 update
 * @QKTLS_QKD_PREFERRED: a QKD update when the peer negotiated it and the TX
 *	pool has a key, else a standard update (counted, evented)
 * @QKTLS_QKD_REQUIRED: a QKD update, or the write that is due fails with
 *	ENOKEY and nothing is sent
 */
enum qktls_qkd_policy {
	QKTLS_QKD_OFF,
	QKTLS_QKD_PREFERRED,
	QKTLS_QKD_REQUIRED,
};

/* QKTLS_A_SOCK_REKEY_FLAGS */
#define QKTLS_REKEY_QKD			0x1U /* mix in a QKD key */
#define QKTLS_REKEY_REQUEST_UPDATE	0x2U /* KeyUpdate update_requested */

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
 * @QKTLS_CMD_SOCK_ATTACH: attach a kTLS socket and its secrets
 * @QKTLS_CMD_SOCK_DETACH: forget a socket, wipe its secrets
 * @QKTLS_CMD_SOCK_GET: get one attached socket, or dump all
 * @QKTLS_CMD_SOCK_REKEY: rekey one direction of an attached socket
 * @QKTLS_CMD_SOCK_REKEY_NTF: event: a rekey finished or failed
 * @QKTLS_CMD_SOCK_REKEY_DUE_NTF: event: a socket's policy wants a rekey
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
	QKTLS_CMD_SOCK_ATTACH,
	QKTLS_CMD_SOCK_DETACH,
	QKTLS_CMD_SOCK_GET,
	QKTLS_CMD_SOCK_REKEY,
	QKTLS_CMD_SOCK_REKEY_NTF,
	QKTLS_CMD_SOCK_REKEY_DUE_NTF,

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
 * @QKTLS_A_SOCK_FD: s32, a socket file descriptor of the caller
 * @QKTLS_A_SOCK_ID: u64, an attached socket's cookie (SO_COOKIE)
 * @QKTLS_A_SOCK_LINK: NUL-terminated string, the link's name (display)
 * @QKTLS_A_SOCK_CIPHER: u16, TLS 1.3 cipher suite (IANA value)
 * @QKTLS_A_SOCK_TX_SECRET: binary, current TX traffic secret (requests only)
 * @QKTLS_A_SOCK_RX_SECRET: binary, current RX traffic secret (requests only)
 * @QKTLS_A_SOCK_TX_POOL: NUL-terminated string, pool of this end's update keys
 * @QKTLS_A_SOCK_RX_POOL: NUL-terminated string, pool of the peer's update keys
 * @QKTLS_A_SOCK_QKD_UPDATE: flag, the peer negotiated the QKD key update
 * @QKTLS_A_SOCK_REKEY_BYTES: u64, rekey TX after this many bytes; 0 = never
 * @QKTLS_A_SOCK_REKEY_SECONDS: u32, rekey TX after this long; 0 = never
 * @QKTLS_A_SOCK_REKEY_REQUIRED: flag, refuse to attach if rekey cannot work
 * @QKTLS_A_SOCK_REKEY_DUE: flag, the policy wants a TX rekey now (replies)
 * @QKTLS_A_SOCK_DIRECTION: u8, enum qktls_sock_dir
 * @QKTLS_A_SOCK_REKEY_FLAGS: u32, QKTLS_REKEY_* bits
 * @QKTLS_A_SOCK_KEY_REF: binary, QKTLS_KEY_ID_LEN bytes, a QKD key's ID
 * @QKTLS_A_SOCK_ERROR: s32, 0 or a negative errno (events)
 * @QKTLS_A_SOCK_STATS: nest, enum qktls_sock_stats_attrs (replies, events)
 * @QKTLS_A_POOL_REKEY_BYTES: u64, rekey policy of the sockets using the pool
 *	for TX: bytes; 0 = none
 * @QKTLS_A_POOL_REKEY_SECONDS: u32, the same, seconds; 0 = none
 * @QKTLS_A_SOCK_REKEY_RECORDS: u64, rekey TX after this many records under
 *	one key; 0 = never (AES-GCM: at most 2^24)
 * @QKTLS_A_SOCK_QKD_POLICY: u8, enum qktls_qkd_policy
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
	QKTLS_A_SOCK_FD,
	QKTLS_A_SOCK_ID,
	QKTLS_A_SOCK_LINK,
	QKTLS_A_SOCK_CIPHER,
	QKTLS_A_SOCK_TX_SECRET,
	QKTLS_A_SOCK_RX_SECRET,
	QKTLS_A_SOCK_TX_POOL,
	QKTLS_A_SOCK_RX_POOL,
	QKTLS_A_SOCK_QKD_UPDATE,
	QKTLS_A_SOCK_REKEY_BYTES,
	QKTLS_A_SOCK_REKEY_SECONDS,
	QKTLS_A_SOCK_REKEY_REQUIRED,
	QKTLS_A_SOCK_REKEY_DUE,
	QKTLS_A_SOCK_DIRECTION,
	QKTLS_A_SOCK_REKEY_FLAGS,
	QKTLS_A_SOCK_KEY_REF,
	QKTLS_A_SOCK_ERROR,
	QKTLS_A_SOCK_STATS,
	QKTLS_A_POOL_REKEY_BYTES,
	QKTLS_A_POOL_REKEY_SECONDS,
	QKTLS_A_SOCK_REKEY_RECORDS,
	QKTLS_A_SOCK_QKD_POLICY,

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

/**
 * enum qktls_sock_stats_attrs - counters nested in QKTLS_A_SOCK_STATS, u64
 * @QKTLS_SOCK_STATS_A_UNSPEC: unused
 * @QKTLS_SOCK_STATS_A_PAD: padding for 64-bit attributes
 * @QKTLS_SOCK_STATS_A_TX_REKEYS: TX rekeys done (QKD and standard)
 * @QKTLS_SOCK_STATS_A_RX_REKEYS: RX rekeys done (QKD and standard)
 * @QKTLS_SOCK_STATS_A_TX_QKD_REKEYS: TX rekeys that mixed in a QKD key
 * @QKTLS_SOCK_STATS_A_RX_QKD_REKEYS: RX rekeys that mixed in a QKD key
 * @QKTLS_SOCK_STATS_A_KEYS_USED: QKD keys taken from the pools
 * @QKTLS_SOCK_STATS_A_REKEY_ERRORS: rekey requests that failed
 * @QKTLS_SOCK_STATS_A_LAST_ERROR: last failure, as a positive errno
 * @QKTLS_SOCK_STATS_A_REKEYS_DUE: times the policy asked for a rekey
 * @QKTLS_SOCK_STATS_A_REKEYS_OVERDUE: times a due rekey was not done in time
 * @QKTLS_SOCK_STATS_A_TX_BYTES: bytes sent since the last TX rekey
 * @QKTLS_SOCK_STATS_A_TX_KEY_AGE_MS: milliseconds since the last TX rekey
 * @QKTLS_SOCK_STATS_A_TX_RECORDS: records sent under the current TX key
 * @QKTLS_SOCK_STATS_A_TX_STD_FALLBACKS: TX rekeys that were standard
 *	because the TX pool was empty (QKTLS_QKD_PREFERRED)
 * @QKTLS_SOCK_STATS_A_TX_REFUSED: writes failed with ENOKEY because a QKD
 *	rekey was due and the TX pool was empty (QKTLS_QKD_REQUIRED)
 * @QKTLS_SOCK_STATS_A_UPDATES_REQUESTED: KeyUpdates of the peer with
 *	update_requested
 * @QKTLS_SOCK_STATS_A_TICKETS_DROPPED: NewSessionTickets consumed and dropped
 * @QKTLS_SOCK_STATS_A_ALERTS: alerts received (close_notify included)
 * @QKTLS_SOCK_STATS_A_RX_ERRORS: malformed or unusable handshake records
 * @__QKTLS_SOCK_STATS_A_MAX: internal
 * @QKTLS_SOCK_STATS_A_MAX: highest attribute number
 */
enum qktls_sock_stats_attrs {
	QKTLS_SOCK_STATS_A_UNSPEC,
	QKTLS_SOCK_STATS_A_PAD,
	QKTLS_SOCK_STATS_A_TX_REKEYS,
	QKTLS_SOCK_STATS_A_RX_REKEYS,
	QKTLS_SOCK_STATS_A_TX_QKD_REKEYS,
	QKTLS_SOCK_STATS_A_RX_QKD_REKEYS,
	QKTLS_SOCK_STATS_A_KEYS_USED,
	QKTLS_SOCK_STATS_A_REKEY_ERRORS,
	QKTLS_SOCK_STATS_A_LAST_ERROR,
	QKTLS_SOCK_STATS_A_REKEYS_DUE,
	QKTLS_SOCK_STATS_A_REKEYS_OVERDUE,
	QKTLS_SOCK_STATS_A_TX_BYTES,
	QKTLS_SOCK_STATS_A_TX_KEY_AGE_MS,
	QKTLS_SOCK_STATS_A_TX_RECORDS,
	QKTLS_SOCK_STATS_A_TX_STD_FALLBACKS,
	QKTLS_SOCK_STATS_A_TX_REFUSED,
	QKTLS_SOCK_STATS_A_UPDATES_REQUESTED,
	QKTLS_SOCK_STATS_A_TICKETS_DROPPED,
	QKTLS_SOCK_STATS_A_ALERTS,
	QKTLS_SOCK_STATS_A_RX_ERRORS,

	__QKTLS_SOCK_STATS_A_MAX,
	QKTLS_SOCK_STATS_A_MAX = __QKTLS_SOCK_STATS_A_MAX - 1
};

#endif /* _UAPI_LINUX_QKTLS_H */
