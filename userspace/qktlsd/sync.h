/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qktlsd: the agents' key agreement session apart from its transport.
 * sync_proto.c speaks the protocol (Documentation/qktls/key-agreement.rst)
 * over a struct qd_sync_io; sync.c gives it the TLS session with the peer
 * agent, the fuzz targets and unit tests a session in memory (fake.c).
 */
#ifndef QKTLSD_SYNC_H
#define QKTLSD_SYNC_H

#include "feed.h"

#define SYNC_VERSION		2	/* 2: pools reconciled, not wiped */
#define SYNC_UUID_LEN		36	/* a key ID on the wire */
#define SYNC_LEVEL_NONE		0xffffffffu	/* a store the agent does not keep */
/* The longest body (an OFFER of 64 keys has 2374 bytes); longer: malformed. */
#define SYNC_BODY_MAX		4096
/* Key IDs (16 bytes each) per HELD message. */
#define SYNC_HELD_MAX		240

/*
 * TLS extension in the master's ClientHello: its own SAE ID (1 to 255
 * bytes), so that a slave SAE with links to several masters picks the link
 * of this SAE pair before it chooses the certificate and CA.
 */
#define SYNC_EXT_MASTER_SAE	0xff38

/* Message types: a 4-byte header (type, 0, body length) and the body. */
enum {
	SYNC_MSG_HELLO = 1,
	SYNC_MSG_WELCOME = 2,
	SYNC_MSG_LEVELS = 3,
	SYNC_MSG_OFFER = 4,
	SYNC_MSG_ACK = 5,
	SYNC_MSG_NAK = 6,
	SYNC_MSG_COMMIT = 7,
	SYNC_MSG_ERROR = 8,
	SYNC_MSG_HELD = 9,
	SYNC_MSG_MISSING = 10,
};

/* ERROR codes. */
enum {
	SYNC_ERR_VERSION = 1,		/* unsupported protocol version */
	SYNC_ERR_LINK = 2,		/* no link for this SAE pair */
	SYNC_ERR_MALFORMED = 3,		/* a message does not parse, or is unexpected */
	SYNC_ERR_STORE = 4,		/* a store refused the keys */
	SYNC_ERR_KEY_SIZE = 5,		/* the agents disagree on the key size */
};

struct qd_sync_io {
	void *ctx;
	/* Read exactly @n bytes: 0, or -1 when the session ended or broke. */
	int (*read)(void *ctx, void *buf, size_t n);
	/* Write all @n bytes: 0 or -1. */
	int (*write)(void *ctx, const void *buf, size_t n);
	/*
	 * Wait up to @ms (-1: no limit) for input or a kick of the feeder:
	 * true when there is input to read; else *@kicked says whether the
	 * feeder was kicked (false: the time ran out).
	 */
	bool (*wait)(void *ctx, int ms, bool *kicked);
	int fd;		/* the session's socket (the link's session_fd), or -1 */
};

/*
 * One session of the link's master or slave agent over @io, from HELLO to
 * its end: 0 when the feeder stops, -1 when the session broke or one side
 * refused it (after an ERROR, which is then the last message written).
 */
int qd_sync_run_master(struct qd_feed *f, const struct qd_sync_io *io);
int qd_sync_run_slave(struct qd_feed *f, const struct qd_sync_io *io);
/* The feeder of @f is being stopped. */
bool qd_sync_stopping(struct qd_feed *f);

#endif /* QKTLSD_SYNC_H */
