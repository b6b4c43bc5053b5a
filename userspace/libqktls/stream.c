// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Stream helpers over a kTLS socket attached to qktls.ko: TX rekeys by
 * policy between records, RX control records (QKD key reference,
 * KeyUpdate, NewSessionTicket, alerts) handled in the read path.
 *
 * The writer's state (its netlink handle, byte and time counters, error
 * text) is touched by the writer thread only, the reader's by the reader
 * thread only; what crosses between them is the "update requested" flag
 * and the counters, both atomic.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/qktls.h>

#include <qktls/handshake.h>
#include <qktls/stream.h>

#define HS_KEY_UPDATE		24	/* RFC 8446 HandshakeType key_update */
#define HS_NEW_SESSION_TICKET	4
#define HS_HDR			4	/* type, uint24 length */
#define HS_MAX_BODY		QKTLS_QKD_REF_LEN	/* the longest we keep */
#define RECORD_MAX		16384	/* TLS plaintext per record */
#define HS_REF_RECORD		(HS_HDR + QKTLS_QKD_REF_LEN)	/* 20 bytes */

/* TLS alerts the reader asks the writer to send (RFC 8446 section 6). */
#define ALERT_UNEXPECTED_MESSAGE	10
#define ALERT_ILLEGAL_PARAMETER		47
#define ALERT_DECODE_ERROR		50

/* One atomic counter per field of struct qktls_stream_stats. */
#define N_STATS (sizeof(struct qktls_stream_stats) / sizeof(uint64_t))
enum stat {
	ST_BYTES_WRITTEN, ST_BYTES_READ, ST_TX_REKEYS, ST_TX_POLICY,
	ST_TX_REQUESTED, ST_TX_QKD, ST_RX_REKEYS, ST_RX_QKD,
	ST_UPDATES_REQUESTED, ST_REKEY_ERRORS, ST_QKD_FALLBACKS, ST_TICKETS,
};
_Static_assert(ST_TICKETS + 1 == N_STATS, "one enum stat per counter");

struct qktls_stream {
	int fd;
	unsigned int flags;
	bool attached;
	struct qktls_sock_info info;	/* as read at open */
	atomic_bool update_requested;	/* reader -> writer */
	atomic_int alert;		/* reader -> writer: fatal alert to send */
	atomic_uint_fast64_t stats[N_STATS];

	/* Writer. */
	struct qktls_nl *tx_nl;
	uint64_t tx_since;		/* bytes under the current TX key */
	uint64_t tx_records;		/* records under it, at most */
	uint64_t record_limit;		/* AEAD limit: records per key, 0 none */
	struct timespec tx_key_time;	/* when it was installed */
	bool policy_off;		/* the kernel cannot rekey: stop trying */
	bool due;			/* the module said a rekey is due */
	bool alert_sent;		/* the connection is dead */
	char tx_err[256];

	/* Reader. */
	struct qktls_nl *rx_nl;
	uint8_t hs[HS_HDR + HS_MAX_BODY];	/* handshake message being read */
	size_t hs_len;
	size_t hs_skip;			/* bytes of an ignored message left */
	uint8_t ref[QKTLS_QKD_REF_LEN];	/* announced by the peer */
	bool ref_set;
	uint8_t alert_in[2];		/* alert being read */
	size_t alert_len;
	bool eof;
	int rx_fatal;			/* sticky read error */
	char rx_err[256];
};

static void count(struct qktls_stream *s, enum stat i, uint64_t n)
{
	atomic_fetch_add_explicit(&s->stats[i], n, memory_order_relaxed);
}

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/*
 * Records one TX key may protect.  RFC 8446 section 5.5 allows AES-GCM
 * 2^24.5 full-size records per key; a high-throughput link reaches that
 * within minutes, so the stream rekeys at 2^24 even without a policy.
 * ChaCha20-Poly1305's limit lies beyond the sequence number's.
 */
static uint64_t aead_record_limit(uint16_t suite)
{
	return suite == QKTLS_TLS_CHACHA20_POLY1305_SHA256 ? 0 : 1ULL << 24;
}

/* The AEAD's limit, or the module's records policy if that is tighter. */
static uint64_t default_record_limit(const struct qktls_stream *s)
{
	uint64_t aead = aead_record_limit(s->info.suite);
	uint64_t policy = s->info.rekey_records;

	if (!aead || !policy)
		return aead ? aead : policy;
	return policy < aead ? policy : aead;
}

int qktls_stream_open(int fd, unsigned int flags, struct qktls_stream **out)
{
	struct qktls_stream *s;
	int ret;

	if (!out || fd < 0 ||
	    (flags & ~(QKTLS_STREAM_NO_POLICY | QKTLS_STREAM_QKD_STRICT)))
		return -QKTLS_E_ARG;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->flags = flags;
	clock_gettime(CLOCK_MONOTONIC, &s->tx_key_time);
	ret = qktls_nl_open(&s->tx_nl);
	if (ret == -QKTLS_E_NOMODULE) {
		*out = s;	/* plain kTLS */
		return 0;
	}
	if (!ret)
		ret = qktls_nl_open(&s->rx_nl);
	if (!ret) {
		ret = qktls_sock_get(s->tx_nl, fd, &s->info);
		if (!ret) {
			s->attached = true;
			s->record_limit = default_record_limit(s);
			s->tx_since = s->info.stats.tx_bytes;
			s->due = s->info.rekey_due;
			s->tx_key_time.tv_sec -= s->info.stats.tx_key_age_ms / 1000;
		} else if (ret == -QKTLS_E_NOTATTACHED) {
			ret = 0;
		}
	}
	if (ret) {
		qktls_stream_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

void qktls_stream_close(struct qktls_stream *s)
{
	if (!s)
		return;
	qktls_nl_close(s->tx_nl);
	qktls_nl_close(s->rx_nl);
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

/* --- writer --------------------------------------------------------------- */

static int tx_fail(struct qktls_stream *s, int err, const char *what,
		   const char *detail)
{
	snprintf(s->tx_err, sizeof(s->tx_err), "%s: %s", what,
		 detail && *detail ? detail : qktls_strerror(err));
	return err;
}

/* The flags a policy or answering rekey uses. */
static unsigned int auto_flags(const struct qktls_stream *s)
{
	return s->info.qkd_update ? QKTLS_REKEY_QKD : 0;
}

static int tx_rekey(struct qktls_stream *s, unsigned int flags, enum stat why)
{
	int ret;

	if (!s->attached)
		return tx_fail(s, -QKTLS_E_NOTATTACHED, "TX rekey", NULL);
	ret = qktls_sock_rekey_tx(s->tx_nl, s->fd, flags, NULL);
	if (ret == -ENOKEY && (flags & QKTLS_REKEY_QKD) && why == ST_TX_POLICY &&
	    !(s->flags & QKTLS_STREAM_QKD_STRICT)) {
		count(s, ST_QKD_FALLBACKS, 1);
		snprintf(s->tx_err, sizeof(s->tx_err), "QKD rekey: %s; did a "
			 "standard update instead", qktls_nl_error(s->tx_nl));
		ret = qktls_sock_rekey_tx(s->tx_nl, s->fd,
					  flags & ~QKTLS_REKEY_QKD, NULL);
	}
	if (ret < 0) {
		count(s, ST_REKEY_ERRORS, 1);
		return tx_fail(s, ret, "TX rekey", qktls_nl_error(s->tx_nl));
	}
	clock_gettime(CLOCK_MONOTONIC, &s->tx_key_time);
	s->tx_since = 0;
	s->tx_records = 0;
	s->due = false;
	count(s, ST_TX_REKEYS, 1);
	if (why != ST_TX_REKEYS)
		count(s, why, 1);
	if (ret == 1)
		count(s, ST_TX_QKD, 1);
	return ret;
}

static bool policy_active(const struct qktls_stream *s)
{
	return s->attached && !s->policy_off &&
	       !(s->flags & QKTLS_STREAM_NO_POLICY) &&
	       (s->info.rekey_bytes || s->info.rekey_seconds || s->due ||
		s->record_limit);
}

/*
 * Before writing: the update the peer asked for, then the policy.  A rekey
 * this kernel or socket cannot do at all stops the policy and lets the
 * data flow; any other failure fails the write.
 */
static int before_write(struct qktls_stream *s)
{
	enum stat why = 0;
	int ret, alert;

	alert = atomic_exchange(&s->alert, 0);
	if (alert) {
		uint8_t rec[2] = { 2 /* fatal */, (uint8_t)alert };

		qktls_send_record(s->fd, QKTLS_RECORD_ALERT, rec, sizeof(rec));
		s->alert_sent = true;
	}
	if (s->alert_sent)
		return tx_fail(s, -QKTLS_E_RECORD, "the connection failed",
			       "a fatal alert was sent after a protocol error "
			       "of the peer (see the read error)");
	if (atomic_exchange(&s->update_requested, false))
		why = ST_TX_REQUESTED;
	else if (policy_active(s) &&
		 (s->due ||
		  (s->info.rekey_bytes && s->tx_since >= s->info.rekey_bytes) ||
		  (s->info.rekey_seconds &&
		   since(&s->tx_key_time) >= s->info.rekey_seconds) ||
		  (s->record_limit && s->tx_records >= s->record_limit)))
		why = ST_TX_POLICY;
	if (!why)
		return 0;
	ret = tx_rekey(s, auto_flags(s), why);
	if (ret == -QKTLS_E_NOREKEY || ret == -QKTLS_E_NOTATTACHED) {
		s->policy_off = true;
		return 0;
	}
	return ret < 0 ? ret : 0;
}

/* Bytes that may go out before the next policy rekey. */
static size_t tx_room(const struct qktls_stream *s, size_t len)
{
	uint64_t left = UINT64_MAX;

	if (!policy_active(s))
		return len;
	if (s->info.rekey_bytes)
		left = s->info.rekey_bytes - s->tx_since;
	/* Full records to the AEAD limit. */
	if (s->record_limit &&
	    (s->record_limit - s->tx_records) < left / RECORD_MAX)
		left = (s->record_limit - s->tx_records) * RECORD_MAX;
	return left < len ? (size_t)left : len;
}

struct tx_op {
	const uint8_t *buf;		/* write */
	int in_fd;			/* sendfile */
	off_t *offset;
};

typedef ssize_t (*tx_fn)(struct qktls_stream *s, struct tx_op *op, size_t n);

static ssize_t do_write(struct qktls_stream *s, struct tx_op *op, size_t n)
{
	ssize_t k = write(s->fd, op->buf, n);

	if (k > 0)
		op->buf += k;
	return k;
}

static ssize_t do_sendfile(struct qktls_stream *s, struct tx_op *op, size_t n)
{
	return sendfile(s->fd, op->in_fd, op->offset, n);
}

static ssize_t tx_loop(struct qktls_stream *s, struct tx_op *op, size_t len,
		       tx_fn fn)
{
	size_t done = 0;

	while (done < len) {
		ssize_t k;
		int ret;

		ret = before_write(s);
		if (ret < 0)
			return done ? (ssize_t)done : ret;
		k = fn(s, op, tx_room(s, len - done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
			if (ret != -EAGAIN)
				tx_fail(s, ret, "write", NULL);
			return done ? (ssize_t)done : ret;
		}
		if (k == 0)
			break;	/* sendfile: end of the input file */
		done += k;
		s->tx_since += k;
		/* kTLS ends a record at 16 KiB and at the end of each call. */
		s->tx_records += (k + RECORD_MAX - 1) / RECORD_MAX;
		count(s, ST_BYTES_WRITTEN, k);
	}
	return done;
}

ssize_t qktls_stream_write(struct qktls_stream *s, const void *buf, size_t len)
{
	struct tx_op op = { .buf = buf };

	if (!s || (!buf && len))
		return -QKTLS_E_ARG;
	return tx_loop(s, &op, len, do_write);
}

ssize_t qktls_stream_sendfile(struct qktls_stream *s, int in_fd, off_t *offset,
			      size_t count)
{
	struct tx_op op = { .in_fd = in_fd, .offset = offset };

	if (!s || in_fd < 0)
		return -QKTLS_E_ARG;
	return tx_loop(s, &op, count, do_sendfile);
}

int qktls_stream_rekey(struct qktls_stream *s, unsigned int flags)
{
	if (!s || (flags & ~(QKTLS_REKEY_QKD | QKTLS_REKEY_REQUEST_UPDATE |
			     QKTLS_STREAM_REKEY_AUTO)))
		return -QKTLS_E_ARG;
	if (flags & QKTLS_STREAM_REKEY_AUTO)
		flags = (flags & ~QKTLS_STREAM_REKEY_AUTO) | auto_flags(s);
	/* This update also answers a request of the peer, if one is pending. */
	atomic_store(&s->update_requested, false);
	return tx_rekey(s, flags, ST_TX_REKEYS);
}

int qktls_stream_set_record_limit(struct qktls_stream *s, uint64_t records)
{
	uint64_t def;

	if (!s)
		return -QKTLS_E_ARG;
	def = default_record_limit(s);
	if (!records)
		records = def;
	else if (def && records > def)
		return -QKTLS_E_ARG;	/* only ever tighter */
	s->record_limit = s->attached ? records : 0;
	return 0;
}

int qktls_stream_close_notify(struct qktls_stream *s)
{
	if (!s)
		return -QKTLS_E_ARG;
	return qktls_send_close_notify(s->fd);
}

/* --- reader --------------------------------------------------------------- */

/*
 * A fatal read error: every later read returns @err.  A protocol error
 * (@alert non-zero) also asks the writer to send that alert (the reader
 * never writes); the connection is dead either way.
 */
static int rx_fail(struct qktls_stream *s, int err, int alert,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int rx_fail(struct qktls_stream *s, int err, int alert,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->rx_err, sizeof(s->rx_err), fmt, ap);
	va_end(ap);
	s->rx_fatal = err;
	if (alert)
		atomic_store(&s->alert, alert);
	return err;
}

/* A protocol error of the peer: -QKTLS_E_RECORD and @alert. */
#define rx_proto(s, alert, ...) rx_fail(s, -QKTLS_E_RECORD, alert, __VA_ARGS__)

static const char *alert_name(uint8_t desc)
{
	switch (desc) {
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 22: return "record_overflow";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 80: return "internal_error";
	case 90: return "user_canceled";
	case 110: return "unsupported_extension";
	case 116: return "certificate_required";
	}
	return "alert";
}

/* The peer's KeyUpdate: install the next RX key through the module. */
static int key_update(struct qktls_stream *s, uint8_t request)
{
	bool qkd = s->ref_set;
	int ret;

	if (request > 1)
		return rx_proto(s, ALERT_ILLEGAL_PARAMETER, "KeyUpdate with "
				"request_update %u (RFC 8446 allows 0 and 1)",
				request);
	if (!s->attached)
		return rx_fail(s, -QKTLS_E_NOTATTACHED, 0, "the peer sent a "
			       "KeyUpdate and the socket is not attached to "
			       "qktls.ko: the next RX key cannot be installed");
	ret = qktls_sock_rekey_rx(s->rx_nl, s->fd, qkd ? s->ref : NULL);
	s->ref_set = false;
	if (ret < 0) {
		count(s, ST_REKEY_ERRORS, 1);
		return rx_fail(s, ret, ret == -ENOKEY ? ALERT_ILLEGAL_PARAMETER : 0,
			       "cannot follow the peer's %sKeyUpdate: %s",
			       qkd ? "QKD " : "", qktls_nl_error(s->rx_nl));
	}
	count(s, ST_RX_REKEYS, 1);
	if (qkd)
		count(s, ST_RX_QKD, 1);
	if (request) {
		count(s, ST_UPDATES_REQUESTED, 1);
		atomic_store(&s->update_requested, true);
	}
	return 0;
}

/* A whole handshake message in s->hs; @more: bytes follow in its record. */
static int handshake_msg(struct qktls_stream *s, bool more)
{
	if (s->hs[0] == QKTLS_HS_QKD_KEY_REF) {
		if (!s->info.qkd_update)
			return rx_proto(s, ALERT_UNEXPECTED_MESSAGE, "QKD key "
					"reference received, but the QKD key update "
					"was not negotiated");
		if (s->ref_set)
			return rx_proto(s, ALERT_UNEXPECTED_MESSAGE, "two QKD key "
					"references without a KeyUpdate");
		memcpy(s->ref, s->hs + HS_HDR, QKTLS_QKD_REF_LEN);
		s->ref_set = true;
		return 0;
	}
	/* KeyUpdate: kTLS stops RX after its record, so it must end it. */
	if (more)
		return rx_proto(s, ALERT_UNEXPECTED_MESSAGE, "KeyUpdate not "
				"alone at the end of its record");
	return key_update(s, s->hs[HS_HDR]);
}

/*
 * Handshake bytes, as kTLS delivers them: a message may arrive over several
 * reads (a small buffer).  Only whole messages are acted on, and only the
 * ones this end expects after the handshake are kept.  @room is the size of
 * the buffer the read had: n < room means the read holds its whole record
 * (kTLS returns one control record per read), and room is always more than
 * the 20 bytes of a QKD key reference record.
 */
static int handshake_bytes(struct qktls_stream *s, const uint8_t *p, size_t n,
			   size_t room)
{
	const uint8_t *start = p;
	size_t got = n;

	while (n) {
		size_t k, body;

		if (s->hs_skip) {
			k = n < s->hs_skip ? n : s->hs_skip;
			s->hs_skip -= k;
			p += k;
			n -= k;
			continue;
		}
		body = s->hs_len >= HS_HDR ?
		       (size_t)s->hs[1] << 16 | s->hs[2] << 8 | s->hs[3] : 0;
		k = HS_HDR + body - s->hs_len;
		k = k < n ? k : n;
		memcpy(s->hs + s->hs_len, p, k);
		s->hs_len += k;
		p += k;
		n -= k;
		if (s->hs_len < HS_HDR)
			continue;
		body = (size_t)s->hs[1] << 16 | s->hs[2] << 8 | s->hs[3];
		if (s->hs_len == HS_HDR) {
			/* Header complete: decide before taking the body. */
			if (s->ref_set && s->hs[0] != HS_KEY_UPDATE)
				return rx_proto(s, ALERT_UNEXPECTED_MESSAGE, "QKD "
						"key reference not followed by a "
						"KeyUpdate");
			switch (s->hs[0]) {
			case HS_NEW_SESSION_TICKET:
				/* Resumption is off: skip it. */
				s->hs_skip = body;
				s->hs_len = 0;
				count(s, ST_TICKETS, 1);
				continue;
			case QKTLS_HS_QKD_KEY_REF:
				if (body != QKTLS_QKD_REF_LEN)
					return rx_proto(s, ALERT_DECODE_ERROR,
							"QKD key reference of %zu "
							"bytes (expected %d)", body,
							QKTLS_QKD_REF_LEN);
				/*
				 * Alone in a record of exactly 20 bytes
				 * (key-update.rst): this read began with it
				 * and holds the whole record.
				 */
				if (p - start != HS_HDR)
					return rx_proto(s, ALERT_DECODE_ERROR,
							"QKD key reference not "
							"alone in its record");
				if (got != HS_REF_RECORD)
					return rx_proto(s, ALERT_DECODE_ERROR,
							"QKD key reference record "
							"of %s%zu bytes (expected "
							"exactly %d)",
							got == room ? "at least " : "",
							got, HS_REF_RECORD);
				break;
			case HS_KEY_UPDATE:
				if (body != 1)
					return rx_proto(s, ALERT_DECODE_ERROR,
							"KeyUpdate of %zu bytes "
							"(expected 1)", body);
				break;
			default:
				return rx_proto(s, ALERT_UNEXPECTED_MESSAGE,
						"unexpected handshake message "
						"type %u after the handshake",
						s->hs[0]);
			}
		}
		if (s->hs_len < HS_HDR + body)
			continue;
		s->hs_len = 0;
		if (handshake_msg(s, n > 0))
			return s->rx_fatal;
	}
	return 0;
}

/* Alert bytes (2 per alert; a 1-byte buffer reads them one by one). */
static int alert_bytes(struct qktls_stream *s, const uint8_t *p, size_t n)
{
	while (n--) {
		s->alert_in[s->alert_len++] = *p++;
		if (s->alert_len < sizeof(s->alert_in))
			continue;
		s->alert_len = 0;
		if (s->alert_in[1] == 0) {		/* close_notify */
			if (n)
				return rx_proto(s, ALERT_DECODE_ERROR, "data after "
						"close_notify in its record");
			s->eof = true;
			return 0;
		}
		return rx_proto(s, 0, "the peer sent the TLS alert %s (%u)",
				alert_name(s->alert_in[1]), s->alert_in[1]);
	}
	return 0;
}

ssize_t qktls_stream_read(struct qktls_stream *s, void *buf, size_t len)
{
	uint8_t type, small[HS_REF_RECORD + 1];
	size_t room;
	void *rbuf;
	ssize_t n;

	if (!s || (!buf && len))
		return -QKTLS_E_ARG;
	for (;;) {
		if (s->rx_fatal)
			return s->rx_fatal;
		if (s->eof || !len)
			return 0;
		/*
		 * A control record goes into a buffer of more than 20 bytes,
		 * so that the length of a key reference record is known: with
		 * a smaller one, peek at the record's type first.
		 */
		rbuf = buf;
		room = len;
		if (len < sizeof(small) &&
		    qktls_recv_record(s->fd, small, sizeof(small), &type,
				      MSG_PEEK) > 0 &&
		    type != QKTLS_RECORD_APPLICATION_DATA) {
			rbuf = small;
			room = sizeof(small);
		}
		n = qktls_recv_record(s->fd, rbuf, room, &type, 0);
		if (n == -EKEYEXPIRED)
			return rx_proto(s, 0, "reads expired: a KeyUpdate was "
					"read outside the stream helper");
		if (n < 0) {
			if (n != -EAGAIN && n != -EINTR)
				rx_fail(s, (int)n, 0, "read: %s",
					qktls_strerror((int)n));
			return n;
		}
		if (n == 0)
			return 0;
		switch (type) {
		case QKTLS_RECORD_APPLICATION_DATA:
			if (rbuf != buf)	/* the type changed after the peek */
				return rx_proto(s, 0, "records read by another "
						"thread at the same time");
			if (s->ref_set || s->hs_len || s->hs_skip || s->alert_len)
				return rx_proto(s, ALERT_UNEXPECTED_MESSAGE,
						"application data inside a "
						"handshake message, an alert, or "
						"between a QKD key reference and "
						"its KeyUpdate");
			count(s, ST_BYTES_READ, n);
			return n;
		case QKTLS_RECORD_HANDSHAKE:
			if (handshake_bytes(s, rbuf, n, room))
				return s->rx_fatal;
			continue;
		case QKTLS_RECORD_ALERT:
			if (alert_bytes(s, rbuf, n))
				return s->rx_fatal;
			continue;
		default:
			return rx_proto(s, ALERT_UNEXPECTED_MESSAGE, "unexpected "
					"TLS record of content type %u", type);
		}
	}
}
