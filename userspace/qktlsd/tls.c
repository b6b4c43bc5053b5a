// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TLS 1.3 handshake on a handed-over socket.
 *
 * Every link has its own OpenSSL library context with the qktls provider
 * loaded on the link's key source, and one SSL_CTX: TLS 1.3 only, the
 * link's cipher suites, certificate verification against the link's CA
 * and peer name (mutual by default) and, with a crl, its CRLs, no session
 * tickets or cache, no read-ahead (so no byte after the peer's Finished is
 * read by OpenSSL and kTLS finds it in the socket), and a keylog callback
 * that takes the two application traffic secrets into the handshake's own
 * buffer.  The groups follow the link's QKD policy.
 *
 * The socket is made non-blocking for the handshake and every wait is a
 * poll() bounded by the link's handshake deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <qktls/provider.h>

#include "qktlsd.h"

struct qd_tls {
	OSSL_LIB_CTX *lib;
	OSSL_PROVIDER *prov;
	SSL_CTX *ctx;
};

static int hs_index = -1;

struct qd_hs *qd_tls_hs(const SSL *ssl)
{
	return hs_index < 0 ? NULL : SSL_get_ex_data(ssl, hs_index);
}

int qd_tls_global_init(void)
{
	hs_index = SSL_get_ex_new_index(0, "qktlsd handshake", NULL, NULL, NULL);
	return hs_index < 0 ? -1 : 0;
}

/* Log the OpenSSL error queue under @what. */
static void log_ssl_errors(const char *link, const char *what)
{
	unsigned long e;
	const char *data;
	int flags;
	char buf[256];

	qd_log(LOG_ERR, "link %s: %s", link, what);
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags))) {
		ERR_error_string_n(e, buf, sizeof(buf));
		qd_log(LOG_ERR, "link %s:   %s%s%s", link, buf,
		       (flags & ERR_TXT_STRING) && *data ? ": " : "",
		       (flags & ERR_TXT_STRING) ? data : "");
	}
}

/*
 * The keylog callback: of the lines OpenSSL produces, keep the two
 * application traffic secrets of generation 0 (hex after the client random).
 * OpenSSL wipes @line itself after the call.
 */
static void keylog(const SSL *ssl, const char *line)
{
	struct qd_hs *hs = SSL_get_ex_data(ssl, hs_index);
	const char *hex = strrchr(line, ' ');
	uint8_t *dst;
	size_t *len;

	if (!hs || !hex)
		return;
	if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24)) {
		dst = hs->cts;
		len = &hs->cts_len;
	} else if (!strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24)) {
		dst = hs->sts;
		len = &hs->sts_len;
	} else {
		return;
	}
	if (!OPENSSL_hexstr2buf_ex(dst, QD_SECRET_MAX, len, hex + 1, '\0'))
		*len = 0;
}

int qd_tls_ctx_crl(SSL_CTX *ctx, const char *crl, char *why, size_t size)
{
	STACK_OF(X509_CRL) *crls = NULL;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	unsigned long flags = X509_V_FLAG_CRL_CHECK;
	int n = qd_crl_read(crl, &crls, why, size), ret = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n && !ret; i++)
		if (!X509_STORE_add_crl(store, sk_X509_CRL_value(crls, i))) {
			snprintf(why, size, "%s: CRL %d cannot be used", crl, i + 1);
			ret = -1;
		}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	/* One CRL: the peer's own certificate; more: every CA of its chain. */
	if (n > 1)
		flags |= X509_V_FLAG_CRL_CHECK_ALL;
	if (!ret && !X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), flags)) {
		snprintf(why, size, "%s: cannot turn on CRL checks", crl);
		ret = -1;
	}
	return ret;
}

int qd_tls_link_init(struct qd_config *cfg, struct qd_link *l)
{
	struct qktls_provider_config pc = {
		.keys = qd_keys_callbacks(l),
		.hybrid_group_id = cfg->qkd_group_id,
	};
	bool client = l->role == QKTLS_ROLE_CLIENT;
	struct qd_tls *t;
	char why[512];
	SSL_CTX *ctx;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	l->tls = t;
	t->lib = OSSL_LIB_CTX_new();
	if (!t->lib)
		goto fail;
	t->prov = qktls_provider_load_ex(t->lib, &pc);
	if (!t->prov) {
		log_ssl_errors(l->name, "cannot load the qktls provider");
		goto fail_quiet;
	}
	ctx = SSL_CTX_new_ex(t->lib, NULL, client ? TLS_client_method() :
						    TLS_server_method());
	if (!ctx)
		goto fail;
	t->ctx = ctx;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
		goto fail;
	if (!SSL_CTX_set_ciphersuites(ctx, l->ciphersuites)) {
		log_ssl_errors(l->name, "bad cipher_suites");
		goto fail_quiet;
	}
	/* No resumption: every connection is a full handshake with a fresh key. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_read_ahead(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	SSL_CTX_set_keylog_callback(ctx, keylog);
	if (qd_keyupdate_init(l, ctx))
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, l->certificate) != 1) {
		log_ssl_errors(l->name, "cannot load the certificate");
		goto fail_quiet;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, l->private_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_errors(l->name, "cannot load the private key, or it does not "
			       "match the certificate");
		goto fail_quiet;
	}
	if (SSL_CTX_load_verify_locations(ctx, l->ca, NULL) != 1) {
		log_ssl_errors(l->name, "cannot load the CA file");
		goto fail_quiet;
	}
	if (l->crl && qd_tls_ctx_crl(ctx, l->crl, why, sizeof(why))) {
		qd_log(LOG_ERR, "link %s: crl %s", l->name, why);
		goto fail_quiet;
	}
	SSL_CTX_set_verify(ctx, client || !l->mutual ? SSL_VERIFY_PEER :
			   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
fail:
	log_ssl_errors(l->name, "cannot set up TLS");
fail_quiet:
	qd_tls_link_free(l);
	return -1;
}

void qd_tls_link_free(struct qd_link *l)
{
	struct qd_tls *t = l->tls;

	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	if (t->prov)
		qktls_provider_unload(t->prov);
	OSSL_LIB_CTX_free(t->lib);
	free(t);
	l->tls = NULL;
}

static const char *plain_groups(struct qd_link *l)
{
	return l->x25519 ? "X25519MLKEM768:X25519" : "X25519MLKEM768";
}

/*
 * Groups for this handshake.  @qkd: offer/accept the QKD hybrid.
 * Client: key shares for the QKD hybrid and X25519MLKEM768 (no
 * HelloRetryRequest with either kind of server).  Server: the hybrid first,
 * then qkd_mlkem768 for peers running the published QKD-KEM provider.
 */
static void groups_for(struct qd_link *l, bool qkd, char *buf, size_t len)
{
	/* A server link accepts qkd_mlkem768 (no X25519) only if configured. */
	const char *mlkem = l->role == QKTLS_ROLE_SERVER && l->qkd_mlkem768 ?
			    ":" QKTLS_GROUP_QKD_MLKEM768 : "";
	bool client = l->role == QKTLS_ROLE_CLIENT;

	if (qkd && l->policy == QD_POLICY_REQUIRED)
		snprintf(buf, len, "%s%s", QKTLS_GROUP_HYBRID, mlkem);
	else if (qkd && client)
		snprintf(buf, len, "*%s:*%s", QKTLS_GROUP_HYBRID, plain_groups(l));
	else if (qkd)
		snprintf(buf, len, "%s%s:%s", QKTLS_GROUP_HYBRID, mlkem,
			 plain_groups(l));
	else
		snprintf(buf, len, "%s", plain_groups(l));
}

static bool qkd_group(const char *group)
{
	return group && (!strcmp(group, QKTLS_GROUP_HYBRID) ||
			 !strcmp(group, QKTLS_GROUP_QKD_MLKEM768));
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Describe the first error on the queue (or @fallback). */
static void error_text(const struct qd_link *l, SSL *ssl, int ret, char *buf,
		       size_t len, unsigned long *first_out)
{
	unsigned long e = ERR_peek_error();
	const char *data = NULL;
	int flags = 0;
	long vr;

	*first_out = e;
	if (!e) {
		int se = SSL_get_error(ssl, ret);

		snprintf(buf, len, "TLS handshake failed: %s",
			 se == SSL_ERROR_SYSCALL ?
			 (errno ? strerror(errno) : "peer closed the connection") :
			 "unknown error");
		return;
	}
	ERR_peek_error_all(NULL, NULL, NULL, &data, &flags);
	vr = SSL_get_verify_result(ssl);
	if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    vr == X509_V_ERR_CERT_REVOKED)
		snprintf(buf, len, "TLS handshake failed: peer certificate "
			 "rejected: it is revoked (listed in the link's crl %s)",
			 l->crl ? l->crl : "?");
	else if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
		 (vr == X509_V_ERR_UNABLE_TO_GET_CRL ||
		  vr == X509_V_ERR_CRL_HAS_EXPIRED ||
		  vr == X509_V_ERR_CRL_NOT_YET_VALID ||
		  vr == X509_V_ERR_CRL_SIGNATURE_FAILURE))
		snprintf(buf, len, "TLS handshake failed: peer certificate "
			 "rejected: %s (the link's crl %s; install a current "
			 "CRL of the peer's CA and reload)",
			 X509_verify_cert_error_string(vr), l->crl ? l->crl : "?");
	else if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK)
		snprintf(buf, len, "TLS handshake failed: peer certificate "
			 "rejected: %s", X509_verify_cert_error_string(vr));
	else
		snprintf(buf, len, "TLS handshake failed: %s%s%s",
			 ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
			 "error", (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
			 (flags & ERR_TXT_STRING) && data ? data : "");
}

/*
 * One attempt.  Returns 1 on success, 0 on a handshake failure (@r->error
 * set), -1 when nothing was sent yet and a fallback may be tried.
 */
static int attempt(struct qd_config *cfg, struct qd_link *l, struct qd_hs *hs,
		   const char *groups, bool may_retry,
		   const struct timespec *deadline, struct qktls_result *r,
		   SSL **ssl_out)
{
	bool client = l->role == QKTLS_ROLE_CLIENT;
	unsigned long first;
	SSL *ssl;
	int ret;

	ERR_clear_error();
	ssl = SSL_new(l->tls->ctx);
	if (!ssl || !SSL_set_fd(ssl, hs->fd) ||
	    !SSL_set1_groups_list(ssl, groups) ||
	    !SSL_set1_host(ssl, l->peer_name) ||
	    (client && !SSL_set_tlsext_host_name(ssl, l->peer_name)) ||
	    !SSL_set_ex_data(ssl, hs_index, hs)) {
		snprintf(r->error, sizeof(r->error), "cannot set up the TLS session");
		log_ssl_errors(l->name, r->error);
		SSL_free(ssl);
		r->status = -ENOMEM;
		return 0;
	}
	hs->qkd_ref_set = hs->qkd_discarded = false;
	qd_keyupdate_begin(hs);
	qd_keys_set_current(hs);
	for (;;) {
		struct pollfd pfd = { .fd = hs->fd };
		long left;
		int n;

		ret = client ? SSL_connect(ssl) : SSL_accept(ssl);
		if (ret == 1)
			break;
		switch (SSL_get_error(ssl, ret)) {
		case SSL_ERROR_WANT_READ:
			pfd.events = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			pfd.events = POLLOUT;
			break;
		default:
			goto failed;
		}
		left = ms_left(deadline);
		if (left <= 0)
			goto timeout;
		do
			n = poll(&pfd, 1, (int)left);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			goto timeout;
	}
	qd_keys_set_current(NULL);
	*ssl_out = ssl;
	return 1;

timeout:
	qd_keys_set_current(NULL);
	snprintf(r->error, sizeof(r->error), "TLS handshake timed out after %u s",
		 cfg->handshake_timeout);
	r->status = -ETIMEDOUT;
	SSL_free(ssl);
	return 0;
failed:
	qd_keys_set_current(NULL);
	if (may_retry && BIO_number_written(SSL_get_wbio(ssl)) == 0) {
		/* The QKD key went away between the check and the ClientHello. */
		ERR_clear_error();
		SSL_free(ssl);
		return -1;
	}
	error_text(l, ssl, ret, r->error, sizeof(r->error), &first);
	r->status = -EPROTO;
	if (ERR_GET_REASON(first) == SSL_R_NO_SUITABLE_KEY_SHARE &&
	    l->policy == QD_POLICY_REQUIRED)
		snprintf(r->error, sizeof(r->error), "QKD policy required: the peer "
			 "offered no %s key share (nor %s; a peer without QKD is "
			 "refused)", QKTLS_GROUP_HYBRID, QKTLS_GROUP_QKD_MLKEM768);
	log_ssl_errors(l->name, r->error);
	SSL_free(ssl);
	return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Fill @r from a completed handshake and install kTLS. */
static void finish(struct qd_link *l, struct qd_hs *hs, SSL *ssl,
		   struct qktls_result *r)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const char *group = SSL_get0_group_name(ssl);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	bool attached = false;
	int ret;

	snprintf(r->group, sizeof(r->group), "%s", group ? group : "?");
	r->suite = c ? SSL_CIPHER_get_protocol_id(c) : 0;
	snprintf(r->suite_name, sizeof(r->suite_name), "%s",
		 c ? SSL_CIPHER_standard_name(c) : "?");
	if (peer) {
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		long n;

		if (b && X509_NAME_print_ex(b, X509_get_subject_name(peer), 0,
					    XN_FLAG_RFC2253) >= 0) {
			n = BIO_get_mem_data(b, &p);
			snprintf(r->peer_subject, sizeof(r->peer_subject), "%.*s",
				 (int)n, p);
		}
		BIO_free(b);
	}
	r->qkd_used = qkd_group(group) && hs->qkd_ref_set && !hs->qkd_discarded;
	if (r->qkd_used) {
		hex(hs->qkd_ref, sizeof(hs->qkd_ref), r->qkd_ref);
	} else if (!r->qkd_note[0]) {
		snprintf(r->qkd_note, sizeof(r->qkd_note),
			 l->policy == QD_POLICY_OFF ? "QKD policy off" :
			 "the peer did not negotiate %s (no QKD on its side)",
			 QKTLS_GROUP_HYBRID);
	}
	/*
	 * Defence in depth: the groups offered under "required" all carry a
	 * QKD key; should that ever change, no socket goes out without one.
	 */
	if (l->policy == QD_POLICY_REQUIRED && !r->qkd_used) {
		snprintf(r->error, sizeof(r->error), "QKD policy required, but the "
			 "handshake (group %s) used no QKD key; refusing to hand "
			 "over the socket", r->group);
		r->status = -ENOKEY;
		return;
	}
	if (SSL_has_pending(ssl) || SSL_pending(ssl)) {
		/* Cannot happen without read-ahead; never lose a byte silently. */
		snprintf(r->error, sizeof(r->error), "OpenSSL buffered application "
			 "data past the handshake; refusing to hand over to kTLS");
		r->status = -EIO;
		return;
	}
	if (!hs->cts_len || hs->cts_len != hs->sts_len) {
		snprintf(r->error, sizeof(r->error), "traffic secrets not available "
			 "from OpenSSL");
		r->status = -EIO;
		return;
	}
	ret = qd_ktls_install(hs->fd, l->role, r->suite, hs->cts, hs->sts,
			      hs->cts_len);
	if (ret) {
		snprintf(r->error, sizeof(r->error), "kTLS install failed: %s",
			 qd_strerror(ret));
		r->status = -EIO;
		return;
	}
	if (hs->ku_negotiated)
		r->flags |= QKTLS_RESULT_QKD_UPDATE;
	ret = qd_sock_attach(l, hs, r->suite, r, &attached);
	if (ret) {
		r->status = ret == -EPROTO ? -EPROTO : -EIO;
		return;
	}
	if (attached)
		r->flags |= QKTLS_RESULT_ATTACHED;
	r->status = 0;
}

void qd_tls_handshake(struct qd_config *cfg, struct qd_link *l, int fd,
		      struct qktls_result *r)
{
	bool client = l->role == QKTLS_ROLE_CLIENT;
	struct qd_hs hs = { .link = l, .fd = fd };
	struct timespec deadline;
	bool qkd = l->policy != QD_POLICY_OFF, fallback = false;
	char groups[128];
	SSL *ssl = NULL;
	int flags, ret;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += cfg->handshake_timeout;
	if (!client) {
		socklen_t alen = sizeof(hs.peer);

		if (getpeername(fd, (struct sockaddr *)&hs.peer, &alen))
			hs.peer.ss_family = AF_UNSPEC;	/* one shared budget */
	}
	if (l->policy == QD_POLICY_REQUIRED)
		r->flags |= QKTLS_RESULT_QKD_REQUIRED;

	if (qkd && (!qd_keys_source(l) || (client && !qd_keys_available(l)))) {
		const char *why = !qd_keys_source(l) ? "the link has no QKD key source" :
			"the link's QKD key store is empty";

		if (l->policy == QD_POLICY_REQUIRED) {
			snprintf(r->error, sizeof(r->error),
				 "QKD policy required: %s; refusing the connection", why);
			r->status = -ENOKEY;
			qd_log(LOG_ERR, "link %s: %s", l->name, r->error);
			pthread_mutex_lock(&l->lock);
			l->n_failed++;
			pthread_mutex_unlock(&l->lock);
			return;
		}
		snprintf(r->qkd_note, sizeof(r->qkd_note),
			 "%s: fell back to %s (policy preferred)", why, plain_groups(l));
		qkd = false;
		fallback = true;
	}

	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		r->status = -errno;
		snprintf(r->error, sizeof(r->error), "fcntl: %s", strerror(errno));
		return;
	}
	groups_for(l, qkd, groups, sizeof(groups));
	ret = attempt(cfg, l, &hs, groups, client && qkd &&
		      l->policy == QD_POLICY_PREFERRED, &deadline, r, &ssl);
	if (ret < 0) {
		snprintf(r->qkd_note, sizeof(r->qkd_note),
			 "no QKD key left for this handshake: fell back to %s "
			 "(policy preferred)", plain_groups(l));
		fallback = true;
		groups_for(l, false, groups, sizeof(groups));
		ret = attempt(cfg, l, &hs, groups, false, &deadline, r, &ssl);
	}
	/* mutual: success means the client's certificate checked out. */
	qd_keys_handshake_end(&hs, ret == 1);
	if (ret == 1) {
		finish(l, &hs, ssl, r);
		if (!r->qkd_used && l->policy == QD_POLICY_PREFERRED)
			fallback = true;
		SSL_free(ssl);	/* no shutdown: the session continues in kTLS */
	}
	OPENSSL_cleanse(hs.cts, sizeof(hs.cts));
	OPENSSL_cleanse(hs.sts, sizeof(hs.sts));
	hs.cts_len = hs.sts_len = 0;
	fcntl(fd, F_SETFL, flags);

	pthread_mutex_lock(&l->lock);
	if (r->status) {
		l->n_failed++;
	} else {
		l->n_ok++;
		l->n_qkd += r->qkd_used;
		l->n_fallback += fallback;
	}
	pthread_mutex_unlock(&l->lock);
	if (r->status)
		qd_log(LOG_WARNING, "link %s: handshake failed: %s", l->name, r->error);
	else
		qd_log(LOG_INFO, "link %s: %s, %s, peer %s, %s%s%s; key update %s, "
		       "%s", l->name, r->group, r->suite_name, r->peer_subject,
		       r->qkd_used ? "QKD key " : "no QKD: ",
		       r->qkd_used ? r->qkd_ref : r->qkd_note,
		       fallback ? " [fallback counted]" : "",
		       r->flags & QKTLS_RESULT_QKD_UPDATE ? "qkd" : "standard",
		       r->flags & QKTLS_RESULT_ATTACHED ? "attached to qktls.ko" :
		       "not attached");
}
