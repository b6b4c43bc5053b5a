/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qktls/stream.h - read and write a kTLS socket with key updates handled.
 *
 * qktls_stream_open() wraps a kTLS socket the agent handed back (see
 * qktls_handshake()).  If qktlsd attached it to qktls.ko, the stream reads
 * the socket's rekey policy from the module and:
 *
 *  - qktls_stream_write() and qktls_stream_sendfile() rekey TX between
 *    records by that policy (every rekey_bytes bytes, every rekey_seconds
 *    seconds) and before a key would protect more records than its AEAD
 *    allows (2^24 for AES-GCM, RFC 8446 section 5.5; see
 *    qktls_stream_set_record_limit()): a write is split at the boundary,
 *    and the rekey runs before the first byte past it.  With the QKD key update negotiated the
 *    update mixes in a QKD key from the link's pool, otherwise it is a
 *    standard RFC 8446 update;
 *  - qktls_stream_read() returns application data and handles the control
 *    records in between: a key reference (the QKD key update's private
 *    handshake message) is remembered, the KeyUpdate that follows makes the
 *    module install the next RX key (from that reference, or a standard
 *    update), and a KeyUpdate with update_requested makes the next write
 *    update TX first.  close_notify ends the stream (read returns 0); any
 *    other alert or unexpected record is an error with a message.
 *
 * Threads: one writer thread and one reader thread per socket at most (the
 * writer calls write, sendfile, rekey and close_notify; the reader calls
 * read).  The reader never writes: an update the peer requested is done by
 * the writer's next call.  Neither kTLS nor the module can order a rekey
 * against a second thread writing the same socket at the same moment, as
 * with any TLS stack.
 *
 * An unattached socket (plain kTLS, or qktls.ko not loaded) works as a
 * plain kTLS stream: no policy, and a rekey fails with
 * -QKTLS_E_NOTATTACHED.  On a kernel without kTLS rekey (before 6.14) a
 * rekey fails with -QKTLS_E_NOREKEY ("kernel has no kTLS rekey") and data
 * keeps flowing under the current keys.
 *
 * Errors are negative libqktls errors (qktls/error.h);
 * qktls_stream_error() says more about the last one of each direction.
 * See libqktls(3).
 */
#ifndef QKTLS_STREAM_H
#define QKTLS_STREAM_H

#include <stdint.h>
#include <sys/types.h>

#include <qktls/error.h>
#include <qktls/ktls.h>
#include <qktls/sock.h>

#ifdef __cplusplus
extern "C" {
#endif

/* qktls_stream_open() flags. */
#define QKTLS_STREAM_NO_POLICY	(1U << 0)	/* never rekey TX by policy */
/*
 * A policy rekey whose QKD key cannot be had (TX pool empty, -ENOKEY)
 * fails the write.  Without this flag it falls back to a standard update
 * (counted in qkd_fallbacks), so the data never outlives the policy's key
 * lifetime.
 */
#define QKTLS_STREAM_QKD_STRICT	(1U << 1)

/* qktls_stream_rekey() flag: QKD if negotiated, else standard. */
#define QKTLS_STREAM_REKEY_AUTO	(1U << 8)

struct qktls_stream;

/* What a stream did, counted by the library (the module counts too). */
struct qktls_stream_stats {
	uint64_t bytes_written;		/* application bytes sent */
	uint64_t bytes_read;		/* application bytes received */
	uint64_t tx_rekeys;		/* TX rekeys done through this stream */
	uint64_t tx_policy_rekeys;	/* ... of them due to the policy */
	uint64_t tx_requested_rekeys;	/* ... answering the peer's request */
	uint64_t tx_qkd_rekeys;		/* ... that mixed in a QKD key */
	uint64_t rx_rekeys;		/* KeyUpdates of the peer followed */
	uint64_t rx_qkd_rekeys;		/* ... with a QKD key reference */
	uint64_t updates_requested;	/* KeyUpdates with update_requested */
	uint64_t rekey_errors;		/* rekeys that failed */
	uint64_t qkd_fallbacks;		/* QKD policy rekeys done standard */
	uint64_t tickets_skipped;	/* NewSessionTickets (stock servers) */
};

/**
 * qktls_stream_open() - wrap a kTLS socket
 * @fd:    a socket with TLS 1.3 kTLS in both directions; the stream does
 *         not own it (qktls_stream_close() leaves it open)
 * @flags: QKTLS_STREAM_* or 0
 * @out:   receives the stream
 *
 * Reads the socket's policy from qktls.ko (QKTLS_CMD_SOCK_GET by fd).  An
 * unattached socket, or no qktls.ko, is fine (no policy).
 *
 * Return: 0 or a negative error.
 */
int qktls_stream_open(int fd, unsigned int flags, struct qktls_stream **out);

/* Free the stream (NULL is fine); the socket stays open. */
void qktls_stream_close(struct qktls_stream *s);

/**
 * qktls_stream_write() - write application data, rekeying TX by policy
 * @s:   a stream; writer thread only
 * @buf: data
 * @len: its length
 *
 * Writes all of @buf unless the socket is non-blocking and full or an
 * error occurs, rekeying TX where the policy says (and first if the peer
 * requested an update).  A policy rekey this kernel cannot do
 * (-QKTLS_E_NOREKEY) is counted, reported by qktls_stream_error() and not
 * tried again: the data keeps flowing.
 *
 * Return: bytes written (short only for a non-blocking socket), or a
 * negative error if none was: -errno of write(2), or the error of a rekey
 * that had to happen first (e.g. -ENOKEY with QKTLS_STREAM_QKD_STRICT).
 */
ssize_t qktls_stream_write(struct qktls_stream *s, const void *buf, size_t len);

/**
 * qktls_stream_sendfile() - sendfile(2) to the stream, rekeying by policy
 * @s:      a stream; writer thread only
 * @in_fd:  file to read (see sendfile(2))
 * @offset: as for sendfile(2)
 * @count:  bytes to send
 *
 * Return: bytes sent (fewer at the end of @in_fd), or a negative error.
 */
ssize_t qktls_stream_sendfile(struct qktls_stream *s, int in_fd, off_t *offset,
			      size_t count);

/**
 * qktls_stream_read() - read application data, handling control records
 * @s:   a stream; reader thread only
 * @buf: receives data
 * @len: room in @buf
 *
 * Return: bytes read; 0 at the end of the stream (close_notify, or the
 * peer's TCP FIN); or a negative error: -errno of recvmsg(2) (-EAGAIN on
 * a non-blocking socket), -QKTLS_E_RECORD (an alert other than
 * close_notify, or a record the protocol does not allow), or the error of
 * the RX rekey a KeyUpdate needed (-ENOKEY: unknown key reference;
 * -QKTLS_E_NOREKEY; -QKTLS_E_NOTATTACHED).  After an error other than
 * -EAGAIN / -EINTR every further read fails the same way.
 */
ssize_t qktls_stream_read(struct qktls_stream *s, void *buf, size_t len);

/**
 * qktls_stream_rekey() - rekey TX now
 * @s:     a stream; writer thread only
 * @flags: QKTLS_REKEY_QKD, QKTLS_REKEY_REQUEST_UPDATE, or
 *         QKTLS_STREAM_REKEY_AUTO (QKD if negotiated, else standard)
 *
 * Restarts the policy's byte and time counters.
 *
 * Return: 1 if a QKD key was used, 0 for a standard update, or a negative
 * error (-QKTLS_E_NOTATTACHED, -QKTLS_E_NOREKEY, -QKTLS_E_NOQKDUPDATE,
 * -ENOKEY...).
 */
int qktls_stream_rekey(struct qktls_stream *s, unsigned int flags);

/**
 * qktls_stream_set_record_limit() - tighten the records per TX key
 * @s:       an attached stream; writer thread only
 * @records: rekey TX before a key protects more records than this; 0
 *           restores the default: 2^24 for AES-GCM suites, none for
 *           ChaCha20-Poly1305, or the socket's records policy in qktls.ko
 *           (rekey_records) where that is tighter
 *
 * Records are counted by the stream, as an upper bound (one per 16 KiB
 * and one more per write or sendfile call), from qktls_stream_open() or
 * the last TX rekey.  The limit rekeys like the policy (and is off with
 * QKTLS_STREAM_NO_POLICY or on an unattached socket).
 *
 * Return: 0, or -QKTLS_E_ARG for a limit above the default.
 */
int qktls_stream_set_record_limit(struct qktls_stream *s, uint64_t records);

/**
 * qktls_stream_close_notify() - send close_notify (writer thread only)
 * @s: a stream
 *
 * Return: 0 or a negative errno.
 */
int qktls_stream_close_notify(struct qktls_stream *s);

/**
 * qktls_stream_attached() - is the socket attached to qktls.ko?
 * @s:    a stream
 * @info: receives the policy read at open (may be NULL)
 *
 * Return: true if it is.
 */
bool qktls_stream_attached(const struct qktls_stream *s,
			   struct qktls_sock_info *info);

/**
 * qktls_stream_sock_info() - the module's current view of the socket
 * @s:    a stream (any thread: uses its own netlink handle)
 * @info: receives policy and counters (QKTLS_CMD_SOCK_GET)
 *
 * Return: 0, -QKTLS_E_NOTATTACHED or another negative error.
 */
int qktls_stream_sock_info(struct qktls_stream *s, struct qktls_sock_info *info);

/* The library's counters (any thread). */
void qktls_stream_stats(const struct qktls_stream *s,
			struct qktls_stream_stats *st);

/**
 * qktls_stream_error() - what the last failure of one direction was
 * @s:   a stream
 * @dir: QKTLS_DIR_TX (write, sendfile, rekey) or QKTLS_DIR_RX (read);
 *       call from that direction's thread
 *
 * Return: a message (the kernel's own for a rekey it refused), or "".
 */
const char *qktls_stream_error(const struct qktls_stream *s, enum qktls_dir dir);

#ifdef __cplusplus
}
#endif
#endif /* QKTLS_STREAM_H */
