// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The application side of the qktlsd hand-off (SCM_RIGHTS over a Unix
 * SOCK_SEQPACKET socket), and record helpers for kTLS sockets.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/tls.h>

#include <qktls/handshake.h>

#include "internal.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

static int fail(struct qktls_result *out, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct qktls_result *out, int err, const char *fmt, ...)
{
	va_list ap;

	if (out) {
		memset(out, 0, sizeof(*out));
		out->status = err;
		va_start(ap, fmt);
		vsnprintf(out->error, sizeof(out->error), fmt, ap);
		va_end(ap);
	}
	return err;
}

/*
 * The environment, unless the process runs with privileges it did not
 * start with (setuid, setgid, file capabilities): then the defaults.
 */
static const char *env(const char *name)
{
	const char *v = secure_getenv(name);

	return v && *v ? v : NULL;
}

/* Seconds to wait for the agent: $QKTLS_AGENT_TIMEOUT or the default. */
static unsigned int agent_timeout(void)
{
	const char *v = env(QKTLS_AGENT_TIMEOUT_ENV);
	unsigned long t;
	char *end;

	if (!v)
		return QKTLS_AGENT_TIMEOUT_DEFAULT;
	errno = 0;
	t = strtoul(v, &end, 10);
	return errno || *end || !t || t > 3600 ? QKTLS_AGENT_TIMEOUT_DEFAULT :
	       (unsigned int)t;
}

/*
 * The process behind the agent's socket may have the socket: root, this
 * process's own effective uid (which can do anything to it anyway), the
 * user QKTLS_AGENT_USER of the packaged service, or $QKTLS_AGENT_UID.
 */
static bool agent_trusted(uid_t uid)
{
	struct passwd pw, *pwp = NULL;
	const char *v = env(QKTLS_AGENT_UID_ENV);
	char buf[1024], *end;

	if (uid == 0 || uid == geteuid())
		return true;
	if (v) {
		unsigned long u;

		errno = 0;
		u = strtoul(v, &end, 10);
		if (!errno && !*end && u == uid)
			return true;
	}
	return !getpwnam_r(QKTLS_AGENT_USER, &pw, buf, sizeof(buf), &pwp) && pwp &&
	       pw.pw_uid == uid;
}

/*
 * The agent's reply.  An agent that refuses at once closes without reading
 * the request, and the first receive reports that (ECONNRESET) before the
 * reply it queued: the second one gets the reply.
 */
static ssize_t recv_reply(int s, struct qktls_agent_reply *rep, int flags)
{
	ssize_t n;
	int resets = 0;

	do
		n = recv(s, rep, sizeof(*rep), flags);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !resets++)));
	return n;
}

/* Connected to the agent at @agent, checked and with timeouts, or -errno. */
static int agent_connect(const char *agent, unsigned int timeout,
			 struct qktls_result *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout };
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int s, err;

	strcpy(sa.sun_path, agent);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail(out, -errno, "cannot create a Unix socket: %s",
			    strerror(errno));
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno == EAGAIN ? ETIMEDOUT : errno;
		close(s);
		return fail(out, -err, "cannot reach qktlsd at %s: %s", agent,
			    strerror(err));
	}
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &len)) {
		err = errno;
		close(s);
		return fail(out, -err, "cannot tell who listens at %s (SO_PEERCRED): "
			    "%s", agent, strerror(err));
	}
	if (!agent_trusted(uc.uid)) {
		close(s);
		return fail(out, -EPERM, "the process listening at %s runs as uid %u, "
			    "which is not qktlsd's (root, this process's uid, user "
			    QKTLS_AGENT_USER " or $" QKTLS_AGENT_UID_ENV "): the socket "
			    "was not handed over", agent, (unsigned int)uc.uid);
	}
	return s;
}

int qktls_handshake_at(const char *agent, int fd, const char *link,
		       enum qktls_role role, struct qktls_result *out)
{
	struct sockaddr_un sa;
	struct qktls_agent_request req;
	struct qktls_agent_reply rep;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	unsigned int timeout = agent_timeout();
	struct tls_crypto_info hdr;
	struct cmsghdr *cmsg;
	int s, err, tx, rx;
	ssize_t n;

	if (!agent || fd < 0 || !link ||
	    (role != QKTLS_ROLE_CLIENT && role != QKTLS_ROLE_SERVER))
		return fail(out, -EINVAL, "qktls_handshake: invalid argument (%s)",
			    strerror(EINVAL));
	if (strlen(link) >= QKTLS_LINK_NAME_MAX)
		return fail(out, -EINVAL, "link name '%s' is too long (%s)", link,
			    strerror(EINVAL));
	if (strlen(agent) >= sizeof(sa.sun_path))
		return fail(out, -EINVAL, "agent socket path '%s' is too long (%s)",
			    agent, strerror(EINVAL));
	s = agent_connect(agent, timeout, out);
	if (s < 0)
		return s;

	memset(&req, 0, sizeof(req));
	req.version = QKTLS_AGENT_PROTO_VERSION;
	req.role = role;
	strcpy(req.link, link);
	memset(&cbuf, 0, sizeof(cbuf));
	cmsg = CMSG_FIRSTHDR(&mh);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	do
		n = sendmsg(s, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(req)) {
		err = n < 0 ? -errno : -EIO;
		/*
		 * The agent may have answered (a refusal) and closed before
		 * reading the request: its answer is still queued here.
		 */
		if (err == -EPIPE || err == -ECONNRESET)
			n = recv_reply(s, &rep, MSG_DONTWAIT);
		if (n != (ssize_t)sizeof(rep)) {
			close(s);
			if (err == -EAGAIN)
				err = -ETIMEDOUT;
			return fail(out, err, "cannot send the socket to qktlsd: %s",
				    strerror(-err));
		}
	} else {
		n = recv_reply(s, &rep, 0);
	}
	err = n < 0 ? errno : 0;
	close(s);
	if (err == EAGAIN)
		return fail(out, -ETIMEDOUT, "qktlsd at %s did not answer within "
			    "%u s ($" QKTLS_AGENT_TIMEOUT_ENV ")", agent, timeout);
	if (n < 0)
		return fail(out, -err, "no reply from qktlsd: %s", strerror(err));
	if (n != (ssize_t)sizeof(rep) || rep.version != QKTLS_AGENT_PROTO_VERSION)
		return fail(out, -EPROTO, "malformed reply from qktlsd (%s)",
			    strerror(EPROTO));
	/* Strings from the agent are NUL-terminated by construction; make sure. */
	rep.result.group[sizeof(rep.result.group) - 1] = '\0';
	rep.result.suite_name[sizeof(rep.result.suite_name) - 1] = '\0';
	rep.result.peer_subject[sizeof(rep.result.peer_subject) - 1] = '\0';
	rep.result.qkd_ref[sizeof(rep.result.qkd_ref) - 1] = '\0';
	rep.result.qkd_note[sizeof(rep.result.qkd_note) - 1] = '\0';
	rep.result.error[sizeof(rep.result.error) - 1] = '\0';
	if (rep.result.status > 0)
		rep.result.status = -EPROTO;
	if (!rep.result.status) {
		/* Success only if the kernel says so too. */
		tx = qk_ktls_installed(fd, TLS_TX, &hdr);
		rx = qk_ktls_installed(fd, TLS_RX, &hdr);
		if (tx != 1 || rx != 1) {
			rep.result.status = -EPROTO;
			snprintf(rep.result.error, sizeof(rep.result.error),
				 "qktlsd reported success but the socket has no kTLS "
				 "key for %s%s%s", tx != 1 ? "sending" : "",
				 tx != 1 && rx != 1 ? " and " : "",
				 rx != 1 ? "receiving" : "");
		}
	}
	if (out)
		*out = rep.result;
	return rep.result.status;
}

int qktls_handshake(int fd, const char *link, enum qktls_role role,
		    struct qktls_result *out)
{
	const char *agent = env(QKTLS_AGENT_SOCKET_ENV);

	return qktls_handshake_at(agent ? agent : QKTLS_AGENT_SOCKET_DEFAULT,
				  fd, link, role, out);
}

ssize_t qktls_recv_record(int fd, void *buf, size_t len, uint8_t *type,
			  int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	if (fd < 0 || (!buf && len) || !type)
		return -EINVAL;
	do
		n = recvmsg(fd, &mh, flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*type = QKTLS_RECORD_APPLICATION_DATA;
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg))
		if (cmsg->cmsg_level == SOL_TLS &&
		    cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
			*type = *CMSG_DATA(cmsg);
	return n;
}

int qktls_send_record(int fd, uint8_t type, const void *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	if (fd < 0 || (!buf && len))
		return -EINVAL;
	memset(&cbuf, 0, sizeof(cbuf));
	cmsg = CMSG_FIRSTHDR(&mh);
	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*CMSG_DATA(cmsg) = type;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int qktls_send_close_notify(int fd)
{
	static const uint8_t alert[2] = { 1 /* warning */, 0 /* close_notify */ };

	return qktls_send_record(fd, QKTLS_RECORD_ALERT, alert, sizeof(alert));
}
