// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktlsd.conf: parsed with libconfig, validated with the line number of
 * every offending setting.  Unknown settings are errors (a typo must not
 * silently weaken a link), and anything that looks like a PSK-only key
 * exchange is refused with the reason (DESIGN.md section 2).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <libconfig.h>
#include <linux/qktls.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <qktls/etsi004.h>

#include "qktlsd.h"

struct ctx {
	const char *path;
	int errors;
};

static void cerr(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cerr(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	qd_log(LOG_ERR, "%s:%d: %s", c->path,
	       s ? (int)config_setting_source_line(s) : 0, msg);
	c->errors++;
}

#define PSK_REFUSED \
	"psk_ke (PSK-only key exchange) cannot be configured: every qktls link " \
	"authenticates with X.509 certificates and runs an X25519MLKEM768 key " \
	"exchange, and QKD keys are only an additional input to it (DESIGN.md " \
	"section 2; the IETF critique of PSK-only QKD keying)"

/* Index of @v in the NULL-terminated @names, or -1. */
static int pick(const char *v, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static bool looks_like_psk(const char *s)
{
	return s && strcasestr(s, "psk");
}

/* Every child of @g must be named in @allowed (NULL-terminated). */
static void check_names(struct ctx *c, const config_setting_t *g,
			const char *const *allowed, const char *where)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);
		bool ok = false;

		if (!name)
			continue;
		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(name, *a);
		if (ok)
			continue;
		if (looks_like_psk(name))
			cerr(c, s, "'%s': " PSK_REFUSED, name);
		else
			cerr(c, s, "unknown setting '%s' in %s", name, where);
	}
}

/* A string setting; NULL (and an error if @required) when absent or bad. */
static char *get_str(struct ctx *c, const config_setting_t *g, const char *name,
		     bool required, const char *where)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	const char *v;

	if (!s) {
		if (required)
			cerr(c, g, "%s: missing required setting '%s'", where, name);
		return NULL;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cerr(c, s, "'%s' must be a string", name);
		return NULL;
	}
	v = config_setting_get_string(s);
	if (!*v) {
		cerr(c, s, "'%s' must not be empty", name);
		return NULL;
	}
	return strdup(v);
}

static const config_setting_t *member(const config_setting_t *g, const char *n)
{
	return config_setting_get_member(g, n);
}

static unsigned int get_uint(struct ctx *c, const config_setting_t *g,
			     const char *name, long long min, long long max,
			     unsigned int def)
{
	const config_setting_t *s = member(g, name);
	long long v;

	if (!s)
		return def;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		cerr(c, s, "'%s' must be an integer", name);
		return def;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		cerr(c, s, "'%s' = %lld is out of range (%lld to %lld)", name, v,
		     min, max);
		return def;
	}
	return (unsigned int)v;
}

/* A non-negative 64-bit integer (0 when absent). */
static uint64_t get_u64(struct ctx *c, const config_setting_t *g,
			const char *name, uint64_t def)
{
	const config_setting_t *s = member(g, name);
	long long v;

	if (!s)
		return def;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		cerr(c, s, "'%s' must be an integer (bytes; 64-bit values "
		     "need an L suffix, e.g. 17179869184L)", name);
		return def;
	}
	v = config_setting_get_int64(s);
	if (v < 0) {
		cerr(c, s, "'%s' = %lld must not be negative", name, v);
		return def;
	}
	return (uint64_t)v;
}

static bool get_bool(struct ctx *c, const config_setting_t *g,
		     const char *name, bool def)
{
	const config_setting_t *s = member(g, name);

	if (!s)
		return def;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cerr(c, s, "'%s' must be true or false", name);
		return def;
	}
	return config_setting_get_bool(s);
}

/* A file that must be readable now. */
static char *get_file(struct ctx *c, const config_setting_t *g,
		      const char *name, bool required, const char *where)
{
	char *v = get_str(c, g, name, required, where);

	if (v && access(v, R_OK)) {
		cerr(c, member(g, name), "'%s': cannot read %s: %s", name, v,
		     strerror(errno));
		free(v);
		return NULL;
	}
	return v;
}

/*
 * Who may own a file with secrets: root, the user the agent runs as, and
 * (for --check-config run by root) the user of the packaged service.
 */
static bool secret_owner_ok(uid_t uid)
{
	struct passwd pw, *pwp = NULL;
	char buf[1024];

	if (uid == 0 || uid == geteuid())
		return true;
	return !getpwnam_r(QKTLS_AGENT_USER, &pw, buf, sizeof(buf), &pwp) && pwp &&
	       pw.pw_uid == uid;
}

/*
 * A file with secrets: a private key (@key_file false: its group may read
 * it, as root:qktlsd 0640) or a QKD key file (whose mode keys.c checks as
 * it reads it).  Another owner could replace or read the secret, others
 * must have no access, the group no write access.
 */
static char *get_secret(struct ctx *c, const config_setting_t *g,
			const char *name, bool required, const char *where,
			bool key_file)
{
	char *v = get_file(c, g, name, required, where);
	struct stat st;

	if (!v || stat(v, &st))
		return v;
	if (!S_ISREG(st.st_mode))
		cerr(c, member(g, name), "'%s': %s is not a regular file", name, v);
	else if (!secret_owner_ok(st.st_uid))
		cerr(c, member(g, name), "'%s': %s belongs to uid %u: a file with "
		     "secrets must belong to root or to the user qktlsd runs as "
		     "(uid %u)", name, v, (unsigned int)st.st_uid,
		     (unsigned int)geteuid());
	else if (!key_file && (st.st_mode & 027))
		cerr(c, member(g, name), "'%s': %s has mode %04o: a private key "
		     "must not be accessible to others nor writable by its group "
		     "(chmod 600, or 640 for a group of readers)", name, v,
		     (unsigned int)(st.st_mode & 07777));
	return v;
}

/* @t as text ("Dec  7 22:00:00 2026 GMT") into @buf. */
static const char *time_text(const ASN1_TIME *t, char *buf, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	snprintf(buf, size, "?");
	if (b && ASN1_TIME_print(b, t) == 1) {
		n = BIO_get_mem_data(b, &p);
		snprintf(buf, size, "%.*s", (int)n, p);
	}
	BIO_free(b);
	return buf;
}

int qd_crl_read(const char *path, STACK_OF(X509_CRL) **out, char *why,
		size_t size)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	BIO *b = NULL;
	X509_CRL *crl;
	char issuer[256], when[64];
	struct stat st;
	unsigned long e;
	int n;

	if (stat(path, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, size, "%s is not a regular file", path);
		goto fail;
	}
	b = BIO_new_file(path, "r");
	if (!crls || !b) {
		snprintf(why, size, "cannot read %s: %s", path,
			 b ? "out of memory" : strerror(errno));
		goto fail;
	}
	ERR_clear_error();
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL))) {
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
		const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);

		X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
		if (next && X509_cmp_current_time(next) <= 0) {
			snprintf(why, size, "%s: the CRL of %s expired on %s (its "
				 "nextUpdate): install a fresh one and reload",
				 path, issuer, time_text(next, when, sizeof(when)));
			X509_CRL_free(crl);
			goto fail;
		}
		if (last && X509_cmp_current_time(last) > 0) {
			snprintf(why, size, "%s: the CRL of %s is not valid before %s "
				 "(its lastUpdate)", path, issuer,
				 time_text(last, when, sizeof(when)));
			X509_CRL_free(crl);
			goto fail;
		}
		if (!sk_X509_CRL_push(crls, crl)) {
			X509_CRL_free(crl);
			snprintf(why, size, "%s: out of memory", path);
			goto fail;
		}
	}
	/* The end of the file reads as "no start line"; anything else is bad. */
	e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
		   ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		snprintf(why, size, "%s: CRL %d cannot be parsed: %s", path,
			 sk_X509_CRL_num(crls) + 1, ERR_reason_error_string(e) ?
			 ERR_reason_error_string(e) : "bad data");
		goto fail;
	}
	ERR_clear_error();
	n = sk_X509_CRL_num(crls);
	if (!n) {
		snprintf(why, size, "%s holds no CRL (PEM \"-----BEGIN X509 "
			 "CRL-----\" blocks expected)", path);
		goto fail;
	}
	BIO_free(b);
	if (out)
		*out = crls;
	else
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return n;
fail:
	ERR_clear_error();
	BIO_free(b);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return -1;
}

/* An optional "crl" file: readable, every CRL in it parses and is current. */
static char *get_crl(struct ctx *c, const config_setting_t *g, const char *where)
{
	char *v = get_file(c, g, "crl", false, where);
	char why[512];

	if (v && qd_crl_read(v, NULL, why, sizeof(why)) < 0) {
		cerr(c, member(g, "crl"), "'crl': %s", why);
		free(v);
		return NULL;
	}
	return v;
}

/* Certificates, keys, CAs and CRLs are not this big. */
#define QD_CONF_FILE_MAX	(16 << 20)

/*
 * Add the length and contents of file @path (or why not) to @md; false if
 * it is no regular file (compared as changed every time).
 */
static bool digest_file(EVP_MD_CTX *md, const char *path)
{
	unsigned char buf[4096];
	struct stat st;
	uint64_t n = 0;
	size_t got;
	FILE *f;

	if (!path) {
		EVP_DigestUpdate(md, "-", 1);
		return true;
	}
	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		/* Not a file to compare (a device?): never "unchanged". */
		EVP_DigestUpdate(md, "!", 1);
		if (f)
			fclose(f);
		return false;
	}
	while (n < QD_CONF_FILE_MAX && (got = fread(buf, 1, sizeof(buf), f)) > 0) {
		EVP_DigestUpdate(md, buf, got);
		n += got;
	}
	fclose(f);
	OPENSSL_cleanse(buf, sizeof(buf));
	EVP_DigestUpdate(md, &n, sizeof(n));
	return true;
}

/*
 * What the link's certificates, keys, CAs and CRLs hold now, so that a
 * reload rebuilds its TLS contexts when one was renewed in place.
 */
static void files_digest(struct qd_link *l)
{
	const char *paths[] = {
		l->certificate, l->private_key, l->ca, l->crl, l->kme.certificate,
		l->kme.private_key, l->kme.ca, l->kme.crl,
	};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	bool regular = true;

	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			regular &= digest_file(md, paths[i]);
		EVP_DigestFinal_ex(md, l->files_digest, &len);
	}
	EVP_MD_CTX_free(md);
	/* Not known: never equal, the contexts are always rebuilt. */
	l->files_digest_ok = regular && len == sizeof(l->files_digest);
}

bool qd_link_files_same(const struct qd_link *a, const struct qd_link *b)
{
	return a->files_digest_ok && b->files_digest_ok &&
	       !memcmp(a->files_digest, b->files_digest, sizeof(a->files_digest));
}

/* A list or array of strings; calls @each for every element. */
static void for_strings(struct ctx *c, const config_setting_t *g,
			const char *name,
			void (*each)(struct ctx *, const config_setting_t *,
				     const char *, void *),
			void *arg)
{
	const config_setting_t *s = member(g, name);
	int n;

	if (!s)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		cerr(c, s, "'%s' must be a list of strings, e.g. [\"a\", \"b\"]", name);
		return;
	}
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			cerr(c, e, "'%s' element %d must be a string", name, i + 1);
		else
			each(c, e, config_setting_get_string(e), arg);
	}
}

static void add_user(struct ctx *c, const config_setting_t *e, const char *v,
		     void *arg)
{
	struct qd_link *l = arg;
	struct passwd *pw = getpwnam(v);

	if (!pw) {
		cerr(c, e, "allowed_users: no such user '%s'", v);
		return;
	}
	if (l->n_uids == QD_MAX_IDS) {
		cerr(c, e, "allowed_users: more than %d entries", QD_MAX_IDS);
		return;
	}
	l->uids[l->n_uids++] = pw->pw_uid;
}

static void add_group(struct ctx *c, const config_setting_t *e, const char *v,
		      void *arg)
{
	struct qd_link *l = arg;
	struct group *gr = getgrnam(v);

	if (!gr) {
		cerr(c, e, "allowed_groups: no such group '%s'", v);
		return;
	}
	if (l->n_gids == QD_MAX_IDS) {
		cerr(c, e, "allowed_groups: more than %d entries", QD_MAX_IDS);
		return;
	}
	l->gids[l->n_gids++] = gr->gr_gid;
}

static void add_addr(struct ctx *c, const config_setting_t *e, const char *v,
		     void *arg)
{
	struct qd_link *l = arg;
	struct sockaddr_storage *ss;

	if (l->n_addrs == QD_MAX_ADDRS) {
		cerr(c, e, "peer_addresses: more than %d entries", QD_MAX_ADDRS);
		return;
	}
	ss = &l->addrs[l->n_addrs];
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, v, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, v, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
		ss->ss_family = AF_INET6;
	else {
		cerr(c, e, "peer_addresses: '%s' is not an IPv4 or IPv6 address", v);
		return;
	}
	l->n_addrs++;
}

static const char *const suites_ok[] = {
	"TLS_AES_256_GCM_SHA384",
	"TLS_AES_128_GCM_SHA256",
	"TLS_CHACHA20_POLY1305_SHA256",
	NULL
};
#define SUITES_DEFAULT \
	"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"

static void add_suite(struct ctx *c, const config_setting_t *e, const char *v,
		      void *arg)
{
	char **list = arg;
	bool ok = false;
	char *n;

	for (const char *const *s = suites_ok; *s; s++)
		ok |= !strcmp(v, *s);
	if (!ok) {
		cerr(c, e, "cipher suite '%s' is not supported: use "
		     "TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256 or "
		     "TLS_CHACHA20_POLY1305_SHA256 (TLS 1.3 suites kTLS has)", v);
		return;
	}
	if (*list && strstr(*list, v)) {
		cerr(c, e, "cipher suite '%s' is listed twice", v);
		return;
	}
	if (asprintf(&n, "%s%s%s", *list ? *list : "", *list ? ":" : "", v) < 0)
		n = NULL;
	free(*list);
	*list = n;
}

static bool chars_ok(const char *n, size_t max)
{
	size_t len = strlen(n);

	if (!len || len > max)
		return false;
	for (const char *p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

static bool name_ok(const char *n)
{
	return chars_ok(n, QKTLS_LINK_NAME_MAX - 1);
}

static bool pool_name_ok(const char *n)
{
	return chars_ok(n, QD_POOL_BASE_MAX);
}

/* "HOST:PORT" or "[IPV6]:PORT" with a numeric port 1 to 65535. */
static bool addr_ok(const char *a)
{
	const char *colon, *host_end;
	char *end;
	long port;

	if (a[0] == '[') {
		host_end = strchr(a, ']');
		if (!host_end || host_end == a + 1 || host_end[1] != ':')
			return false;
		colon = host_end + 1;
	} else {
		colon = strrchr(a, ':');
		if (!colon || colon == a || memchr(a, ':', colon - a))
			return false;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return !errno && *end == '\0' && end != colon + 1 && port > 0 && port < 65536;
}

static void parse_kme(struct ctx *c, const config_setting_t *g, struct qd_link *l)
{
	static const char *const names[] = {
		"url", "sae_id", "peer_sae_id", "role", "certificate",
		"private_key", "ca", "crl", "peer_agent", "timeout_ms",
		"key_stream_id", NULL
	};
	const char *w = "kme";
	unsigned char ksid[QK_004_KSID_LEN];
	char host[256], *role;
	unsigned int port;
	bool e004;

	if (!config_setting_is_group(g)) {
		cerr(c, g, "'kme' must be a group { ... }");
		return;
	}
	check_names(c, g, names, "kme");
	l->has_kme = true;
	l->kme.url = get_str(c, g, "url", true, w);
	e004 = l->kme.url && !strncmp(l->kme.url, "qkd004://", 9);
	if (l->kme.url && strncmp(l->kme.url, "https://", 8) && !e004)
		cerr(c, member(g, "url"), "kme url '%s' must start with https:// "
		     "(ETSI GS QKD 014 runs over mutually authenticated TLS) or "
		     "qkd004:// (ETSI GS QKD 004, TLS over TCP)", l->kme.url);
	else if (e004 && qk_004_parse_url(l->kme.url, host, sizeof(host), &port))
		cerr(c, member(g, "url"), "kme url '%s' must be qkd004://HOST[:PORT] "
		     "or qkd004://[IPV6][:PORT]", l->kme.url);
	l->kme.key_stream_id = get_str(c, g, "key_stream_id", false, w);
	if (e004 && !l->kme.key_stream_id)
		cerr(c, g, "kme url qkd004:// needs 'key_stream_id' (a UUID, the "
		     "same at both agents: the ETSI 004 key stream they open)");
	else if (l->kme.key_stream_id && !e004)
		cerr(c, member(g, "key_stream_id"), "'key_stream_id' applies to "
		     "qkd004:// KMEs only");
	else if (l->kme.key_stream_id &&
		 (qk_004_ksid_parse(l->kme.key_stream_id, ksid) ||
		  !memcmp(ksid, (unsigned char[QK_004_KSID_LEN]){ 0 }, QK_004_KSID_LEN)))
		cerr(c, member(g, "key_stream_id"), "key_stream_id '%s' must be a "
		     "UUID, not all zero", l->kme.key_stream_id);
	l->kme.sae_id = get_str(c, g, "sae_id", true, w);
	l->kme.peer_sae_id = get_str(c, g, "peer_sae_id", true, w);
	role = get_str(c, g, "role", true, w);
	if (role) {
		if (!strcmp(role, "master"))
			l->kme.master = true;
		else if (strcmp(role, "slave"))
			cerr(c, member(g, "role"), "kme role '%s' must be \"master\" "
			     "(fetches enc_keys) or \"slave\" (fetches dec_keys)", role);
		free(role);
	}
	l->kme.certificate = get_file(c, g, "certificate", true, w);
	l->kme.private_key = get_secret(c, g, "private_key", true, w, false);
	l->kme.ca = get_file(c, g, "ca", true, w);
	l->kme.crl = get_crl(c, g, w);
	l->kme.timeout_ms = get_uint(c, g, "timeout_ms", 100, 600000, 5000);
	l->kme.peer_agent = get_str(c, g, "peer_agent", false, w);
	if (l->kme.peer_agent && !addr_ok(l->kme.peer_agent))
		cerr(c, member(g, "peer_agent"), "peer_agent '%s' must be "
		     "\"HOST:PORT\" or \"[IPV6]:PORT\"", l->kme.peer_agent);
	if (l->kme.master && !l->kme.peer_agent && !member(g, "peer_agent"))
		cerr(c, g, "kme role \"master\" needs 'peer_agent' (\"HOST:PORT\" "
		     "of the slave agent's sync_listen, where the key IDs are sent)");
	if (!l->kme.master && member(g, "peer_agent"))
		cerr(c, member(g, "peer_agent"), "'peer_agent' applies to kme role "
		     "\"master\" only (the slave agent listens on the global "
		     "sync_listen)");
}

static void parse_qkd(struct ctx *c, const config_setting_t *g, struct qd_link *l)
{
	static const char *const names[] = {
		"policy", "key_file", "pool", "low_watermark", "high_watermark",
		"key_size", "wait_ms", "orphan_timeout", "unauth_keys_per_peer",
		"unauth_keys_per_link", "kme", NULL
	};
	const config_setting_t *s;
	char *policy;

	if (!config_setting_is_group(g)) {
		cerr(c, g, "'qkd' must be a group { policy = ...; ... }");
		return;
	}
	check_names(c, g, names, "qkd");
	policy = get_str(c, g, "policy", true, "qkd");
	if (policy) {
		s = member(g, "policy");
		static const char *const policies[] = {
			[QD_POLICY_OFF] = "off", [QD_POLICY_PREFERRED] = "preferred",
			[QD_POLICY_REQUIRED] = "required", NULL
		};
		int v = pick(policy, policies);

		if (v >= 0)
			l->policy = v;
		else if (looks_like_psk(policy))
			cerr(c, s, "policy '%s': " PSK_REFUSED, policy);
		else
			cerr(c, s, "policy '%s' must be \"required\", \"preferred\" or \"off\"",
			     policy);
		free(policy);
	}
	l->key_file = get_secret(c, g, "key_file", false, "qkd", true);
	l->pool = get_str(c, g, "pool", false, "qkd");
	if (l->pool && !pool_name_ok(l->pool))
		cerr(c, member(g, "pool"), "pool name '%s' must be 1 to %d letters, "
		     "digits, '.', '_' or '-' (the kernel pools are named "
		     "POOL.c2s and POOL.s2c, at most %d characters)", l->pool,
		     QD_POOL_BASE_MAX, QKTLS_POOL_NAME_MAX - 1);
	l->low_watermark = get_uint(c, g, "low_watermark", 0, 100000, 16);
	l->high_watermark = get_uint(c, g, "high_watermark", 1, 100000, 64);
	l->key_size = get_uint(c, g, "key_size", QKTLS_KEY_MIN_LEN,
			       QKTLS_KEY_MAX_LEN, 32);
	l->qkd_wait_ms = get_uint(c, g, "wait_ms", 0, 60000, 500);
	l->orphan_timeout = get_uint(c, g, "orphan_timeout", 60, 604800, 3600);
	l->unauth_keys_per_peer = get_uint(c, g, "unauth_keys_per_peer", 0,
					   100000, 10);
	l->unauth_keys_per_link = get_uint(c, g, "unauth_keys_per_link", 0,
					   100000, 100);
	if (l->low_watermark >= l->high_watermark)
		cerr(c, member(g, "high_watermark") ? member(g, "high_watermark") : g,
		     "low_watermark (%u) must be below high_watermark (%u)",
		     l->low_watermark, l->high_watermark);
	s = member(g, "kme");
	if (s)
		parse_kme(c, s, l);
}

/*
 * Policy "required" goes past the handshake (qktls.ko): every TX rekey the
 * link's rekey policy asks for must mix in a QKD key, from the link's
 * kernel pools, or the write that is due fails.  A link that can never do
 * a QKD rekey would fail at its first rekey: say so now.
 */
static void check_required_rekeys(struct ctx *c, const config_setting_t *g,
				  const struct qd_link *l)
{
	const config_setting_t *s = member(g, l->rekey_bytes ? "rekey_bytes" :
					      "rekey_seconds");

	if (l->policy != QD_POLICY_REQUIRED ||
	    !(l->rekey_bytes || l->rekey_seconds))
		return;
	if (l->key_update == QD_KEY_UPDATE_STANDARD)
		cerr(c, member(g, "key_update"), "qkd policy \"required\" makes "
		     "every rekey a QKD key update: with rekey_bytes/"
		     "rekey_seconds, key_update must be \"qkd\"");
	else if (l->key_update == QD_KEY_UPDATE_QKD && !l->pool)
		cerr(c, s, "qkd policy \"required\" makes every rekey a QKD key "
		     "update, whose keys come from the link's kernel pools: "
		     "with rekey_bytes/rekey_seconds, set qkd pool or kme");
}

static void parse_link(struct ctx *c, struct qd_config *cfg,
		       const config_setting_t *g, struct qd_link *l)
{
	static const char *const names[] = {
		"name", "role", "peer_name", "peer_addresses", "certificate",
		"private_key", "ca", "crl", "mutual", "cipher_suites", "x25519",
		"qkd_mlkem768",
		"allowed_users", "allowed_groups", "qkd", "key_update",
		"rekey_bytes", "rekey_seconds", NULL
	};
	const config_setting_t *s;
	char where[96];
	char *role, *ku;
	int errs;

	l->line = config_setting_source_line(g);
	if (!config_setting_is_group(g)) {
		cerr(c, g, "every element of 'links' must be a group { name = ...; ... }");
		return;
	}
	l->name = get_str(c, g, "name", true, "link");
	if (l->name && !name_ok(l->name))
		cerr(c, member(g, "name"), "link name '%s' must be 1 to %d letters, "
		     "digits, '.', '_' or '-'", l->name, QKTLS_LINK_NAME_MAX - 1);
	if (l->name) {
		for (struct qd_link *o = cfg->links; o < l; o++)
			if (o->name && !strcmp(o->name, l->name))
				cerr(c, member(g, "name"), "link '%s' is already defined at line %d",
				     l->name, o->line);
	}
	snprintf(where, sizeof(where), "link '%s'", l->name ? l->name : "?");
	check_names(c, g, names, where);

	role = get_str(c, g, "role", true, where);
	if (role) {
		if (!strcmp(role, "client"))
			l->role = QKTLS_ROLE_CLIENT;
		else if (!strcmp(role, "server"))
			l->role = QKTLS_ROLE_SERVER;
		else
			cerr(c, member(g, "role"), "role '%s' must be \"client\" or \"server\"",
			     role);
		free(role);
	}
	l->peer_name = get_str(c, g, "peer_name", true, where);
	for_strings(c, g, "peer_addresses", add_addr, l);
	l->certificate = get_file(c, g, "certificate", true, where);
	l->private_key = get_secret(c, g, "private_key", true, where, false);
	l->ca = get_file(c, g, "ca", true, where);
	l->crl = get_crl(c, g, where);
	l->mutual = get_bool(c, g, "mutual", true);
	if (member(g, "mutual") && l->role == QKTLS_ROLE_CLIENT)
		cerr(c, member(g, "mutual"), "'mutual' applies to server links only "
		     "(a client always verifies the server)");
	errs = c->errors;
	for_strings(c, g, "cipher_suites", add_suite, &l->ciphersuites);
	if (member(g, "cipher_suites") && !l->ciphersuites && errs == c->errors)
		cerr(c, member(g, "cipher_suites"), "'cipher_suites' is empty");
	if (!l->ciphersuites)
		l->ciphersuites = strdup(SUITES_DEFAULT);
	l->x25519 = get_bool(c, g, "x25519", false);
	for_strings(c, g, "allowed_users", add_user, l);
	for_strings(c, g, "allowed_groups", add_group, l);
	if (!member(g, "allowed_users") && !member(g, "allowed_groups"))
		l->uids[l->n_uids++] = 0;	/* default: root only */

	s = member(g, "qkd");
	if (s)
		parse_qkd(c, s, l);
	else
		cerr(c, g, "%s: missing required group 'qkd' (at least "
		     "qkd = { policy = \"required\" | \"preferred\" | \"off\"; })",
		     where);
	/* Holding a QKD key must never stand in for authenticating the client. */
	if (!l->mutual && l->policy != QD_POLICY_OFF)
		cerr(c, member(g, "mutual"), "'mutual = false' with QKD policy "
		     "\"%s\": a QKD key must never be the client's "
		     "authentication; keep mutual (the default) or set policy "
		     "\"off\"", qd_policy_name(l->policy));
	if (l->x25519 && l->policy == QD_POLICY_REQUIRED)
		cerr(c, member(g, "x25519"), "'x25519 = true' with QKD policy "
		     "\"required\": plain X25519 carries no QKD key; it applies "
		     "to policies \"preferred\" and \"off\" only");
	if (member(g, "qkd_mlkem768") && l->role != QKTLS_ROLE_SERVER)
		cerr(c, member(g, "qkd_mlkem768"), "'qkd_mlkem768' applies to server "
		     "links only (what a server accepts from the published "
		     "QKD-KEM provider's clients)");
	/* Without X25519, so opt-in under "required"; accepted under "preferred". */
	l->qkd_mlkem768 = get_bool(c, g, "qkd_mlkem768",
				   l->policy == QD_POLICY_PREFERRED);
	if (l->qkd_mlkem768 && l->policy == QD_POLICY_OFF &&
	    member(g, "qkd_mlkem768"))
		cerr(c, member(g, "qkd_mlkem768"), "'qkd_mlkem768 = true' needs a "
		     "QKD policy (the group carries a QKD key)");
	if (l->policy == QD_POLICY_OFF && l->key_file)
		cerr(c, member(member(g, "qkd"), "key_file"),
		     "qkd key_file is set but policy is \"off\"");
	if (l->key_file && l->has_kme)
		cerr(c, member(member(g, "qkd"), "kme"), "qkd key_file and kme "
		     "are alternatives: static keys from a file, or keys fed "
		     "from the KME");
	if (l->has_kme && l->policy == QD_POLICY_OFF)
		cerr(c, member(member(g, "qkd"), "kme"), "qkd kme is set but "
		     "policy is \"off\"");
	if (l->has_kme && !l->pool && l->name) {
		if (pool_name_ok(l->name))
			l->pool = strdup(l->name);
		else
			cerr(c, member(g, "qkd"), "%s: the link name is too long to "
			     "name its kernel pools: set qkd pool (1 to %d "
			     "characters)", where, QD_POOL_BASE_MAX);
	}
	for (struct qd_link *o = cfg->links; l->pool && o < l; o++)
		if (o->pool && !strcmp(o->pool, l->pool))
			cerr(c, member(member(g, "qkd"), "pool") ?
			     member(member(g, "qkd"), "pool") : g,
			     "pool '%s' is also the pool of link '%s' (line %d): "
			     "a QKD key may serve one link only", l->pool,
			     o->name ? o->name : "?", o->line);

	ku = get_str(c, g, "key_update", false, where);
	l->key_update = l->policy != QD_POLICY_OFF ? QD_KEY_UPDATE_QKD :
						     QD_KEY_UPDATE_STANDARD;
	if (ku) {
		s = member(g, "key_update");
		static const char *const updates[] = {
			[QD_KEY_UPDATE_OFF] = "off", [QD_KEY_UPDATE_STANDARD] = "standard",
			[QD_KEY_UPDATE_QKD] = "qkd", NULL
		};
		int v = pick(ku, updates);

		if (v >= 0)
			l->key_update = v;
		else
			cerr(c, s, "key_update '%s' must be \"qkd\", \"standard\" "
			     "or \"off\"", ku);
		if (l->key_update == QD_KEY_UPDATE_QKD && l->policy == QD_POLICY_OFF)
			cerr(c, s, "key_update \"qkd\" needs QKD keys, but the "
			     "link's qkd policy is \"off\"");
		free(ku);
	}
	l->rekey_bytes = get_u64(c, g, "rekey_bytes", 0);
	l->rekey_seconds = get_uint(c, g, "rekey_seconds", 0, 86400 * 365, 0);
	if (l->key_update == QD_KEY_UPDATE_OFF &&
	    (l->rekey_bytes || l->rekey_seconds))
		cerr(c, member(g, "rekey_bytes") ? member(g, "rekey_bytes") :
		     member(g, "rekey_seconds"), "rekey_bytes/rekey_seconds are "
		     "set but key_update is \"off\"");
	check_required_rekeys(c, g, l);
	files_digest(l);
	/* A QKD key must go into one handshake only: one key file, one link. */
	for (struct qd_link *o = cfg->links; l->key_file && o < l; o++) {
		char a[PATH_MAX], b[PATH_MAX];

		if (o->key_file && realpath(o->key_file, a) && realpath(l->key_file, b) &&
		    !strcmp(a, b))
			cerr(c, member(member(g, "qkd"), "key_file"),
			     "key_file %s is also the key file of link '%s' (line %d): "
			     "a QKD key may serve one link only", l->key_file,
			     o->name ? o->name : "?", o->line);
	}
}

static void parse_global(struct ctx *c, struct qd_config *cfg,
			 const config_setting_t *root)
{
	static const char *const names[] = {
		"socket", "socket_mode", "log_level", "log_target",
		"handshake_timeout", "max_handshakes", "max_handshakes_per_user",
		"qkd_group_id", "links", "sync_listen", "sync_max_connections",
		"sync_max_per_address", "sync_accept_timeout", NULL
	};
	struct sockaddr_un sun;
	const config_setting_t *s;
	char *v;

	check_names(c, root, names, "the global section");
	cfg->socket_path = get_str(c, root, "socket", false, "global");
	if (!cfg->socket_path)
		cfg->socket_path = strdup(QKTLS_AGENT_SOCKET_DEFAULT);
	else if (cfg->socket_path[0] != '/' ||
		 strlen(cfg->socket_path) >= sizeof(sun.sun_path))
		cerr(c, member(root, "socket"), "socket '%s' must be an absolute path "
		     "shorter than %zu bytes", cfg->socket_path, sizeof(sun.sun_path));
	cfg->socket_mode = get_uint(c, root, "socket_mode", 0, 0777, 0666);
	v = get_str(c, root, "log_level", false, "global");
	cfg->log_level = LOG_INFO;
	if (v) {
		cfg->log_level = qd_log_level_parse(v);
		if (cfg->log_level < 0) {
			cerr(c, member(root, "log_level"), "log_level '%s' must be error, "
			     "warning, notice, info or debug", v);
			cfg->log_level = LOG_INFO;
		}
		free(v);
	}
	v = get_str(c, root, "log_target", false, "global");
	if (v) {
		if (!strcmp(v, "syslog"))
			cfg->log_syslog = true;
		else if (strcmp(v, "stderr"))
			cerr(c, member(root, "log_target"),
			     "log_target '%s' must be \"stderr\" or \"syslog\"", v);
		free(v);
	}
	cfg->handshake_timeout = get_uint(c, root, "handshake_timeout", 1, 600, 10);
	cfg->max_handshakes = get_uint(c, root, "max_handshakes", 1, 4096, 64);
	/* Default: half the slots, so one caller never takes them all. */
	cfg->max_handshakes_per_user = get_uint(c, root, "max_handshakes_per_user",
						1, 4096, 0);
	if (!cfg->max_handshakes_per_user)
		cfg->max_handshakes_per_user = cfg->max_handshakes > 1 ?
					       cfg->max_handshakes / 2 : 1;
	cfg->qkd_group_id = get_uint(c, root, "qkd_group_id", 0xFE00, 0xFEFF, 0xFE37);

	cfg->sync_listen = get_str(c, root, "sync_listen", false, "global");
	if (cfg->sync_listen && !addr_ok(cfg->sync_listen))
		cerr(c, member(root, "sync_listen"), "sync_listen '%s' must be "
		     "\"HOST:PORT\" or \"[IPV6]:PORT\"", cfg->sync_listen);
	cfg->sync_max_connections = get_uint(c, root, "sync_max_connections", 1,
					     4096, 32);
	cfg->sync_max_per_address = get_uint(c, root, "sync_max_per_address", 1,
					     4096, 4);
	cfg->sync_accept_timeout = get_uint(c, root, "sync_accept_timeout", 1,
					    600, 10);

	s = member(root, "links");
	if (!s) {
		cerr(c, root, "missing required list 'links' (one group per link)");
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		cerr(c, s, "'links' must be a list of groups: links = ( { ... }, { ... } );");
		return;
	}
	cfg->n_links = config_setting_length(s);
	if (!cfg->n_links) {
		cerr(c, s, "'links' is empty: configure at least one link");
		return;
	}
	cfg->links = calloc(cfg->n_links, sizeof(*cfg->links));
	if (!cfg->links) {
		cerr(c, s, "out of memory");
		cfg->n_links = 0;
		return;
	}
	for (int i = 0; i < cfg->n_links; i++) {
		struct qd_link *l = &cfg->links[i];

		pthread_mutex_init(&l->lock, NULL);
		parse_link(c, cfg, config_setting_get_elem(s, i), l);
		if (l->has_kme && !l->kme.master && !cfg->sync_listen)
			cerr(c, config_setting_get_elem(s, i), "link '%s' has kme role "
			     "\"slave\": set the global 'sync_listen' (\"HOST:PORT\" "
			     "where the master's agent sends the key IDs)",
			     l->name ? l->name : "?");
		for (struct qd_link *o = cfg->links; l->has_kme && o < l; o++)
			if (o->has_kme && o->kme.sae_id && l->kme.sae_id &&
			    o->kme.peer_sae_id && l->kme.peer_sae_id &&
			    !strcmp(o->kme.sae_id, l->kme.sae_id) &&
			    !strcmp(o->kme.peer_sae_id, l->kme.peer_sae_id))
				cerr(c, config_setting_get_elem(s, i), "link '%s': "
				     "SAE pair %s/%s is also used by link '%s' (line "
				     "%d): the agents tell links apart by it",
				     l->name ? l->name : "?", l->kme.sae_id,
				     l->kme.peer_sae_id, o->name ? o->name : "?",
				     o->line);
	}
}

struct qd_config *qd_config_load(const char *path)
{
	struct ctx c = { .path = path };
	struct qd_config *cfg;
	config_t lc;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	cfg->path = strdup(path);
	config_init(&lc);
	if (!config_read_file(&lc, path)) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			qd_log(LOG_ERR, "%s: cannot read: %s", path, strerror(errno));
		else
			qd_log(LOG_ERR, "%s:%d: syntax error: %s",
			       config_error_file(&lc) ? config_error_file(&lc) : path,
			       config_error_line(&lc), config_error_text(&lc));
		config_destroy(&lc);
		qd_config_free(cfg);
		return NULL;
	}
	parse_global(&c, cfg, config_root_setting(&lc));
	config_destroy(&lc);
	if (c.errors) {
		qd_log(LOG_ERR, "%s: %d error%s", path, c.errors, c.errors > 1 ? "s" : "");
		qd_config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void free_link(struct qd_link *l)
{
	free(l->name);
	free(l->peer_name);
	free(l->certificate);
	free(l->private_key);
	free(l->ca);
	free(l->crl);
	free(l->ciphersuites);
	free(l->key_file);
	free(l->pool);
	free(l->kme.url);
	free(l->kme.sae_id);
	free(l->kme.peer_sae_id);
	free(l->kme.certificate);
	free(l->kme.private_key);
	free(l->kme.ca);
	free(l->kme.crl);
	free(l->kme.peer_agent);
	free(l->kme.key_stream_id);
	pthread_mutex_destroy(&l->lock);
}

void qd_config_free(struct qd_config *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < cfg->n_links; i++)
		free_link(&cfg->links[i]);
	free(cfg->links);
	free(cfg->socket_path);
	free(cfg->sync_listen);
	free(cfg->path);
	free(cfg);
}

struct qd_link *qd_config_link(struct qd_config *cfg, const char *name)
{
	for (int i = 0; i < cfg->n_links; i++)
		if (!strcmp(cfg->links[i].name, name))
			return &cfg->links[i];
	return NULL;
}

const char *qd_policy_name(enum qd_policy p)
{
	switch (p) {
	case QD_POLICY_REQUIRED:
		return "required";
	case QD_POLICY_PREFERRED:
		return "preferred";
	case QD_POLICY_OFF:
		return "off";
	}
	return "?";
}

void qd_link_pool_names(const struct qd_link *l, char *tx, char *rx)
{
	bool client = l->role == QKTLS_ROLE_CLIENT;

	snprintf(tx, QKTLS_POOL_NAME_MAX, "%s.%s", l->pool, client ? "c2s" : "s2c");
	snprintf(rx, QKTLS_POOL_NAME_MAX, "%s.%s", l->pool, client ? "s2c" : "c2s");
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool qd_link_same(const struct qd_link *a, const struct qd_link *b)
{
	return str_same(a->name, b->name) && a->role == b->role &&
	       str_same(a->peer_name, b->peer_name) &&
	       a->n_addrs == b->n_addrs &&
	       !memcmp(a->addrs, b->addrs, sizeof(a->addrs[0]) * a->n_addrs) &&
	       str_same(a->certificate, b->certificate) &&
	       str_same(a->private_key, b->private_key) && str_same(a->ca, b->ca) &&
	       str_same(a->crl, b->crl) &&
	       a->mutual == b->mutual && str_same(a->ciphersuites, b->ciphersuites) &&
	       a->x25519 == b->x25519 && a->qkd_mlkem768 == b->qkd_mlkem768 &&
	       a->n_uids == b->n_uids &&
	       !memcmp(a->uids, b->uids, sizeof(a->uids[0]) * a->n_uids) &&
	       a->n_gids == b->n_gids &&
	       !memcmp(a->gids, b->gids, sizeof(a->gids[0]) * a->n_gids) &&
	       a->policy == b->policy && str_same(a->key_file, b->key_file) &&
	       str_same(a->pool, b->pool) && a->low_watermark == b->low_watermark &&
	       a->high_watermark == b->high_watermark && a->key_size == b->key_size &&
	       a->qkd_wait_ms == b->qkd_wait_ms &&
	       a->orphan_timeout == b->orphan_timeout && a->key_update == b->key_update &&
	       a->unauth_keys_per_peer == b->unauth_keys_per_peer &&
	       a->unauth_keys_per_link == b->unauth_keys_per_link &&
	       a->rekey_bytes == b->rekey_bytes && a->rekey_seconds == b->rekey_seconds &&
	       a->has_kme == b->has_kme && str_same(a->kme.url, b->kme.url) &&
	       str_same(a->kme.sae_id, b->kme.sae_id) &&
	       str_same(a->kme.peer_sae_id, b->kme.peer_sae_id) &&
	       a->kme.master == b->kme.master &&
	       str_same(a->kme.certificate, b->kme.certificate) &&
	       str_same(a->kme.private_key, b->kme.private_key) &&
	       str_same(a->kme.ca, b->kme.ca) && str_same(a->kme.crl, b->kme.crl) &&
	       a->kme.timeout_ms == b->kme.timeout_ms &&
	       str_same(a->kme.peer_agent, b->kme.peer_agent) &&
	       str_same(a->kme.key_stream_id, b->kme.key_stream_id);
}
