// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Stream helpers: optional conveniences over plain write(), sendfile() and
 * read() on a kTLS socket.  On a socket the agent attached, qktls.ko rekeys
 * TX by the link's policy inside the writes and consumes the peer's
 * handshake records and alerts inside the reads, so nothing here rekeys or
 * follows an update: the helpers retry after EINTR, finish partial writes,
 * count bytes and keep a message for the last failure of each direction.
 *
 * The writer's error text is touched by the writer thread only, the
 * reader's by the reader thread only; the counters are atomic.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <qktls/handshake.h>
#include <qktls/stream.h>

/* One atomic counter per field of struct qktls_stream_stats. */
#define N_STATS (sizeof(struct qktls_stream_stats) / sizeof(uint64_t))
enum stat {
	ST_BYTES_WRITTEN, ST_BYTES_READ, ST_TX_REKEYS, ST_TX_POLICY,
	ST_TX_REQUESTED, ST_TX_QKD, ST_RX_REKEYS, ST_RX_QKD,
	ST_UPDATES_REQUESTED, ST_REKEY_ERRORS, ST_QKD_FALLBACKS, ST_TICKETS,
};
_Static_assert(ST_TICKETS + 1 == N_STATS, "one enum stat per counter");

#define STREAM_FLAGS (QKTLS_STREAM_NO_POLICY | QKTLS_STREAM_QKD_STRICT)

struct qktls_stream {
	int fd;
	bool attached;
	struct qktls_sock_info info;	/* as read at open */
	atomic_uint_fast64_t stats[N_STATS];
	char tx_err[256];		/* writer thread */
	char rx_err[256];		/* reader thread */
};

static void count(struct qktls_stream *s, enum stat i, uint64_t n)
{
	atomic_fetch_add_explicit(&s->stats[i], n, memory_order_relaxed);
}

int qktls_stream_open(int fd, unsigned int flags, struct qktls_stream **out)
{
	struct qktls_stream *s;
	struct qktls_nl *nl;
	int ret;

	if (!out || fd < 0 || (flags & ~STREAM_FLAGS))
		return -QKTLS_E_ARG;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	/* Only to answer qktls_stream_attached(): no module, no attach. */
	ret = qktls_nl_open(&nl);
	if (!ret) {
		ret = qktls_sock_get(nl, fd, &s->info);
		s->attached = !ret;
		qktls_nl_close(nl);
	}
	if (ret && ret != -QKTLS_E_NOMODULE && ret != -QKTLS_E_NOTATTACHED) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void qktls_stream_close(struct qktls_stream *s)
{
	free(s);
}

bool qktls_stream_attached(const struct qktls_stream *s,
			   struct qktls_sock_info *info)
{
	if (info)
		*info = s->info;
	return s->attached;
}

int qktls_stream_sock_info(struct qktls_stream *s, struct qktls_sock_info *info)
{
	struct qktls_nl *nl;
	int ret;

	if (!s || !info)
		return -QKTLS_E_ARG;
	ret = qktls_nl_open(&nl);
	if (ret)
		return ret == -QKTLS_E_NOMODULE ? -QKTLS_E_NOTATTACHED : ret;
	ret = qktls_sock_get(nl, s->fd, info);
	qktls_nl_close(nl);
	return ret;
}

void qktls_stream_stats(const struct qktls_stream *s,
			struct qktls_stream_stats *st)
{
	uint64_t *dst = &st->bytes_written;

	for (size_t i = 0; i < N_STATS; i++)
		dst[i] = atomic_load_explicit(&((struct qktls_stream *)s)->stats[i],
					      memory_order_relaxed);
}

const char *qktls_stream_error(const struct qktls_stream *s, enum qktls_dir dir)
{
	return dir == QKTLS_DIR_RX ? s->rx_err : s->tx_err;
}

/*
 * What an errno of a kTLS socket means here, beyond strerror(): the
 * module's own failures on an attached socket, kTLS's on an unattached one.
 */
static const char *explain(const struct qktls_stream *s, enum qktls_dir dir,
			   int err)
{
	bool tx = dir == QKTLS_DIR_TX;

	switch (err) {
	case ENOKEY:
		return tx ? "a QKD rekey was due, the TX pool is empty and the "
			    "link's QKD policy is required: nothing was sent" :
			    "the peer's QKD key update names a key the RX pool "
			    "does not hold";
	case EKEYEXPIRED:
		return s->attached ? NULL : "the peer updated its key and the "
		       "socket is not attached to qktls.ko, which would "
		       "install the next one";
	case EIO:
		return s->attached || tx ? NULL : "a TLS record that is not "
		       "application data (the socket is not attached to "
		       "qktls.ko, which would consume it)";
	case ECONNRESET:
		return tx ? NULL : "a fatal TLS alert from the peer, or a TCP reset";
	case EPROTO:
		return tx ? NULL : "a malformed TLS record from the peer";
	}
	return NULL;
}

/* Keep the message for a failed call, return -@err. */
static ssize_t fail(struct qktls_stream *s, enum qktls_dir dir,
		    const char *call, int err)
{
	const char *why = explain(s, dir, err);

	snprintf(dir == QKTLS_DIR_RX ? s->rx_err : s->tx_err, sizeof(s->tx_err),
		 "%s: %s%s%s", call, strerror(err), why ? ": " : "",
		 why ? why : "");
	return -err;
}

/*
 * The end of a TX loop: the bytes done, or the error if there were none
 * (EAGAIN on a full non-blocking socket keeps no message).
 */
static ssize_t tx_end(struct qktls_stream *s, const char *call, size_t done,
		      int err)
{
	count(s, ST_BYTES_WRITTEN, done);
	if (done || !err)
		return done;
	if (err == EAGAIN)
		return -EAGAIN;
	return fail(s, QKTLS_DIR_TX, call, err);
}

ssize_t qktls_stream_write(struct qktls_stream *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	if (!s || (!buf && len))
		return -QKTLS_E_ARG;
	while (done < len) {
		/* A closed peer is EPIPE, never SIGPIPE in the application. */
		ssize_t k = send(s->fd, p + done, len - done, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return tx_end(s, "write", done, k ? errno : EIO);
		done += k;
	}
	return tx_end(s, "write", done, 0);
}

ssize_t qktls_stream_sendfile(struct qktls_stream *s, int in_fd, off_t *offset,
			      size_t count)
{
	size_t done = 0;

	if (!s || in_fd < 0)
		return -QKTLS_E_ARG;
	while (done < count) {
		ssize_t k = sendfile(s->fd, in_fd, offset, count - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return tx_end(s, "sendfile", done, errno);
		if (!k)
			break;	/* the end of @in_fd */
		done += k;
	}
	return tx_end(s, "sendfile", done, 0);
}

ssize_t qktls_stream_read(struct qktls_stream *s, void *buf, size_t len)
{
	ssize_t k;

	if (!s || (!buf && len))
		return -QKTLS_E_ARG;
	do
		k = read(s->fd, buf, len);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EAGAIN ? -EAGAIN : fail(s, QKTLS_DIR_RX, "read", errno);
	count(s, ST_BYTES_READ, k);
	return k;
}

/* An explicit TX rekey through the module; its message on failure. */
static int tx_rekey(struct qktls_stream *s, unsigned int flags)
{
	struct qktls_nl *nl;
	int ret;

	ret = s->attached ? qktls_nl_open(&nl) : -QKTLS_E_NOTATTACHED;
	if (ret) {
		snprintf(s->tx_err, sizeof(s->tx_err), "TX rekey: %s",
			 qktls_strerror(ret));
		return ret;
	}
	ret = qktls_sock_rekey_tx(nl, s->fd, flags, NULL);
	if (ret < 0)
		snprintf(s->tx_err, sizeof(s->tx_err), "TX rekey: %s",
			 qktls_nl_error(nl));
	qktls_nl_close(nl);
	return ret;
}

int qktls_stream_rekey(struct qktls_stream *s, unsigned int flags)
{
	int ret;

	if (!s || (flags & ~(QKTLS_REKEY_QKD | QKTLS_REKEY_REQUEST_UPDATE |
			     QKTLS_STREAM_REKEY_AUTO)))
		return -QKTLS_E_ARG;
	if (flags & QKTLS_STREAM_REKEY_AUTO)
		flags = (flags & ~QKTLS_STREAM_REKEY_AUTO) |
			(s->info.qkd_update ? QKTLS_REKEY_QKD : 0);
	ret = tx_rekey(s, flags);
	if (ret < 0) {
		count(s, ST_REKEY_ERRORS, 1);
		return ret;
	}
	count(s, ST_TX_REKEYS, 1);
	count(s, ST_TX_QKD, ret == 1);
	return ret;
}

int qktls_stream_set_record_limit(struct qktls_stream *s, uint64_t records)
{
	(void)records;	/* the module enforces the AEAD's and the policy's */
	return s ? 0 : -QKTLS_E_ARG;
}

int qktls_stream_close_notify(struct qktls_stream *s)
{
	if (!s)
		return -QKTLS_E_ARG;
	return qktls_send_close_notify(s->fd);
}
