/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qktls/handshake.h - hand a connected TCP socket to the qktlsd agent for a
 * TLS 1.3 handshake, and read records from the resulting kTLS socket.
 *
 * The application connects (or accepts) a TCP socket itself and calls
 * qktls_handshake().  The agent receives the socket over its Unix socket
 * (SCM_RIGHTS), checks the caller's credentials (SO_PEERCRED) against the
 * link's allowed users and groups, runs the handshake on that very socket,
 * installs the traffic keys with TLS_TX / TLS_RX, wipes its copies and
 * answers.  From then on the application uses plain read/write/sendfile on
 * its socket; the records are kTLS's.  See libqktls(3) and
 * Documentation/qktls/agent.rst.
 *
 * The wire format between library and agent (one request datagram with the
 * socket attached, one reply datagram, over SOCK_SEQPACKET) is defined here
 * too; both ends are built from this header.
 */
#ifndef QKTLS_HANDSHAKE_H
#define QKTLS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where qktlsd listens unless configured otherwise. */
#define QKTLS_AGENT_SOCKET_DEFAULT	"/run/qktlsd/qktlsd.sock"
/*
 * Environment variables (ignored by a process running with privileges it
 * did not start with: setuid, setgid, file capabilities; secure_getenv):
 * the socket path for qktls_handshake(); the seconds to wait for the agent
 * (default QKTLS_AGENT_TIMEOUT_DEFAULT, 1 to 3600); one more uid the agent
 * may run as (besides root, the caller's own and QKTLS_AGENT_USER's).
 */
#define QKTLS_AGENT_SOCKET_ENV		"QKTLS_AGENT_SOCKET"
#define QKTLS_AGENT_TIMEOUT_ENV		"QKTLS_AGENT_TIMEOUT"
#define QKTLS_AGENT_TIMEOUT_DEFAULT	60
#define QKTLS_AGENT_UID_ENV		"QKTLS_AGENT_UID"
/* The user the packaged qktlsd.service runs as. */
#define QKTLS_AGENT_USER		"qktlsd"

#define QKTLS_AGENT_PROTO_VERSION	1
#define QKTLS_LINK_NAME_MAX		64	/* including the NUL */

enum qktls_role {
	QKTLS_ROLE_CLIENT = 1,	/* the socket was connect()ed */
	QKTLS_ROLE_SERVER = 2,	/* the socket was accept()ed */
};

/**
 * struct qktls_result - outcome of one handshake
 * @status:       0, or a negative errno: -EACCES (caller not allowed on the
 *                link), -ENOENT (no such link), -EINVAL (bad request or
 *                socket), -ENOKEY (QKD policy "required" and no QKD key),
 *                -EPROTO (TLS handshake failed: @error says why),
 *                -ETIMEDOUT, -EBUSY (agent overloaded), -ECONNREFUSED
 *                (no agent), -EIO (kTLS install failed), -EPERM (the
 *                process at the socket is not a trusted agent)
 * @qkd_used:     1 if a QKD key went into the handshake secret
 * @suite:        IANA value of the cipher suite (e.g. 0x1302)
 * @flags:        QKTLS_RESULT_* bits (0 from agents before they existed)
 * @group:        negotiated group, e.g. "qktls-X25519MLKEM768"
 * @suite_name:   e.g. "TLS_AES_256_GCM_SHA384"
 * @peer_subject: subject of the peer's certificate (RFC 2253)
 * @qkd_ref:      the QKD key reference used, 32 hex digits, or ""
 * @qkd_note:     why no QKD key was used (policy off, pool empty, peer
 *                without QKD...), or ""
 * @error:        what went wrong, or ""
 *
 * Never contains key material.
 */
struct qktls_result {
	int32_t status;
	uint32_t qkd_used;
	uint16_t suite;
	uint16_t flags;
	char group[64];
	char suite_name[48];
	char peer_subject[256];
	char qkd_ref[33];
	char qkd_note[159];
	char error[256];
};

/* struct qktls_result flags. */
#define QKTLS_RESULT_QKD_UPDATE	(1U << 0) /* QKD key update negotiated */
#define QKTLS_RESULT_ATTACHED	(1U << 1) /* socket attached to qktls.ko */
#define QKTLS_RESULT_QKD_REQUIRED (1U << 2) /* the link's QKD policy is "required" */

/* Request datagram; exactly one SCM_RIGHTS descriptor rides with it. */
struct qktls_agent_request {
	uint32_t version;	/* QKTLS_AGENT_PROTO_VERSION */
	uint32_t role;		/* enum qktls_role */
	char link[QKTLS_LINK_NAME_MAX];
};

/* Reply datagram. */
struct qktls_agent_reply {
	uint32_t version;
	uint32_t reserved;
	struct qktls_result result;
};

/**
 * qktls_handshake() - have qktlsd run a TLS 1.3 handshake on a socket
 * @fd:   a connected TCP socket; no byte of it may have been read or written
 *        as TLS yet.  The agent makes it non-blocking while it works and
 *        restores its flags before replying.
 * @link: name of a link in qktlsd.conf
 * @role: QKTLS_ROLE_CLIENT or QKTLS_ROLE_SERVER; must be the link's role
 * @out:  receives the outcome (also on failure); may be NULL
 *
 * Talks to the agent at $QKTLS_AGENT_SOCKET, or QKTLS_AGENT_SOCKET_DEFAULT.
 * Hands the socket over only to a process running as a trusted uid (root,
 * the caller's effective uid, QKTLS_AGENT_USER or $QKTLS_AGENT_UID; -EPERM
 * otherwise, SO_PEERCRED).  Waits at most $QKTLS_AGENT_TIMEOUT seconds
 * (default 60) for each step (-ETIMEDOUT).  A reply of success counts only
 * when the kernel has kTLS keys on @fd in both directions (-EPROTO
 * otherwise).
 *
 * Return: 0 when @fd carries kTLS in both directions; otherwise a negative
 * errno (as in &struct qktls_result.status) and @fd must be closed.
 */
int qktls_handshake(int fd, const char *link, enum qktls_role role,
		    struct qktls_result *out);

/**
 * qktls_handshake_at() - qktls_handshake() with an explicit agent socket
 * @agent: path of qktlsd's Unix socket
 * Other arguments and return value as qktls_handshake().
 */
int qktls_handshake_at(const char *agent, int fd, const char *link,
		       enum qktls_role role, struct qktls_result *out);

/* TLS content types (RFC 8446 section 5.1). */
#define QKTLS_RECORD_ALERT		21
#define QKTLS_RECORD_HANDSHAKE		22
#define QKTLS_RECORD_APPLICATION_DATA	23

/**
 * qktls_recv_record() - read from a kTLS socket and learn the record type
 * @fd:    a kTLS socket (TLS_RX installed)
 * @buf:   receives the data
 * @len:   room in @buf
 * @type:  receives the TLS content type of the data (QKTLS_RECORD_*)
 * @flags: recvmsg() flags (e.g. MSG_DONTWAIT)
 *
 * Plain read() fails with EIO when the next record is not application data;
 * this helper uses recvmsg() with a TLS_GET_RECORD_TYPE control message so
 * alerts (e.g. close_notify) and handshake messages (e.g. KeyUpdate) can be
 * read.  One call never returns data of two record types.
 *
 * Return: bytes read (0 at end of stream), or a negative errno.
 */
ssize_t qktls_recv_record(int fd, void *buf, size_t len, uint8_t *type,
			  int flags);

/**
 * qktls_send_record() - send one record of a given type on a kTLS socket
 * @fd:   a kTLS socket (TLS_TX installed)
 * @type: TLS content type (QKTLS_RECORD_*)
 * @buf:  record content
 * @len:  its length
 *
 * Return: 0 when all of @buf was sent, or a negative errno.
 */
int qktls_send_record(int fd, uint8_t type, const void *buf, size_t len);

/**
 * qktls_send_close_notify() - send the TLS close_notify alert
 * @fd: a kTLS socket (TLS_TX installed)
 *
 * kTLS sends no alert of its own when a socket is closed; a peer running a
 * userspace TLS stack expects close_notify before the end of the stream.
 *
 * Return: 0 or a negative errno.
 */
int qktls_send_close_notify(int fd);

#ifdef __cplusplus
}
#endif
#endif /* QKTLS_HANDSHAKE_H */
