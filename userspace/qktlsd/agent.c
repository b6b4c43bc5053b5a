// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktlsd: the qktls handshake agent.
 *
 * Applications hand a connected TCP socket over the agent's Unix socket
 * (SOCK_SEQPACKET, SCM_RIGHTS) with their role and a link name; each
 * hand-off runs in its own thread, bounded by the configured handshake
 * timeout, so a slow or hostile peer holds up nobody else.  See qktlsd(8).
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>
#include <poll.h>

#include "qktlsd.h"

/*
 * The configuration in force.  A hand-off takes a reference for its whole
 * life, so a reload (SIGHUP) never pulls a link from under a handshake in
 * flight; the old configuration goes with its last hand-off.
 */
static struct qd_config *cfg;
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t active_cond = PTHREAD_COND_INITIALIZER;
static unsigned int active;

/* Who is at the other end of a hand-off connection, as the kernel says. */
struct caller {
	struct ucred uc;		/* SO_PEERCRED */
	gid_t *groups;			/* SO_PEERGROUPS: supplementary groups */
	int n_groups;
};

struct job {
	int ufd;
	struct caller who;
};

/* Hand-offs running per caller uid (max_handshakes_per_user); active_lock. */
struct uid_count {
	uid_t uid;
	unsigned int n;
};
static struct uid_count *running;
static unsigned int n_running;
static struct qd_ratelimit refuse_rl = QD_RATELIMIT_INIT;
/* Callers no link allows, answered as they connected (main thread only). */
static uint64_t n_refused_connect;

/* The caller's credentials and groups when it connected; 0 or -errno. */
static int caller_get(int ufd, struct caller *c)
{
	socklen_t len = sizeof(c->uc);
	gid_t small[64];

	c->groups = NULL;
	c->n_groups = 0;
	if (getsockopt(ufd, SOL_SOCKET, SO_PEERCRED, &c->uc, &len))
		return -errno;
	len = sizeof(small);
	if (!getsockopt(ufd, SOL_SOCKET, SO_PEERGROUPS, small, &len)) {
		c->groups = malloc(len ? len : 1);
		if (!c->groups)
			return -ENOMEM;
		memcpy(c->groups, small, len);
	} else {
		if (errno != ERANGE)
			return -errno;
		c->groups = malloc(len);
		if (!c->groups ||
		    getsockopt(ufd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len))
			return c->groups ? -errno : -ENOMEM;
	}
	c->n_groups = (int)(len / sizeof(gid_t));
	return 0;
}

/*
 * The caller may use link @l: its uid is among allowed_users, or its
 * primary group or one of the supplementary groups it runs with (not the
 * group database's idea of its user) among allowed_groups.
 */
static bool creds_allowed(const struct qd_link *l, const struct caller *c)
{
	for (int i = 0; i < l->n_uids; i++)
		if (l->uids[i] == c->uc.uid)
			return true;
	for (int j = 0; j < l->n_gids; j++) {
		if (l->gids[j] == c->uc.gid)
			return true;
		for (int i = 0; i < c->n_groups; i++)
			if (c->groups[i] == l->gids[j])
				return true;
	}
	return false;
}

static bool creds_allowed_any(const struct qd_config *c, const struct caller *who)
{
	for (int i = 0; i < c->n_links; i++)
		if (creds_allowed(&c->links[i], who))
			return true;
	return false;
}

bool qd_addr_equal(const struct sockaddr_storage *a,
		   const struct sockaddr_storage *peer)
{
	const struct sockaddr_in6 *p6 = (const void *)peer;

	if (a->ss_family == AF_INET && peer->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)peer)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6 && peer->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &p6->sin6_addr, sizeof(struct in6_addr));
	if (a->ss_family == AF_INET && peer->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&p6->sin6_addr))
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &p6->sin6_addr.s6_addr[12], 4);
	return false;
}

/* A connected TCP socket whose peer the link allows; 0 or an error text. */
static int check_socket(const struct qd_link *l, int fd, struct qktls_result *r)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(int);
	int type = 0, proto = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_STREAM ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len)) ||
	    proto != IPPROTO_TCP) {
		snprintf(r->error, sizeof(r->error), "the descriptor is not a TCP socket");
		return -EINVAL;
	}
	len = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &len)) {
		snprintf(r->error, sizeof(r->error), "the socket is not connected: %s",
			 strerror(errno));
		return -EINVAL;
	}
	if (!l->n_addrs)
		return 0;
	for (int i = 0; i < l->n_addrs; i++)
		if (qd_addr_equal(&l->addrs[i], &peer))
			return 0;
	snprintf(r->error, sizeof(r->error), "the socket's peer address is not "
		 "among the peer_addresses of link %s", l->name);
	return -EACCES;
}

static void links_free(struct qd_config *c);

static struct qd_config *cfg_get(void)
{
	struct qd_config *c;

	pthread_mutex_lock(&cfg_lock);
	c = cfg;
	c->refs++;
	pthread_mutex_unlock(&cfg_lock);
	return c;
}

static void cfg_put(struct qd_config *c)
{
	bool last;

	pthread_mutex_lock(&cfg_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&cfg_lock);
	if (last) {
		links_free(c);
		qd_config_free(c);
	}
}

static void serve(struct qd_config *cfg, int ufd, const struct caller *who)
{
	struct qktls_agent_request req;
	struct qktls_agent_reply rep = { .version = QKTLS_AGENT_PROTO_VERSION };
	struct qktls_result *r = &rep.result;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct timeval tv = { .tv_sec = cfg->handshake_timeout };
	const struct ucred uc = who->uc;
	struct cmsghdr *cmsg;
	struct qd_link *l;
	int fd = -1, nfds = 0;
	ssize_t n;

	setsockopt(ufd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(ufd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&req, 0, sizeof(req));
	do
		n = recvmsg(ufd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	req.link[sizeof(req.link) - 1] = '\0';	/* logged even if malformed */
	for (cmsg = CMSG_FIRSTHDR(&mh); n >= 0 && cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (nfds++ == 0)
				fd = f;
			else
				close(f);
		}
	}
	if (n < 0) {
		qd_log_rl(&refuse_rl, LOG_WARNING, "pid %d: no request: %s", (int)uc.pid,
			  strerror(errno));
		goto out;
	}
	if (n != (ssize_t)sizeof(req) || req.version != QKTLS_AGENT_PROTO_VERSION ||
	    nfds != 1 || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		r->status = -EINVAL;
		snprintf(r->error, sizeof(r->error), "malformed request: expected one "
			 "qktls_agent_request of version %d with exactly one socket",
			 QKTLS_AGENT_PROTO_VERSION);
		goto reply;
	}
	l = qd_config_link(cfg, req.link);
	if (!l) {
		r->status = -ENOENT;
		snprintf(r->error, sizeof(r->error), "no link named '%s'", req.link);
		goto reply;
	}
	if (!creds_allowed(l, who)) {
		r->status = -EACCES;
		snprintf(r->error, sizeof(r->error), "uid %u gid %u may not use link %s "
			 "(allowed_users / allowed_groups)", (unsigned int)uc.uid,
			 (unsigned int)uc.gid, l->name);
		pthread_mutex_lock(&l->lock);
		l->n_refused++;
		pthread_mutex_unlock(&l->lock);
		goto reply;
	}
	if (req.role != l->role) {
		r->status = -EINVAL;
		snprintf(r->error, sizeof(r->error), "link %s is a %s link, the request "
			 "asked for the other role", l->name,
			 l->role == QKTLS_ROLE_CLIENT ? "client" : "server");
		goto reply;
	}
	r->status = check_socket(l, fd, r);
	if (r->status)
		goto reply;
	qd_log(LOG_DEBUG, "link %s: handshake for pid %d uid %u", l->name,
	       (int)uc.pid, (unsigned int)uc.uid);
	qd_tls_handshake(cfg, l, fd, r);
reply:
	if (r->status && r->status != -EPROTO && r->status != -ETIMEDOUT &&
	    r->status != -ENOKEY && r->status != -EIO) {
		char name[sizeof(req.link)], why[sizeof(r->error)];

		/* The link name and the error quoting it are the caller's text. */
		qd_log_rl(&refuse_rl, LOG_WARNING, "pid %d uid %u link '%s': "
			  "refused: %s", (int)uc.pid, (unsigned int)uc.uid,
			  qd_clean(name, sizeof(name), req.link, sizeof(req.link)),
			  qd_clean(why, sizeof(why), r->error, sizeof(r->error)));
	}
	if (fd >= 0)
		close(fd);
	fd = -1;
	do
		n = send(ufd, &rep, sizeof(rep), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rep))
		qd_log(LOG_WARNING, "pid %d: cannot send the reply: %s", (int)uc.pid,
		       n < 0 ? strerror(errno) : "short write");
out:
	if (fd >= 0)
		close(fd);
}

/* Take a slot for @who's hand-off; NULL or which limit is reached. */
static const char *slot_take(const struct caller *who)
{
	struct uid_count *u = NULL;

	pthread_mutex_lock(&active_lock);
	for (unsigned int i = 0; i < n_running; i++)
		if (running[i].uid == who->uc.uid)
			u = &running[i];
	if (active >= cfg->max_handshakes) {
		pthread_mutex_unlock(&active_lock);
		return "max_handshakes";
	}
	if (u && u->n >= cfg->max_handshakes_per_user) {
		pthread_mutex_unlock(&active_lock);
		return "max_handshakes_per_user";
	}
	if (!u) {
		/* At most max_handshakes entries: one per running uid. */
		u = realloc(running, (n_running + 1) * sizeof(*running));
		if (!u) {
			pthread_mutex_unlock(&active_lock);
			return "memory";
		}
		running = u;
		u = &running[n_running++];
		u->uid = who->uc.uid;
		u->n = 0;
	}
	u->n++;
	active++;
	pthread_mutex_unlock(&active_lock);
	return NULL;
}

static void slot_put(const struct caller *who)
{
	pthread_mutex_lock(&active_lock);
	for (unsigned int i = 0; i < n_running; i++)
		if (running[i].uid == who->uc.uid && !--running[i].n) {
			running[i] = running[--n_running];
			break;
		}
	active--;
	pthread_cond_broadcast(&active_cond);
	pthread_mutex_unlock(&active_lock);
}

static void job_free(struct job *j)
{
	close(j->ufd);
	free(j->who.groups);
	free(j);
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct qd_config *c = cfg_get();

	serve(c, j->ufd, &j->who);
	cfg_put(c);
	slot_put(&j->who);
	job_free(j);
	return NULL;
}

/*
 * Answer a hand-off connection at once, without reading its request and
 * without a thread: the caller may use no link, or a limit is reached.
 */
static void refuse_now(struct job *j, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refuse_now(struct job *j, int status, const char *fmt, ...)
{
	struct qktls_agent_reply rep = { .version = QKTLS_AGENT_PROTO_VERSION };
	va_list ap;

	rep.result.status = status;
	va_start(ap, fmt);
	vsnprintf(rep.result.error, sizeof(rep.result.error), fmt, ap);
	va_end(ap);
	send(j->ufd, &rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT);
	qd_log_rl(&refuse_rl, LOG_WARNING, "pid %d uid %u: refused: %s",
		  (int)j->who.uc.pid, (unsigned int)j->who.uc.uid, rep.result.error);
	job_free(j);
}

static void dispatch(int ufd)
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	const char *full;
	pthread_t t;
	int ret;

	if (!j) {
		close(ufd);
		return;
	}
	j->ufd = ufd;
	ret = caller_get(ufd, &j->who);
	if (ret) {
		refuse_now(j, -EIO, "qktlsd cannot read the caller's credentials: %s",
			   strerror(-ret));
		return;
	}
	/* Credentials first: a stranger holds no slot, not even for a moment. */
	if (!creds_allowed_any(cfg, &j->who)) {
		n_refused_connect++;
		refuse_now(j, -EACCES, "uid %u gid %u may use no link of this qktlsd "
			   "(allowed_users / allowed_groups)",
			   (unsigned int)j->who.uc.uid, (unsigned int)j->who.uc.gid);
		return;
	}
	full = slot_take(&j->who);
	if (full) {
		refuse_now(j, -EBUSY, "qktlsd is running as many handshakes as %s "
			   "allows (%u)", full, !strcmp(full, "max_handshakes") ?
			   cfg->max_handshakes : cfg->max_handshakes_per_user);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, worker, j)) {
		qd_log(LOG_ERR, "cannot start a handshake thread");
		slot_put(&j->who);
		job_free(j);
	}
	pthread_attr_destroy(&attr);
}

static int open_socket(const char *path, unsigned int mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	char dir[sizeof(sa.sun_path)];
	char *slash;
	int s;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			qd_log(LOG_ERR, "cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	/* A socket left by an earlier instance. */
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			qd_log(LOG_ERR, "%s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, mode) || listen(s, 128)) {
		qd_log(LOG_ERR, "cannot listen on %s: %s", path, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

/* systemd's readiness notification (Type=notify), without libsystemd. */
static void notify_systemd(void)
{
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int s;

	if (!p || (p[0] != '/' && p[0] != '@') || strlen(p) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, p, strlen(p));
	if (p[0] == '@')
		sa.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(p);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		sendto(s, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
		close(s);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qktlsd [-c FILE] [--check-config] [--ready-fd N] [-d]\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -t, --check-config  validate the configuration and exit\n"
		"  -r, --ready-fd N    write \"READY\\n\" to descriptor N once listening\n"
		"  -d, --debug         log level debug, to stderr\n"
		"  -h, --help          this text\n", QKTLSD_CONF_DEFAULT);
}

/* The runtime of @c's links that a newer configuration did not take over. */
static void links_free(struct qd_config *c)
{
	for (int i = 0; i < c->n_links; i++) {
		struct qd_link *l = &c->links[i];

		if (l->runtime_moved)
			continue;
		qd_feed_stop(l);
		qd_tls_link_free(l);
		if (!l->keys_moved)
			qd_keys_close(l);
	}
}

static int setup_link(struct qd_config *c, struct qd_link *l)
{
	if ((!l->keys && qd_keys_open(l)) || qd_tls_link_init(c, l))
		return -1;
	if (l->policy != QD_POLICY_OFF && !l->key_file && !l->has_kme)
		qd_log(LOG_WARNING, "link %s: QKD policy %s but no QKD key "
		       "source (qkd.key_file or qkd.kme): %s", l->name,
		       qd_policy_name(l->policy),
		       l->policy == QD_POLICY_REQUIRED ?
		       "every handshake will be refused" :
		       "every handshake falls back to X25519MLKEM768");
	return 0;
}

static int setup_links(void)
{
	for (int i = 0; i < cfg->n_links; i++) {
		struct qd_link *l = &cfg->links[i];

		if (setup_link(cfg, l))
			return -1;
	}
	return 0;
}

static void setup_links_free(void)
{
	links_free(cfg);
}

static int start_feeders(struct qd_config *c)
{
	int ret = 0;

	if (qd_feed_global_start(c))
		ret = -1;
	for (int i = 0; i < c->n_links; i++)
		if (!c->links[i].feed && !c->links[i].runtime_moved &&
		    qd_feed_start(c, &c->links[i]))
			ret = -1;
	return ret;
}

/*
 * Link @nl of the new configuration @n takes over @ol's runtime as it is
 * (either may be NULL: a new link, a removed one).
 */
static bool link_kept(const struct qd_config *n, const struct qd_config *old,
		      const struct qd_link *ol, const struct qd_link *nl)
{
	return ol && nl && n->qkd_group_id == old->qkd_group_id &&
	       qd_link_same(ol, nl) && qd_link_files_same(ol, nl);
}

/*
 * SIGHUP: load the file again.  A file with errors is refused (its
 * messages logged) and the running configuration kept.  A link whose
 * settings and files (certificates, keys, CAs, CRLs: their contents, not
 * only their paths) did not change keeps its TLS context, key store and
 * feeder; a changed or new link gets new ones, so a certificate renewed
 * in place serves the next handshake.  A changed link keeps its key store
 * if its key_file did not change, or if only its files' contents did, so
 * no key is read twice or lost.  Hand-offs already running finish on the
 * link they started with; connections handed over before are the
 * kernel's and not touched.  A link that cannot be set up (a bad new
 * certificate, a key that does not match it, a bad CRL) refuses the whole
 * reload and the running configuration stays.
 */
static void reload(const char *path)
{
	struct qd_config *n = qd_config_load(path), *old;
	int i, failed = -1;

	if (!n) {
		qd_log(LOG_ERR, "SIGHUP: %s has errors: keeping the running "
		       "configuration", path);
		return;
	}
	old = cfg;
	if (strcmp(n->socket_path, old->socket_path) ||
	    n->socket_mode != old->socket_mode)
		qd_log(LOG_WARNING, "SIGHUP: socket and socket_mode changes take "
		       "effect at the next start; still listening on %s",
		       old->socket_path);
	for (i = 0; i < n->n_links; i++) {
		struct qd_link *nl = &n->links[i];
		struct qd_link *ol = qd_config_link(old, nl->name);

		if (link_kept(n, old, ol, nl))
			continue;	/* moved below */
		if (ol && !ol->keys_moved &&
		    (qd_link_same(ol, nl) || (ol->key_file && nl->key_file &&
					      !strcmp(ol->key_file, nl->key_file))))
			nl->keys = ol->keys;	/* tentatively shared */
		if (ol && qd_link_same(ol, nl))
			qd_log(LOG_NOTICE, "link %s: its certificate, key, CA or CRL "
			       "files changed: building new TLS contexts", nl->name);
		if (setup_link(n, nl)) {
			failed = i;
			break;
		}
	}
	if (failed >= 0) {
		for (i = 0; i <= failed; i++) {
			struct qd_link *nl = &n->links[i];
			struct qd_link *ol = qd_config_link(old, nl->name);

			if (link_kept(n, old, ol, nl))
				continue;
			if (ol && nl->keys == ol->keys)
				nl->keys = NULL;
			qd_tls_link_free(nl);
			qd_keys_close(nl);
		}
		qd_config_free(n);
		qd_log(LOG_ERR, "SIGHUP: the links of %s cannot be set up: keeping "
		       "the running configuration", path);
		return;
	}
	/* Committed: move what stays, stop the feeders of what went or changed. */
	for (i = 0; i < old->n_links; i++) {
		struct qd_link *ol = &old->links[i];
		struct qd_link *nl = qd_config_link(n, ol->name);

		if (link_kept(n, old, ol, nl)) {
			nl->keys = ol->keys;
			nl->tls = ol->tls;
			nl->feed = ol->feed;
			pthread_mutex_lock(&ol->lock);
			nl->n_ok = ol->n_ok;
			nl->n_failed = ol->n_failed;
			nl->n_qkd = ol->n_qkd;
			nl->n_fallback = ol->n_fallback;
			nl->n_refused = ol->n_refused;
			pthread_mutex_unlock(&ol->lock);
			ol->runtime_moved = true;
			continue;
		}
		if (nl && nl->keys && nl->keys == ol->keys)
			ol->keys_moved = true;
		qd_feed_stop(ol);
	}
	if (qd_sync_listen_update(n) || start_feeders(n))
		qd_log(LOG_ERR, "SIGHUP: some feeders did not start (see above)");
	pthread_mutex_lock(&cfg_lock);
	cfg = n;
	n->refs = 1;
	pthread_mutex_unlock(&cfg_lock);
	qd_log_setup(n->log_level, n->log_syslog);
	qd_log(LOG_NOTICE, "SIGHUP: %s reloaded, %d link%s", path, n->n_links,
	       n->n_links == 1 ? "" : "s");
	cfg_put(old);
}

/*
 * Each link's counters: on SIGUSR1 with its feeder's, and when stopping
 * (the feeders log theirs as they stop).
 */
static void log_counters(struct qd_config *c, bool feeders)
{
	qd_log(LOG_NOTICE, "%llu callers that no link allows were refused as "
	       "they connected", (unsigned long long)n_refused_connect);
	for (int i = 0; i < c->n_links; i++) {
		struct qd_link *l = &c->links[i];
		uint64_t ok, qkd, fallback, failed, refused;

		pthread_mutex_lock(&l->lock);
		ok = l->n_ok;
		qkd = l->n_qkd;
		fallback = l->n_fallback;
		failed = l->n_failed;
		refused = l->n_refused;
		pthread_mutex_unlock(&l->lock);
		qd_log(LOG_NOTICE, "link %s: %llu handshakes ok (%llu with QKD, %llu "
		       "fallbacks), %llu failed, %llu callers refused", l->name,
		       (unsigned long long)ok, (unsigned long long)qkd,
		       (unsigned long long)fallback, (unsigned long long)failed,
		       (unsigned long long)refused);
		if (l->keys) {
			uint64_t waits, timeouts;

			qd_keys_stats(l, &waits, &timeouts);
			if (waits)
				qd_log(LOG_NOTICE, "link %s: %llu handshakes found the "
				       "key store empty, %llu of them got no key "
				       "within qkd.wait_ms", l->name,
				       (unsigned long long)waits,
				       (unsigned long long)timeouts);
		}
		if (l->keys && l->role == QKTLS_ROLE_SERVER) {
			uint64_t taken, refused;

			qd_keys_unauth_stats(l, &taken, &refused);
			qd_log(LOG_NOTICE, "link %s: %zu QKD keys in the store; "
			       "%llu taken for clients that did not authenticate, "
			       "%llu refused over qkd.unauth_keys_per_peer or "
			       "_per_link", l->name, qd_keys_count(l),
			       (unsigned long long)taken,
			       (unsigned long long)refused);
		}
		if (feeders)
			qd_feed_log_stats(l);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = QKTLSD_CONF_DEFAULT;
	bool check = false, debug = false;
	int ready_fd = -1, o, lfd, sfd, status = 0;
	char *sock_path = NULL;
	sigset_t mask;

	while ((o = getopt_long(argc, argv, "c:tr:dh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'r':
			ready_fd = atoi(optarg);
			break;
		case 'd':
			debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	qd_log_setup(debug ? LOG_DEBUG : LOG_INFO, false);
	/* Before OpenSSL, libcurl or a key file is touched. */
	qd_harden(!check);
	cfg = qd_config_load(path);
	if (!cfg)
		return 1;
	if (qd_tls_global_init() || setup_links()) {
		qd_log(LOG_ERR, "%s: the links cannot be set up", path);
		setup_links_free();
		qd_config_free(cfg);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK, %d link%s\n", path, cfg->n_links,
		       cfg->n_links == 1 ? "" : "s");
		setup_links_free();
		qd_config_free(cfg);
		return 0;
	}
	if (!debug)
		qd_log_setup(cfg->log_level, cfg->log_syslog);
	cfg->refs = 1;
	sock_path = strdup(cfg->socket_path);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);	/* inherited by the workers */
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	lfd = open_socket(cfg->socket_path, cfg->socket_mode);
	if (sfd < 0 || lfd < 0 || !sock_path) {
		setup_links_free();
		qd_config_free(cfg);
		free(sock_path);
		return 1;
	}
	/* Feeders that cannot start are logged; the links still serve. */
	start_feeders(cfg);
	qd_log(LOG_NOTICE, "listening on %s, %d link%s", cfg->socket_path,
	       cfg->n_links, cfg->n_links == 1 ? "" : "s");
	if (ready_fd >= 0) {
		if (write(ready_fd, "READY\n", 6) != 6)
			qd_log(LOG_WARNING, "--ready-fd %d: %s", ready_fd, strerror(errno));
		close(ready_fd);
	}
	notify_systemd();

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = lfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			qd_log(LOG_ERR, "poll: %s", strerror(errno));
			status = 1;
			break;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				reload(path);
				continue;
			}
			if (si.ssi_signo == SIGUSR1) {
				qd_log(LOG_NOTICE, "SIGUSR1: counters");
				log_counters(cfg, true);
				continue;
			}
			qd_log(LOG_NOTICE, "signal %u: stopping", si.ssi_signo);
			break;
		}
		if (p[0].revents) {
			int ufd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (ufd >= 0)
				dispatch(ufd);
			else if (errno != EINTR && errno != EAGAIN)
				qd_log(LOG_WARNING, "accept: %s", strerror(errno));
		}
	}
	close(lfd);
	unlink(sock_path);
	free(sock_path);
	/* Handshakes in progress end within handshake_timeout. */
	pthread_mutex_lock(&active_lock);
	while (active)
		pthread_cond_wait(&active_cond, &active_lock);
	pthread_mutex_unlock(&active_lock);
	log_counters(cfg, false);
	cfg_put(cfg);
	qd_feed_global_stop();
	close(sfd);
	return status;
}
