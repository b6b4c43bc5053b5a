/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qktls/stream.h - optional conveniences over plain read, write and sendfile.
 *
 * Nothing needs them: plain read(2), write(2), sendfile(2) and splice(2)
 * work on the kTLS socket qktls_handshake() hands back.  On a socket the
 * agent attached to qktls.ko, the module rekeys TX by the link's policy
 * inside the application's writes (and answers the peer's update
 * requests), and consumes the peer's KeyUpdates, QKD key references,
 * NewSessionTickets and alerts inside its reads: close_notify reads as the
 * end of the stream.  No library call is needed after the handshake.
 *
 * What the helpers still do: qktls_stream_write() and
 * qktls_stream_sendfile() retry after EINTR and write everything they are
 * given (less only on a non-blocking socket); qktls_stream_read() retries
 * after EINTR; all three count bytes and keep a message for the last
 * failure of each direction (qktls_stream_error()), which names what an
 * errno means on a kTLS socket (ENOKEY: no QKD key under a required
 * policy...).  qktls_stream_rekey() asks the module for one TX rekey now.
 *
 * An unattached socket (qktls.ko not loaded) keeps kTLS's own behaviour:
 * a read fails with EIO at the peer's first alert or handshake record
 * (use qktls_recv_record() there), and nothing rekeys.
 *
 * Kept for programs written when the helpers did the rekeys: the flags of
 * qktls_stream_open() and qktls_stream_set_record_limit() do nothing now,
 * and the rekey counters of struct qktls_stream_stats stay 0 except for
 * qktls_stream_rekey()'s; the module's counters are in
 * qktls_stream_sock_info().
 *
 * Errors are negative libqktls errors (qktls/error.h).  See libqktls(3).
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

/*
 * qktls_stream_open() flags, accepted and ignored: the module applies the
 * link's rekey policy and QKD policy (qktlsd.conf(5)) to every write.
 */
#define QKTLS_STREAM_NO_POLICY	(1U << 0)
#define QKTLS_STREAM_QKD_STRICT	(1U << 1)

/* qktls_stream_rekey() flag: QKD if negotiated, else standard. */
#define QKTLS_STREAM_REKEY_AUTO	(1U << 8)

struct qktls_stream;

/*
 * What a stream's calls did.  The module does the rekeys and counts them
 * (struct qktls_sock_stats, qktls_stream_sock_info()); the fields marked 0
 * are kept for programs that read them and stay 0.
 */
struct qktls_stream_stats {
	uint64_t bytes_written;		/* application bytes sent */
	uint64_t bytes_read;		/* application bytes received */
	uint64_t tx_rekeys;		/* qktls_stream_rekey() calls that rekeyed */
	uint64_t tx_policy_rekeys;	/* 0 */
	uint64_t tx_requested_rekeys;	/* 0 */
	uint64_t tx_qkd_rekeys;		/* ... of tx_rekeys, with a QKD key */
	uint64_t rx_rekeys;		/* 0 */
	uint64_t rx_qkd_rekeys;		/* 0 */
	uint64_t updates_requested;	/* 0 */
	uint64_t rekey_errors;		/* qktls_stream_rekey() calls that failed */
	uint64_t qkd_fallbacks;		/* 0 */
	uint64_t tickets_skipped;	/* 0 */
};

/**
 * qktls_stream_open() - wrap a kTLS socket
 * @fd:    a socket with TLS 1.3 kTLS in both directions; the stream does
 *         not own it (qktls_stream_close() leaves it open)
 * @flags: 0, or QKTLS_STREAM_* (ignored)
 * @out:   receives the stream
 *
 * Asks qktls.ko once whether the socket is attached, for
 * qktls_stream_attached().  An unattached socket, or no qktls.ko, is fine.
 *
 * Return: 0 or a negative error.
 */
int qktls_stream_open(int fd, unsigned int flags, struct qktls_stream **out);

/* Free the stream (NULL is fine); the socket stays open. */
void qktls_stream_close(struct qktls_stream *s);

/**
 * qktls_stream_write() - write(2) all of a buffer
 * @s:   a stream; writer thread only
 * @buf: data
 * @len: its length
 *
 * Calls send(2) with MSG_NOSIGNAL (a write(2) that raises no SIGPIPE:
 * a closed peer is -EPIPE) until all of @buf is written, retrying after
 * EINTR.
 *
 * Return: bytes written (short only when a call failed after some were,
 * e.g. a non-blocking socket that is full), or -errno of send(2) if none
 * was: -ENOKEY when the module had a QKD rekey due, the TX pool is empty
 * and the link's QKD policy is required (nothing was sent).
 */
ssize_t qktls_stream_write(struct qktls_stream *s, const void *buf, size_t len);

/**
 * qktls_stream_sendfile() - sendfile(2) until @count bytes are sent
 * @s:      a stream; writer thread only
 * @in_fd:  file to read (see sendfile(2))
 * @offset: as for sendfile(2)
 * @count:  bytes to send
 *
 * Return: bytes sent (fewer at the end of @in_fd), or -errno of
 * sendfile(2) if none was.
 */
ssize_t qktls_stream_sendfile(struct qktls_stream *s, int in_fd, off_t *offset,
			      size_t count);

/**
 * qktls_stream_read() - read(2), retrying after EINTR
 * @s:   a stream; reader thread only
 * @buf: receives data
 * @len: room in @buf
 *
 * Return: bytes read; 0 at the end of the stream (the peer's close_notify
 * on an attached socket, or its TCP FIN); or -errno of read(2): -EAGAIN on
 * a non-blocking socket; on an attached socket -ENOKEY (the peer's QKD key
 * update names a key the RX pool does not hold), -ECONNRESET (a fatal
 * alert), -EPROTO (a malformed record); on an unattached one -EIO (a
 * record that is not application data).
 */
ssize_t qktls_stream_read(struct qktls_stream *s, void *buf, size_t len);

/**
 * qktls_stream_rekey() - ask the module for one TX rekey now
 * @s:     a stream; writer thread only
 * @flags: QKTLS_REKEY_QKD, QKTLS_REKEY_REQUEST_UPDATE, or
 *         QKTLS_STREAM_REKEY_AUTO (QKD if negotiated, else standard)
 *
 * qktls_sock_rekey_tx() on the stream's socket.  The policy needs no such
 * call: the module rekeys by it inside the writes.
 *
 * Return: 1 if a QKD key was used, 0 for a standard update, or a negative
 * error (-QKTLS_E_NOTATTACHED, -QKTLS_E_NOREKEY, -QKTLS_E_NOQKDUPDATE,
 * -ENOKEY...).
 */
int qktls_stream_rekey(struct qktls_stream *s, unsigned int flags);

/**
 * qktls_stream_set_record_limit() - kept for older programs; does nothing
 * @s:       a stream
 * @records: ignored: the module rekeys TX before a key protects more
 *           records than its AEAD allows (2^24 for AES-GCM) or than the
 *           socket's records policy says
 *
 * Return: 0, or -QKTLS_E_ARG for a NULL @s.
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
 * @info: receives the policy and counters read at open (may be NULL)
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

/* The stream's counters (any thread). */
void qktls_stream_stats(const struct qktls_stream *s,
			struct qktls_stream_stats *st);

/**
 * qktls_stream_error() - what the last failure of one direction was
 * @s:   a stream
 * @dir: QKTLS_DIR_TX (write, sendfile, rekey) or QKTLS_DIR_RX (read);
 *       call from that direction's thread
 *
 * Return: a message ("write: Required key not available: a QKD rekey was
 * due, ..."; the kernel's own for a rekey it refused), or "".
 */
const char *qktls_stream_error(const struct qktls_stream *s, enum qktls_dir dir);

#ifdef __cplusplus
}
#endif
#endif /* QKTLS_STREAM_H */
