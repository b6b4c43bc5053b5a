// SPDX-License-Identifier: GPL-2.0-only
/*
 * The transport of the key agreement between the two agents of a link
 * (ETSI GS QKD 014): the master agent's session loop, the slave agents'
 * listener, and the TLS session both run the protocol over (sync_proto.c).
 *
 * The session is TLS 1.3 with X25519MLKEM768 only, both sides
 * authenticated with the link's certificates and checked against the
 * link's peer_name.  The master connects to the slave's sync_listen and
 * names the slave SAE ID in SNI, which selects the link on the slave.
 * Messages and the rules for failures:
 * Documentation/qktls/key-agreement.rst.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sync.h"

#define SYNC_IO_TIMEOUT_S	10
/*
 * Stack of a listener connection thread: ample for OpenSSL, libcurl and
 * the session (also under ASan), and under the 2 MiB of a transparent huge
 * page, which a default 8 MiB stack gets on kernels with THP "always"
 * (Debian's): 32 waiting strangers would then hold 64 MiB and more.
 */
#define SYNC_THREAD_STACK	(1024 * 1024)
#define SYNC_BACKOFF_MIN_MS	500
#define SYNC_BACKOFF_MAX_MS	30000

/* --- TLS ------------------------------------------------------------------ */

static void log_ssl(int level, const char *name, const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	qd_log(level, "link %s: %s%s%s", name, what, buf[0] ? ": " : "", buf);
}

/* The master: its SAE ID into the ClientHello (SSL app data: the feeder). */
static int master_sae_add(SSL *ssl, unsigned int type, unsigned int context,
			  const unsigned char **out, size_t *outlen, X509 *x,
			  size_t chainidx, int *al, void *arg)
{
	const struct qd_feed *f = SSL_get_app_data(ssl);

	(void)type, (void)context, (void)x, (void)chainidx, (void)al, (void)arg;
	if (!f)
		return 0;	/* not sent */
	*out = (const unsigned char *)f->sae_id;
	*outlen = strlen(f->sae_id);
	return 1;
}

SSL_CTX *qd_sync_ctx(const struct qd_link *l, bool server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	char why[512];

	if (!ctx ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519MLKEM768") ||
	    SSL_CTX_use_certificate_chain_file(ctx, l->certificate) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, l->private_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_file(ctx, l->ca) != 1) {
		log_ssl(LOG_ERR, l->name, "the agents' key agreement session "
			"cannot use the link's certificate, key or CA");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (l->crl && qd_tls_ctx_crl(ctx, l->crl, why, sizeof(why))) {
		qd_log(LOG_ERR, "link %s: the agents' key agreement session: crl %s",
		       l->name, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (!server && !SSL_CTX_add_custom_ext(ctx, SYNC_EXT_MASTER_SAE,
					       SSL_EXT_TLS1_3_ONLY |
					       SSL_EXT_CLIENT_HELLO,
					       master_sae_add, NULL, NULL, NULL,
					       NULL)) {
		log_ssl(LOG_ERR, l->name, "cannot add the master SAE extension");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = SYNC_IO_TIMEOUT_S };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* "HOST:PORT" / "[V6]:PORT" (validated by config.c) into host and port. */
static void split_addr(const char *a, char *host, size_t hsize, char *port,
		       size_t psize)
{
	const char *colon = strrchr(a, ':');
	size_t hl = (size_t)(colon - a);

	if (a[0] == '[') {
		a++;
		hl -= 2;
	}
	snprintf(host, hsize, "%.*s", (int)hl, a);
	snprintf(port, psize, "%s", colon + 1);
}

static int connect_to(struct qd_feed *f, char *why, size_t wsize)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char host[256], port[8];
	int fd = -1, ret;

	split_addr(f->peer_agent, host, sizeof(host), port, sizeof(port));
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(why, wsize, "%s: %s", host, gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p = { .events = POLLOUT };
		socklen_t len = sizeof(ret);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		p.fd = fd;
		ret = connect(fd, ai->ai_addr, ai->ai_addrlen) ? errno : 0;
		if (ret == EINPROGRESS) {
			ret = poll(&p, 1, SYNC_IO_TIMEOUT_S * 1000) == 1 &&
			      !getsockopt(fd, SOL_SOCKET, SO_ERROR, &ret, &len) ?
			      ret : ETIMEDOUT;
		}
		if (!ret && fcntl(fd, F_SETFL, 0) == 0)
			break;
		snprintf(why, wsize, "%s: %s", f->peer_agent, strerror(ret ? ret : errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		set_timeouts(fd);
	return fd;
}

/* The session's TLS connection as the protocol's transport. */
struct tls_io {
	struct qd_feed *f;
	SSL *ssl;
	int fd;
};

static int tls_read(void *ctx, void *p, size_t n)
{
	struct tls_io *t = ctx;
	size_t got;

	while (n) {
		if (SSL_read_ex(t->ssl, p, n, &got) != 1)
			return -1;
		p = (uint8_t *)p + got;
		n -= got;
	}
	return 0;
}

static int tls_write(void *ctx, const void *p, size_t n)
{
	struct tls_io *t = ctx;
	size_t done;

	return SSL_write_ex(t->ssl, p, n, &done) == 1 && done == n ? 0 : -1;
}

/* Data to read now: OpenSSL's buffer or the socket; waits for a kick too. */
static bool tls_wait(void *ctx, int ms, bool *kicked)
{
	struct tls_io *t = ctx;
	struct pollfd p = { .fd = t->fd, .events = POLLIN };

	if (SSL_pending(t->ssl)) {
		*kicked = false;
		return true;
	}
	*kicked = qd_feed_wait(t->f, t->fd, ms);
	return !*kicked && poll(&p, 1, 0) == 1;
}

static struct qd_sync_io tls_io(struct tls_io *t)
{
	return (struct qd_sync_io){
		.ctx = t, .read = tls_read, .write = tls_write, .wait = tls_wait,
		.fd = t->fd,
	};
}

static void set_session_fd(struct qd_feed *f, int old, int fd)
{
	pthread_mutex_lock(&f->lock);
	if (f->session_fd == old)
		f->session_fd = fd;
	pthread_mutex_unlock(&f->lock);
}

/* --- master ----------------------------------------------------------------- */
/*
 * TLS and one session over a connected socket: what the session returned
 * (*@up), or -1 with @why when TLS failed.
 */
static int master_connection(struct qd_feed *f, int fd, bool *up, char *why,
			     size_t wsize)
{
	SSL *ssl = SSL_new(f->ctx);
	struct tls_io t = { .f = f, .ssl = ssl, .fd = fd };
	struct qd_sync_io io = tls_io(&t);
	int ret = -1;

	if (ssl && SSL_set_fd(ssl, fd) && SSL_set_app_data(ssl, f) &&
	    SSL_set_tlsext_host_name(ssl, f->peer_sae_id) &&
	    SSL_set1_host(ssl, f->peer_name) && SSL_connect(ssl) == 1) {
		ret = qd_sync_run_master(f, &io);
		/*
		 * The slave may lose its handshake store (restart): keep no
		 * handshake key we would take.  The kernel pools stay; the
		 * next session reconciles them.
		 */
		qd_store_flush_taker(f);
		if (!qd_sync_stopping(f))
			qd_log(LOG_WARNING, "link %s: the key agreement session with "
			       "%s ended; keys of an unacknowledged batch and the "
			       "handshake keys this side takes are discarded; "
			       "reconnecting", f->name, f->peer_agent);
		SSL_shutdown(ssl);
		SSL_free(ssl);
		*up = true;
		return ret;
	}
	if (!qd_sync_stopping(f)) {
		snprintf(why, wsize, "TLS with the agent at %s failed (verify: %s)",
			 f->peer_agent, ssl ? X509_verify_cert_error_string(
				 SSL_get_verify_result(ssl)) : "-");
		log_ssl(LOG_WARNING, f->name, why);
	}
	SSL_free(ssl);
	return -1;
}

void *qd_sync_master(void *arg)
{
	struct qd_feed *f = arg;
	unsigned int backoff = SYNC_BACKOFF_MIN_MS;
	char why[300], last[300] = "";

	while (!qd_sync_stopping(f)) {
		int fd = connect_to(f, why, sizeof(why)), ret = -1;
		bool up = false;

		if (fd >= 0) {
			set_session_fd(f, -1, fd);
			why[0] = '\0';
			ret = master_connection(f, fd, &up, why, sizeof(why));
			if (up)
				backoff = SYNC_BACKOFF_MIN_MS;
			snprintf(last, sizeof(last), "%s", why);
			set_session_fd(f, fd, -1);
			close(fd);
		} else if (strcmp(why, last)) {
			/* Logged once per distinct reason while it lasts. */
			qd_log(LOG_WARNING, "link %s: cannot reach the peer agent: %s; "
			       "retrying", f->name, why);
			snprintf(last, sizeof(last), "%s", why);
		}
		if (qd_sync_stopping(f))
			break;
		if (ret < 0)
			qd_feed_count(f, &f->session_errors, 1);
		qd_feed_wait(f, -1, (int)backoff);
		backoff = backoff * 2 > SYNC_BACKOFF_MAX_MS ? SYNC_BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

/* --- the slave agents' listener -------------------------------------------- */
/*
 * Anyone who reaches sync_listen can open connections: until a connection
 * has authenticated (TLS with the link's certificates) it holds one of
 * sync_max_connections slots, at most sync_max_per_address of them from
 * one address, and gets sync_accept_timeout seconds for the whole TLS
 * accept, however slowly it trickles.  A connection beyond a limit is
 * closed at once.  The session's own state (sync_proto.c) is allocated
 * only after the accept.  See Documentation/qktls/agent.rst.
 */

struct conn {
	int fd;
	struct qd_feed *f;
	struct sockaddr_storage addr;
	char name[INET6_ADDRSTRLEN + 8];	/* the address, for the log */
	char master_sae[256];		/* SYNC_EXT_MASTER_SAE, or "" */
	bool pending;			/* not authenticated: on lst_pending */
	struct conn *next, **pprev;
};

static pthread_mutex_t lst_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lst_idle = PTHREAD_COND_INITIALIZER;
static char *lst_addr;
static int lst_fd = -1, lst_stop = -1, lst_conns;
static pthread_t lst_thread;
static SSL_CTX *lst_ctx;
/* Unauthenticated connections and their limits (qd_sync_listen_update). */
static struct conn *lst_pending;
static unsigned int lst_max = 32, lst_max_addr = 4, lst_accept_s = 10;
static struct qd_ratelimit lst_rl = QD_RATELIMIT_INIT;

static void conn_authenticated(struct conn *c)
{
	pthread_mutex_lock(&lst_lock);
	if (c->pending) {
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
		c->pending = false;
	}
	pthread_mutex_unlock(&lst_lock);
}

/* Take an unauthenticated slot for @c, or say which limit is reached. */
static const char *conn_admit(struct conn *c)
{
	unsigned int all = 0, same = 0;
	const char *full = NULL;

	pthread_mutex_lock(&lst_lock);
	for (struct conn *o = lst_pending; o; o = o->next) {
		all++;
		if (qd_addr_equal(&o->addr, &c->addr))
			same++;
	}
	if (all >= lst_max)
		full = "sync_max_connections";
	else if (same >= lst_max_addr)
		full = "sync_max_per_address";
	if (!full) {
		c->pending = true;
		c->next = lst_pending;
		c->pprev = &lst_pending;
		if (lst_pending)
			lst_pending->pprev = &c->next;
		lst_pending = c;
		lst_conns++;
	}
	pthread_mutex_unlock(&lst_lock);
	return full;
}

/* The slave: the master's SAE ID from its ClientHello, before sni_cb. */
static int master_sae_parse(SSL *ssl, unsigned int type, unsigned int context,
			    const unsigned char *in, size_t inlen, X509 *x,
			    size_t chainidx, int *al, void *arg)
{
	struct conn *c = SSL_get_app_data(ssl);

	(void)type, (void)context, (void)x, (void)chainidx, (void)arg;
	if (!c || !inlen || inlen >= sizeof(c->master_sae) ||
	    memchr(in, '\0', inlen)) {
		*al = SSL_AD_DECODE_ERROR;
		return 0;
	}
	memcpy(c->master_sae, in, inlen);
	c->master_sae[inlen] = '\0';
	return 1;
}

static int sni_cb(SSL *ssl, int *al, void *arg)
{
	const char *sn = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct conn *c = SSL_get_app_data(ssl);
	struct qd_feed *f = NULL;

	(void)arg;
	qd_feed_registry_lock(true);
	/* A master that names itself gets the link of its SAE pair. */
	if (sn)
		f = qd_feed_find_slave(sn, c->master_sae[0] ? c->master_sae : NULL);
	if (f) {
		pthread_mutex_lock(&f->lock);
		f->sessions++;
		pthread_mutex_unlock(&f->lock);
	}
	qd_feed_registry_lock(false);
	if (!f) {
		char clean[80];

		char cmaster[80];

		qd_log_rl(&lst_rl, LOG_WARNING, "sync: %s asked for slave SAE '%s' "
			  "(master SAE '%s'): no such link", c->name,
			  sn ? qd_clean(clean, sizeof(clean), sn, strlen(sn)) :
			  "(no SNI)", qd_clean(cmaster, sizeof(cmaster),
			  c->master_sae, sizeof(c->master_sae)));
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	c->f = f;
	SSL_set_SSL_CTX(ssl, f->ctx);
	SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* The link's CRL checks (its store comes with its context). */
	X509_VERIFY_PARAM_set_flags(SSL_get0_param(ssl), X509_VERIFY_PARAM_get_flags(
				    SSL_CTX_get0_param(f->ctx)));
	if (!SSL_set1_host(ssl, f->peer_name))
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * The TLS accept on @c->fd, all of it within sync_accept_timeout seconds
 * (the socket is non-blocking meanwhile): 1 when done, else 0 with @why.
 */
static int accept_by_deadline(SSL *ssl, struct conn *c, const char **why)
{
	struct timespec end, now;
	int flags = fcntl(c->fd, F_GETFL), ret = 0;

	pthread_mutex_lock(&lst_lock);
	qd_deadline(&end, lst_accept_s * 1000);
	pthread_mutex_unlock(&lst_lock);
	if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK)) {
		*why = "cannot make the socket non-blocking";
		return 0;
	}
	*why = NULL;
	for (;;) {
		struct pollfd p = { .fd = c->fd };
		long long ms;
		int r = SSL_accept(ssl), e;

		if (r == 1) {
			ret = 1;
			break;
		}
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			p.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			p.events = POLLOUT;
		else
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000LL +
		     (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0 || (poll(&p, 1, (int)ms) == 0)) {
			*why = "sync_accept_timeout ran out";
			break;
		}
	}
	if (fcntl(c->fd, F_SETFL, flags) && ret) {
		*why = "cannot make the socket blocking again";
		ret = 0;
	}
	return ret;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	SSL *ssl = SSL_new(lst_ctx);
	struct tls_io t = { .ssl = ssl, .fd = c->fd };
	struct qd_sync_io io = tls_io(&t);
	const char *why = NULL;

	set_timeouts(c->fd);
	if (ssl && SSL_set_fd(ssl, c->fd) && SSL_set_app_data(ssl, c) &&
	    accept_by_deadline(ssl, c, &why)) {
		conn_authenticated(c);
		t.f = c->f;
		qd_sync_run_slave(c->f, &io);
		SSL_shutdown(ssl);
	} else {
		char buf[256] = "";
		unsigned long e = ERR_get_error();

		conn_authenticated(c);	/* its slot is free either way */
		if (e)
			ERR_error_string_n(e, buf, sizeof(buf));
		ERR_clear_error();
		if (!why)
			why = buf[0] ? buf : "the peer went";
		if (c->f)
			qd_log_rl(&lst_rl, LOG_WARNING, "link %s: TLS with a master "
				  "agent at %s failed (verify: %s): %s", c->f->name,
				  c->name, X509_verify_cert_error_string(
				  SSL_get_verify_result(ssl)), why);
		else
			qd_log_rl(&lst_rl, LOG_WARNING, "sync: TLS with %s failed: %s",
				  c->name, why);
	}
	SSL_free(ssl);
	if (c->f) {
		pthread_mutex_lock(&c->f->lock);
		if (c->f->session_fd == c->fd) {
			/*
			 * Still the link's session (no newer one took over):
			 * the master may lose its handshake store (restart),
			 * so keep no handshake key we would take.  The kernel
			 * pools stay; the next session reconciles them.
			 */
			qd_store_flush_taker(c->f);
			c->f->session_fd = -1;
		}
		c->f->sessions--;
		pthread_cond_broadcast(&c->f->idle);
		pthread_mutex_unlock(&c->f->lock);
	}
	close(c->fd);
	free(c);
	pthread_mutex_lock(&lst_lock);
	lst_conns--;
	pthread_cond_broadcast(&lst_idle);
	pthread_mutex_unlock(&lst_lock);
	return NULL;
}

static void conn_name(struct conn *c)
{
	qd_addr_str(&c->addr, c->name, sizeof(c->name));
}

static void *listen_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = lst_fd, .events = POLLIN },
			{ .fd = lst_stop, .events = POLLIN },
		};
		socklen_t alen = sizeof(struct sockaddr_storage);
		pthread_attr_t attr;
		const char *full;
		pthread_t t;
		struct conn *c;
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		c = calloc(1, sizeof(*c));
		if (!c)
			continue;
		fd = accept4(lst_fd, (struct sockaddr *)&c->addr, &alen, SOCK_CLOEXEC);
		if (fd < 0) {
			free(c);
			continue;
		}
		c->fd = fd;
		conn_name(c);
		full = conn_admit(c);
		if (full) {
			qd_log_rl(&lst_rl, LOG_WARNING, "sync: closed a connection from "
				  "%s at once: as many unauthenticated as %s allows",
				  c->name, full);
			close(fd);
			free(c);
			continue;
		}
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, SYNC_THREAD_STACK);
		if (pthread_create(&t, &attr, conn_thread, c)) {
			conn_authenticated(c);
			close(fd);
			free(c);
			pthread_mutex_lock(&lst_lock);
			lst_conns--;
			pthread_mutex_unlock(&lst_lock);
		}
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

static void listen_stop(void)
{
	uint64_t one = 1;

	if (lst_fd < 0)
		return;
	if (write(lst_stop, &one, sizeof(one)) != sizeof(one))
		qd_log(LOG_ERR, "sync: cannot stop the listener: %s", strerror(errno));
	pthread_join(lst_thread, NULL);
	close(lst_fd);
	close(lst_stop);
	lst_fd = lst_stop = -1;
	free(lst_addr);
	lst_addr = NULL;
}

static int listen_start(const char *addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
			*res;
	char host[256], port[8];
	int one = 1, ret;

	split_addr(addr, host, sizeof(host), port, sizeof(port));
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		qd_log(LOG_ERR, "sync_listen %s: %s", addr, gai_strerror(ret));
		return -1;
	}
	lst_fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lst_fd < 0 ||
	    setsockopt(lst_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lst_fd, res->ai_addr, res->ai_addrlen) || listen(lst_fd, 128)) {
		qd_log(LOG_ERR, "sync_listen %s: %s", addr, strerror(errno));
		freeaddrinfo(res);
		if (lst_fd >= 0)
			close(lst_fd);
		lst_fd = -1;
		return -1;
	}
	freeaddrinfo(res);
	lst_stop = eventfd(0, EFD_CLOEXEC);
	lst_addr = strdup(addr);
	if (lst_stop < 0 || !lst_addr ||
	    pthread_create(&lst_thread, NULL, listen_thread, NULL)) {
		qd_log(LOG_ERR, "sync_listen %s: cannot start the listener", addr);
		close(lst_fd);
		if (lst_stop >= 0)
			close(lst_stop);
		free(lst_addr);
		lst_addr = NULL;
		lst_fd = lst_stop = -1;
		return -1;
	}
	qd_log(LOG_INFO, "key agreement: listening on %s", addr);
	return 0;
}

int qd_sync_listen_update(struct qd_config *cfg)
{
	const char *want = cfg->sync_listen;
	int ret = 0;

	if (want) {
		pthread_mutex_lock(&lst_lock);
		lst_max = cfg->sync_max_connections;
		lst_max_addr = cfg->sync_max_per_address;
		lst_accept_s = cfg->sync_accept_timeout;
		pthread_mutex_unlock(&lst_lock);
	}
	if (want && lst_addr && !strcmp(want, lst_addr))
		return 0;
	listen_stop();
	if (!want) {
		pthread_mutex_lock(&lst_lock);
		while (lst_conns)
			pthread_cond_wait(&lst_idle, &lst_lock);
		pthread_mutex_unlock(&lst_lock);
		SSL_CTX_free(lst_ctx);
		lst_ctx = NULL;
		return 0;
	}
	if (!lst_ctx) {
		lst_ctx = SSL_CTX_new(TLS_server_method());
		if (!lst_ctx || !SSL_CTX_set_min_proto_version(lst_ctx, TLS1_3_VERSION) ||
		    !SSL_CTX_set1_groups_list(lst_ctx, "X25519MLKEM768")) {
			log_ssl(LOG_ERR, "-", "sync: cannot make the listener's TLS context");
			SSL_CTX_free(lst_ctx);
			lst_ctx = NULL;
			return -1;
		}
		SSL_CTX_set_num_tickets(lst_ctx, 0);
		SSL_CTX_set_mode(lst_ctx, SSL_MODE_RELEASE_BUFFERS);
		SSL_CTX_set_options(lst_ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(lst_ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_tlsext_servername_callback(lst_ctx, sni_cb);
		if (!SSL_CTX_add_custom_ext(lst_ctx, SYNC_EXT_MASTER_SAE,
					    SSL_EXT_TLS1_3_ONLY | SSL_EXT_CLIENT_HELLO,
					    NULL, NULL, NULL, master_sae_parse,
					    NULL)) {
			log_ssl(LOG_ERR, "-", "sync: cannot make the listener's "
				"TLS context");
			SSL_CTX_free(lst_ctx);
			lst_ctx = NULL;
			return -1;
		}
	}
	ret = listen_start(want);
	return ret;
}
