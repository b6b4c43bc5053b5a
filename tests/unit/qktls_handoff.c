// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hand-off between libqktls and qktlsd, without kTLS (in the build
 * root): the library's argument checks and errors when no agent listens;
 * the exact request it sends (one datagram, one descriptor that is the
 * caller's socket) and how it takes a reply, checked against a fake agent;
 * that it trusts only the real agent (issue 14 item 6): a fake agent under
 * another uid gets no socket (SO_PEERCRED) unless that uid is configured,
 * a reply of success on a socket without kTLS is refused, and a silent
 * agent times out with a clear error; and the real qktlsd refusing bad hand-offs before any TLS byte: unknown
 * link, wrong role, a descriptor that is not a TCP socket, an unconnected
 * socket, a peer address the link does not list, a request without a
 * descriptor or with two, and a truncated request; and a SIGHUP (a reload
 * of an unchanged file) does not stop it.  The TLS handshakes themselves are
 * tested in the VM (tests/kernel/qktlsd_handshake.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../lib/qktlsd_proc.h"

#include <qktls/handshake.h>


/* A connected TCP pair on 127.0.0.1: @c connected, @s accepted. */
static int tcp_pair(int *c, int *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		return -1;
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	*s = accept(l, NULL, NULL);
	close(l);
	return *s < 0 ? -1 : 0;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 4))
		return -1;
	return s;
}

TEST(bad_arguments)
{
	struct qktls_result r;
	char longname[QKTLS_LINK_NAME_MAX + 1];

	EXPECT_EQ(-EINVAL, qktls_handshake_at("/x", -1, "l", QKTLS_ROLE_CLIENT, &r));
	EXPECT_EQ(-EINVAL, r.status);
	EXPECT_NE(0, r.error[0]);
	EXPECT_EQ(-EINVAL, qktls_handshake_at("/x", 0, NULL, QKTLS_ROLE_CLIENT, &r));
	EXPECT_EQ(-EINVAL, qktls_handshake_at("/x", 0, "l", 7, &r));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	EXPECT_EQ(-EINVAL, qktls_handshake_at("/x", 0, longname, QKTLS_ROLE_CLIENT, &r));
	EXPECT_NE(NULL, strstr(r.error, "too long"));
	/* NULL result is allowed. */
	EXPECT_EQ(-EINVAL, qktls_handshake_at("/x", -1, "l", QKTLS_ROLE_CLIENT, NULL));
}

TEST(no_agent)
{
	struct qktls_result r;
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	EXPECT_EQ(-ENOENT, qktls_handshake_at("/nonexistent/qktlsd.sock", c, "l",
					      QKTLS_ROLE_CLIENT, &r));
	EXPECT_NE(NULL, strstr(r.error, "cannot reach qktlsd at /nonexistent/qktlsd.sock"));
	/* The environment variable picks the socket. */
	setenv(QKTLS_AGENT_SOCKET_ENV, "/nonexistent/env.sock", 1);
	EXPECT_EQ(-ENOENT, qktls_handshake(c, "l", QKTLS_ROLE_CLIENT, &r));
	EXPECT_NE(NULL, strstr(r.error, "/nonexistent/env.sock"));
	unsetenv(QKTLS_AGENT_SOCKET_ENV);
	close(c);
	close(s);
}

/* A fake agent: checks the request and answers @status in @reply_len bytes. */
struct fake {
	int lfd;
	ino_t want_ino;
	size_t reply_len;
	int status;
	int ok;		/* request as expected */
	int nfd;	/* descriptors it received */
};

static void *fake_agent(void *arg)
{
	struct fake *f = arg;
	struct qktls_agent_request req;
	struct qktls_agent_reply rep = { .version = QKTLS_AGENT_PROTO_VERSION };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cmsg;
	struct stat st;
	int u, fd = -1, nfd = 0;
	ssize_t n;

	u = accept(f->lfd, NULL, NULL);
	if (u < 0)
		return NULL;
	n = recvmsg(u, &mh, 0);
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg))
		if (cmsg->cmsg_type == SCM_RIGHTS) {
			nfd += (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
		}
	f->nfd = nfd;
	f->ok = n == sizeof(req) && nfd == 1 && fd >= 0 && !fstat(fd, &st) &&
		st.st_ino == f->want_ino && req.version == QKTLS_AGENT_PROTO_VERSION &&
		req.role == QKTLS_ROLE_SERVER && !strcmp(req.link, "dc1-dc2");
	if (fd >= 0)
		close(fd);
	rep.result.status = f->status;
	rep.result.qkd_used = 1;
	rep.result.suite = 0x1302;
	strcpy(rep.result.group, "qktls-X25519MLKEM768");
	strcpy(rep.result.suite_name, "TLS_AES_256_GCM_SHA384");
	strcpy(rep.result.qkd_ref, "00112233445566778899aabbccddeeff");
	/* Unterminated: the library must terminate it. */
	memset(rep.result.error, 'x', sizeof(rep.result.error));
	send(u, &rep, f->reply_len, MSG_NOSIGNAL);
	close(u);
	return NULL;
}

TEST(request_and_reply)
{
	char dir[] = "/tmp/qktls-handoff-XXXXXX", path[128];
	struct fake f = { .reply_len = sizeof(struct qktls_agent_reply) };
	struct qktls_result r;
	struct stat st;
	pthread_t t;
	int c, s;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	f.lfd = listen_unix(path);
	ASSERT_LE(0, f.lfd);
	ASSERT_EQ(0, tcp_pair(&c, &s));
	ASSERT_EQ(0, fstat(s, &st));
	f.want_ino = st.st_ino;

	/* A failure, with every field of the result passed on. */
	f.status = -ENOKEY;
	ASSERT_EQ(0, pthread_create(&t, NULL, fake_agent, &f));
	EXPECT_EQ(-ENOKEY, qktls_handshake_at(path, s, "dc1-dc2", QKTLS_ROLE_SERVER, &r));
	pthread_join(t, NULL);
	EXPECT_EQ(1, f.ok);
	EXPECT_EQ(1U, r.qkd_used);
	EXPECT_EQ(0x1302, r.suite);
	EXPECT_STREQ("qktls-X25519MLKEM768", r.group);
	EXPECT_STREQ("00112233445566778899aabbccddeeff", r.qkd_ref);
	EXPECT_EQ(sizeof(r.error) - 1, strlen(r.error));

	/* Success claimed on a socket the kernel has no kTLS on: refused. */
	f.status = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, fake_agent, &f));
	EXPECT_EQ(-EPROTO, qktls_handshake_at(path, s, "dc1-dc2", QKTLS_ROLE_SERVER, &r));
	pthread_join(t, NULL);
	EXPECT_EQ(1, f.ok);
	EXPECT_EQ(-EPROTO, r.status);
	EXPECT_STREQ("qktlsd reported success but the socket has no kTLS key for "
		     "sending and receiving", r.error);

	/* A short reply is a protocol error, not garbage. */
	f.reply_len = 10;
	ASSERT_EQ(0, pthread_create(&t, NULL, fake_agent, &f));
	EXPECT_EQ(-EPROTO, qktls_handshake_at(path, s, "dc1-dc2", QKTLS_ROLE_SERVER, &r));
	pthread_join(t, NULL);
	EXPECT_NE(NULL, strstr(r.error, "malformed reply"));

	close(f.lfd);
	close(c);
	close(s);
	unlink(path);
	rmdir(dir);
}

/*
 * A fake agent in a child running as @uid, on @path: serves @rounds
 * connections (fake_agent), then writes how many descriptors reached it.
 */
static pid_t fake_agent_as(uid_t uid, const char *path, int rounds, int out)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		_exit(1);
	{
		struct fake f = { .reply_len = sizeof(struct qktls_agent_reply),
				  .status = -ENOKEY };
		int total = 0;

		f.lfd = listen_unix(path);
		if (f.lfd < 0 || write(out, "L", 1) != 1)
			_exit(1);
		for (int i = 0; i < rounds; i++) {
			f.nfd = 0;
			fake_agent(&f);
			total += f.nfd;
		}
		_exit(write(out, &total, sizeof(total)) == sizeof(total) ? 0 : 1);
	}
}

TEST(agent_of_another_uid)
{
	char dir[] = "/tmp/qktls-handoff-XXXXXX", path[128], ch;
	struct qktls_result r;
	int c, s, p[2], got = -1, status;
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root (to run the fake agent as nobody)");
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, chmod(dir, 0777));
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	ASSERT_EQ(0, pipe(p));
	pid = fake_agent_as(65534, path, 2, p[1]);
	ASSERT_LT(0, pid);
	ASSERT_EQ(1, read(p[0], &ch, 1));
	ASSERT_EQ(0, tcp_pair(&c, &s));
	/* nobody is none of the agent's uids: nothing is handed over. */
	EXPECT_EQ(-EPERM, qktls_handshake_at(path, s, "dc1-dc2", QKTLS_ROLE_SERVER, &r));
	EXPECT_NE(NULL, strstr(r.error, "runs as uid 65534, which is not qktlsd's"));
	/* Unless it is the configured agent uid. */
	setenv(QKTLS_AGENT_UID_ENV, "65534", 1);
	EXPECT_EQ(-ENOKEY, qktls_handshake_at(path, s, "dc1-dc2", QKTLS_ROLE_SERVER, &r));
	unsetenv(QKTLS_AGENT_UID_ENV);
	ASSERT_EQ((ssize_t)sizeof(got), read(p[0], &got, sizeof(got)));
	EXPECT_EQ(1, got);	/* the second hand-off's socket only */
	waitpid(pid, &status, 0);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(p[0]);
	close(p[1]);
	close(c);
	close(s);
	unlink(path);
	rmdir(dir);
}

TEST(silent_agent)
{
	char dir[] = "/tmp/qktls-handoff-XXXXXX", path[128];
	struct qktls_result r;
	int l, c, s;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	l = listen_unix(path);	/* never accepts, never answers */
	ASSERT_LE(0, l);
	ASSERT_EQ(0, tcp_pair(&c, &s));
	setenv(QKTLS_AGENT_TIMEOUT_ENV, "1", 1);
	EXPECT_EQ(-ETIMEDOUT, qktls_handshake_at(path, s, "dc1-dc2", QKTLS_ROLE_SERVER, &r));
	unsetenv(QKTLS_AGENT_TIMEOUT_ENV);
	EXPECT_NE(NULL, strstr(r.error, "did not answer within 1 s ($QKTLS_AGENT_TIMEOUT)"));
	close(l);
	close(c);
	close(s);
	unlink(path);
	rmdir(dir);
}

TEST(recv_record_plain_socket)
{
	uint8_t buf[8], type = 0;
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	ASSERT_EQ(3, write(c, "abc", 3));
	/* Without kTLS there is no record type: application data. */
	EXPECT_EQ(3, qktls_recv_record(s, buf, sizeof(buf), &type, 0));
	EXPECT_EQ(QKTLS_RECORD_APPLICATION_DATA, type);
	EXPECT_EQ(-EINVAL, qktls_recv_record(s, buf, sizeof(buf), NULL, 0));
	EXPECT_EQ(-EAGAIN, qktls_recv_record(s, buf, sizeof(buf), &type, MSG_DONTWAIT));
	close(c);
	close(s);
}

/* The real agent with one server link, on a socket in a temporary directory. */
FIXTURE(agent) {
	char dir[64];
	char sock[128];
	pid_t pid;
};

FIXTURE_SETUP(agent)
{
	char conf[128];
	FILE *f;

	if (access(QKTLSD_BIN, X_OK))
		SKIP(return, QKTLSD_BIN " not built");
	strcpy(self->dir, "/tmp/qktlsd-unit-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, qd_test_cert(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/agent.sock", self->dir);
	snprintf(conf, sizeof(conf), "%s/qktlsd.conf", self->dir);
	f = fopen(conf, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "socket = \"%s\";\nlinks = (\n", self->sock);
	fprintf(f, "{ name = \"srv\"; role = \"server\"; peer_name = \"a.test\";\n"
		"  certificate = \"%1$s/c.pem\"; private_key = \"%1$s/k.pem\"; ca = \"%1$s/c.pem\";\n"
		"  qkd = { policy = \"off\"; }; },\n", self->dir);
	fprintf(f, "{ name = \"far\"; role = \"server\"; peer_name = \"a.test\";\n"
		"  peer_addresses = [ \"192.0.2.1\" ];\n"
		"  certificate = \"%1$s/c.pem\"; private_key = \"%1$s/k.pem\"; ca = \"%1$s/c.pem\";\n"
		"  qkd = { policy = \"off\"; }; }\n);\n", self->dir);
	fclose(f);
	self->pid = qd_test_agent_start(conf, NULL);
	ASSERT_LT(0, self->pid);
}

FIXTURE_TEARDOWN(agent)
{
	if (self->pid > 0) {
		EXPECT_EQ(0, qd_test_agent_stop(self->pid, NULL));
		EXPECT_NE(0, access(self->sock, F_OK));	/* removed on exit */
	}
	qd_test_rmdir(self->dir);
}

TEST_F(agent, unknown_link)
{
	struct qktls_result r;
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	EXPECT_EQ(-ENOENT, qktls_handshake_at(self->sock, s, "nope", QKTLS_ROLE_SERVER, &r));
	EXPECT_STREQ("no link named 'nope'", r.error);
	close(c);
	close(s);
}

TEST_F(agent, sighup_keeps_serving)
{
	struct qktls_result r;
	int c, s;

	/*
	 * SIGHUP reloads the configuration (tests/kernel/qktlsd_feed.sh
	 * checks what a reload changes); with the file unchanged the agent
	 * must keep serving the same links and not stop.
	 */
	ASSERT_EQ(0, kill(self->pid, SIGHUP));
	ASSERT_EQ(0, tcp_pair(&c, &s));
	EXPECT_EQ(-ENOENT, qktls_handshake_at(self->sock, s, "nope", QKTLS_ROLE_SERVER, &r));
	EXPECT_EQ(0, kill(self->pid, 0));
	close(c);
	close(s);
}

TEST_F(agent, wrong_role)
{
	struct qktls_result r;
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	EXPECT_EQ(-EINVAL, qktls_handshake_at(self->sock, c, "srv", QKTLS_ROLE_CLIENT, &r));
	EXPECT_NE(NULL, strstr(r.error, "link srv is a server link"));
	close(c);
	close(s);
}

TEST_F(agent, not_tcp)
{
	struct qktls_result r;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_EQ(-EINVAL, qktls_handshake_at(self->sock, sv[0], "srv", QKTLS_ROLE_SERVER, &r));
	EXPECT_STREQ("the descriptor is not a TCP socket", r.error);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(agent, not_connected)
{
	struct qktls_result r;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	ASSERT_LE(0, s);
	EXPECT_EQ(-EINVAL, qktls_handshake_at(self->sock, s, "srv", QKTLS_ROLE_SERVER, &r));
	EXPECT_NE(NULL, strstr(r.error, "the socket is not connected"));
	close(s);
}

TEST_F(agent, peer_address_not_listed)
{
	struct qktls_result r;
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	EXPECT_EQ(-EACCES, qktls_handshake_at(self->sock, s, "far", QKTLS_ROLE_SERVER, &r));
	EXPECT_NE(NULL, strstr(r.error, "not among the peer_addresses of link far"));
	close(c);
	close(s);
}

/* Raw requests: @nfds descriptors (0..2), @len bytes of request. */
static int raw_request(const char *path, int nfds, size_t len,
		       struct qktls_agent_reply *rep)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qktls_agent_request req = {
		.version = QKTLS_AGENT_PROTO_VERSION, .role = QKTLS_ROLE_SERVER,
		.link = "srv",
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = &req, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[2], c = -1, s = -1, u, ret;

	if (nfds) {
		if (tcp_pair(&c, &s))
			return -1;
		fds[0] = s;
		fds[1] = c;
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), fds, sizeof(int) * nfds);
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	u = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (u < 0 || connect(u, (struct sockaddr *)&sa, sizeof(sa)) ||
	    sendmsg(u, &mh, 0) != (ssize_t)len)
		return -1;
	ret = recv(u, rep, sizeof(*rep), 0) == sizeof(*rep) ? 0 : -1;
	close(u);
	if (c >= 0) {
		close(c);
		close(s);
	}
	return ret;
}

TEST_F(agent, malformed_requests)
{
	struct qktls_agent_reply rep;

	ASSERT_EQ(0, raw_request(self->sock, 0, sizeof(struct qktls_agent_request), &rep));
	EXPECT_EQ(-EINVAL, rep.result.status);
	EXPECT_NE(NULL, strstr(rep.result.error, "malformed request"));
	ASSERT_EQ(0, raw_request(self->sock, 2, sizeof(struct qktls_agent_request), &rep));
	EXPECT_EQ(-EINVAL, rep.result.status);
	EXPECT_NE(NULL, strstr(rep.result.error, "exactly one socket"));
	ASSERT_EQ(0, raw_request(self->sock, 1, 8, &rep));
	EXPECT_EQ(-EINVAL, rep.result.status);
}

TEST_HARNESS_MAIN
