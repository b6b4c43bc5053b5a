// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the qktls benchmarks share (tools/bench/bench.h).
 */
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/utsname.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* The uapi header (through qktls_nl.h) first: sock.h defers to its flags. */
#include "../../tests/lib/qktls_nl.h"
#include "../../tests/lib/ktls_secrets.h"

#include <qktls/keysched.h>
#include <qktls/sock.h>

#include "bench.h"

#define KEY_TAG		0x4b52454bu	/* "KERK": IDs of the benches' keys */
#define ADD_BATCH	512		/* keys per KEY_ADD message */

const char *bench_prog = "qktls-bench";

static void vfail(int status, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), noreturn));
static void vfail(int status, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", bench_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(1, fmt, ap);
}

void bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(2, fmt, ap);
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double cpu_secs(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		die("getrusage: %s", strerror(errno));
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void bench_context(struct bench_context *c)
{
	const char *accel = getenv("QKTLS_BENCH_ACCEL");
	struct utsname u;

	memset(c, 0, sizeof(*c));
	if (!uname(&u))
		snprintf(c->kernel, sizeof(c->kernel), "%s", u.release);
	snprintf(c->accel, sizeof(c->accel), "%s", accel && *accel ? accel : "unknown");
	c->cpus = sysconf(_SC_NPROCESSORS_ONLN);
}

void bench_context_print(const struct bench_context *c)
{
	printf("kernel %s, accelerator %s, %ld CPUs%s\n", c->kernel, c->accel,
	       c->cpus, strcmp(c->accel, "KVM") ? " (emulated or unknown: compare ratios, "
	       "not absolute figures)" : "");
}

FILE *bench_csv_open(const char *path, const char *header)
{
	FILE *f;

	if (!path)
		return NULL;
	f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	fprintf(f, "%s\n", header);
	return f;
}

/* ---- OpenSSL baselines ------------------------------------------------------------ */

const char *bench_ssl_error(void)
{
	static __thread char buf[256];
	unsigned long e = ERR_get_error();

	if (!e)
		return "no OpenSSL error queued";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* An EC P-256 key and a self-signed certificate for it, into @ctx. */
static void self_signed(SSL_CTX *ctx)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;

	if (!pkey || !x)
		die("cannot make a key: %s", bench_ssl_error());
	name = X509_get_subject_name(x);
	if (!ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, pkey) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"qktls-bench", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_sign(x, pkey, EVP_sha256()) ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pkey) != 1)
		die("cannot make a certificate: %s", bench_ssl_error());
	X509_free(x);
	EVP_PKEY_free(pkey);
}

struct ssl_ctx_st *bench_ssl_ctx(bool server, const char *suites,
				 const char *cert, const char *key,
				 const char *ca)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, suites) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519MLKEM768"))
		die("OpenSSL context for %s: %s", suites, bench_ssl_error());
	SSL_CTX_clear_options(ctx, SSL_OP_ENABLE_KTLS);
	if (server && !SSL_CTX_set_num_tickets(ctx, 0))
		die("OpenSSL: no tickets: %s", bench_ssl_error());
	if (cert) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
			die("%s, %s: %s", cert, key, bench_ssl_error());
	} else if (server) {
		self_signed(ctx);
	}
	if (ca) {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
			die("%s: %s", ca, bench_ssl_error());
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
				   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
}

/* ---- samples ------------------------------------------------------------------ */

void sample_add(struct samples *s, double v)
{
	if (s->n == s->cap)
		sample_reserve(s, s->cap ? 2 * s->cap : 256);
	s->v[s->n++] = v;
}

void sample_reserve(struct samples *s, size_t n)
{
	if (s->cap >= n)
		return;
	s->v = realloc(s->v, n * sizeof(*s->v));
	if (!s->v)
		die("out of memory");
	s->cap = n;
}

void samples_append(struct samples *to, const struct samples *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		sample_add(to, from->v[i]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double quantile(struct samples *s, double q)
{
	size_t i;

	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	i = (size_t)(q * (s->n - 1) + 0.5);
	return s->v[i];
}

void samples_free(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- arguments ------------------------------------------------------------------ */

uint64_t parse_size(const char *opt, const char *s)
{
	unsigned long long v;
	uint64_t mul = 1;
	char *end;

	if (*s < '0' || *s > '9')
		bad_usage("%s: \"%s\" is not a size", opt, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'M' || *end == 'G') {
		mul = *end == 'K' ? 1024 : *end == 'M' ? MiB : 1024 * MiB;
		end++;
	}
	if (*end || errno || v > UINT64_MAX / mul)
		bad_usage("%s: \"%s\" is not a size (digits and an optional K, M or G)",
			  opt, s);
	return v * mul;
}

unsigned long parse_uint(const char *opt, const char *s, unsigned long min,
			 unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max)
		bad_usage("%s: \"%s\" is not a number from %lu to %lu", opt, s,
			  min, max);
	return v;
}

long sendfile_full(int fd, int in, long off, size_t n)
{
	off_t o = off;
	size_t done = 0;

	while (done < n) {
		ssize_t k = sendfile(fd, in, &o, n - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		done += (size_t)k;
	}
	return (long)done;
}

/* ---- pools ------------------------------------------------------------------ */

static const char *const pools[] = {
	POOL_C_C2S, POOL_C_S2C, POOL_S_C2S, POOL_S_S2C,
};

static void nl_check(struct qk_reply *r, const char *what, const char *pool)
{
	int err = r->err;

	if (err)
		die("%s %s: %s%s%s", what, pool, strerror(-err),
		    r->extack[0] ? ": " : "", r->extack);
	qk_reply_free(r);
}

void pool_make(struct qk *q, const char *name, uint32_t capacity)
{
	struct qk_reply r;

	qk_pool_simple(q, QKTLS_CMD_POOL_DEL, name, &r);
	qk_reply_free(&r);
	qk_pool_new(q, name, capacity, BENCH_KEY_LEN, &r);
	nl_check(&r, "pool add", name);
}

void pools_create(struct qk *q, uint32_t capacity)
{
	size_t i;

	for (i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		pool_make(q, pools[i], capacity);
}

void pools_delete(struct qk *q)
{
	struct qk_reply r;
	size_t i;

	for (i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		qk_pool_simple(q, QKTLS_CMD_POOL_DEL, pools[i], &r);
		qk_reply_free(&r);
	}
}

void pools_fill2(struct qk *qa, const char *a, struct qk *qb, const char *b,
		 unsigned int n, uint64_t *next)
{
	struct qk_reply r;
	unsigned int done, k;

	for (done = 0; done < n; done += k) {
		k = n - done < ADD_BATCH ? n - done : ADD_BATCH;
		qk_add_keys(qa, a, KEY_TAG, *next + done, k, BENCH_KEY_LEN, &r);
		nl_check(&r, "key add", a);
		qk_add_keys(qb, b, KEY_TAG, *next + done, k, BENCH_KEY_LEN, &r);
		nl_check(&r, "key add", b);
	}
	*next += n;
}

void pools_fill(struct qk *q, const char *a, const char *b, unsigned int n,
		uint64_t *next)
{
	pools_fill2(q, a, q, b, n, next);
}

/* ---- attached kTLS pairs -------------------------------------------------------- */

static void attach(struct qktls_nl *nl, int fd, uint16_t suite,
		   const uint8_t *tx, const uint8_t *rx, size_t len,
		   const char *tx_pool, const char *rx_pool, bool qkd,
		   uint64_t policy, uint64_t *id)
{
	struct qktls_sock_attach a = {
		.fd = fd, .suite = suite, .tx_secret = tx, .rx_secret = rx,
		.secret_len = len, .link = "bench", .tx_pool = tx_pool,
		.rx_pool = rx_pool, .qkd_update = qkd, .rekey_bytes = policy,
	};
	struct qktls_sock_info info;

	if (qktls_sock_attach(nl, &a, &info))
		die("attach: %s", qktls_nl_error(nl));
	*id = info.id;
}

void pair_key_fds(struct pair *p, uint16_t suite, int c, int s)
{
	int err;

	p->suite = suite;
	p->len = qktls_suite_info(suite)->hash_len;
	p->c = c;
	p->s = s;
	if (RAND_bytes(p->c2s, (int)p->len) != 1 || RAND_bytes(p->s2c, (int)p->len) != 1)
		die("no random secrets");
	err = qk_ktls_key_pair(suite, p->c2s, p->s2c, p->len, c, s);
	if (err)
		die("kTLS on a connection: %s", qktls_strerror(err));
}

void pair_key(struct pair *p, uint16_t suite)
{
	int c = -1, s = -1, err = tcp_pair(&c, &s);

	if (err)
		die("loopback TCP pair: %s", strerror(-err));
	pair_key_fds(p, suite, c, s);
}

void pair_attach2(struct pair *p, struct qktls_nl *nl_c, struct qktls_nl *nl_s,
		  bool qkd, uint64_t policy)
{
	attach(nl_c, p->c, p->suite, p->c2s, p->s2c, p->len, POOL_C_C2S, POOL_C_S2C,
	       qkd, policy, &p->c_id);
	attach(nl_s, p->s, p->suite, p->s2c, p->c2s, p->len, POOL_S_S2C, POOL_S_C2S,
	       qkd, policy, &p->s_id);
	OPENSSL_cleanse(p->c2s, sizeof(p->c2s));
	OPENSSL_cleanse(p->s2c, sizeof(p->s2c));
}

void pair_attach(struct pair *p, struct qktls_nl *nl, bool qkd, uint64_t policy)
{
	pair_attach2(p, nl, nl, qkd, policy);
}

void pair_open(struct pair *p, struct qktls_nl *nl, uint16_t suite, bool qkd,
	       uint64_t policy)
{
	pair_key(p, suite);
	pair_attach(p, nl, qkd, policy);
}

void pair_close(struct pair *p)
{
	close(p->c);
	close(p->s);
}

/* ---- /proc/slabinfo ------------------------------------------------------------ */

void slab_read(struct slab *s)
{
	FILE *f;
	char line[512], name[128];
	long long active, total, size;

	qk_slab_shrink();
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		die("/proc/slabinfo: %s (needs root)", strerror(errno));
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %lld %lld %lld", name, &active, &total, &size) != 4)
			continue;
		s->all += active * size;
		if (!strncmp(name, "kmalloc-", 8))
			s->kmalloc += active * size;
		if (!strcmp(name, "qktls_sock")) {
			s->qk_objs = active;
			s->qk_bytes = active * size;
		}
	}
	fclose(f);
	f = fopen("/proc/meminfo", "r");
	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lld kB", &s->meminfo_kb) == 1)
			break;
	fclose(f);
}

/* ---- network namespaces ---------------------------------------------------------- */

void enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (!name)
		return;
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die("network namespace %s: %s", path, strerror(errno));
	close(fd);
}
