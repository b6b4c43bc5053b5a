/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the C programs of tools/bench share: failing with a message, clocks
 * and CPU time, samples and their quantiles, argument parsing, and the
 * attached loopback kTLS pairs and QKD pools of the rekey and scale
 * benchmarks.  Every program sets bench_prog first.
 */
#ifndef QKTLS_BENCH_H
#define QKTLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MiB		(1024ULL * 1024)

/* The program's name, for messages. */
extern const char *bench_prog;

/* "PROG: message" on stderr, exit status 1 (a failure) or 2 (bad usage). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* CLOCK_MONOTONIC in seconds. */
double now(void);
/* User plus system CPU seconds of this process (getrusage RUSAGE_SELF). */
double cpu_secs(void);

struct samples {
	double *v;
	size_t n, cap;
};

void sample_add(struct samples *s, double v);
/* Room for @n samples, so that adding them never reallocates mid-run. */
void sample_reserve(struct samples *s, size_t n);
void samples_append(struct samples *to, const struct samples *from);
/* The @q quantile (0..1) of @s, nearest rank; sorts @s.  0 when empty. */
double quantile(struct samples *s, double q);
void samples_free(struct samples *s);

/* Option arguments; a bad one is a bad_usage() naming @opt. */
uint64_t parse_size(const char *opt, const char *s);	/* digits [KMG] */
unsigned long parse_uint(const char *opt, const char *s,
			 unsigned long min, unsigned long max);

/*
 * Where the figures come from: the kernel (uname), the accelerator the
 * runner said ($QKTLS_BENCH_ACCEL: KVM, TCG; else "unknown") and the CPUs.
 * bench_context_print() prints one line of it.
 */
struct bench_context {
	char kernel[65];
	char accel[32];
	long cpus;
};

void bench_context(struct bench_context *c);
void bench_context_print(const struct bench_context *c);

/* A CSV file for the figures, or NULL for none (@path NULL). */
FILE *bench_csv_open(const char *path, const char *header);

/*
 * A TLS 1.3 context of OpenSSL for the userspace baselines: cipher suites
 * @suites (OpenSSL's list), group X25519MLKEM768, no tickets, no kTLS.
 * @cert and @key: PEM files, or NULL for a server certificate made now
 * (EC P-256, self-signed).  @ca: verify the peer (a server then requires a
 * client certificate), or NULL for no verification.
 */
struct ssl_ctx_st;
struct ssl_ctx_st *bench_ssl_ctx(bool server, const char *suites,
				 const char *cert, const char *key,
				 const char *ca);
/* OpenSSL's error queue as one line (empties it). */
const char *bench_ssl_error(void);

/* sendfile() all of @n bytes of @in from @off; @n or -errno. */
long sendfile_full(int fd, int in, long off, size_t n);

/*
 * An attached loopback kTLS pair (tests/lib/ktls_secrets.h keys it from
 * random traffic secrets): both ends attached to qktls.ko with the pools
 * below (two copies of each direction's pool, as two hosts would hold
 * them) and a policy of a TX rekey every @policy bytes (0: none); @qkd:
 * QKD key updates (keys from the TX pool) rather than standard ones.
 */
#define POOL_C_C2S	"qkbench-c.c2s"	/* client TX */
#define POOL_C_S2C	"qkbench-c.s2c"	/* client RX */
#define POOL_S_C2S	"qkbench-s.c2s"	/* server RX */
#define POOL_S_S2C	"qkbench-s.s2c"	/* server TX */
#define BENCH_KEY_LEN	32

struct qk;
struct qktls_nl;

struct pair {
	int c, s;			/* client (writer), server (reader) */
	uint64_t c_id, s_id;		/* socket cookies */
	uint16_t suite;
	size_t len;			/* of each secret */
	uint8_t c2s[48], s2c[48];	/* kept from pair_key() to pair_attach() */
};

/* The four pools, made afresh with room for @capacity keys each. */
void pools_create(struct qk *q, uint32_t capacity);
void pools_delete(struct qk *q);
/* One pool @name, made afresh (keys of BENCH_KEY_LEN bytes). */
void pool_make(struct qk *q, const char *name, uint32_t capacity);
/*
 * Both copies of a direction's pool get the same @n keys (IDs count on
 * from *@next, so no ID is ever reused within a pool), @a's first.
 * pools_fill2(): the copies are in two network namespaces, @qa's and
 * @qb's (give the receiving end's first: a key must be there before the
 * sender can use it).
 */
void pools_fill(struct qk *q, const char *a, const char *b, unsigned int n,
		uint64_t *next);
void pools_fill2(struct qk *qa, const char *a, struct qk *qb, const char *b,
		 unsigned int n, uint64_t *next);
void pair_open(struct pair *p, struct qktls_nl *nl, uint16_t suite, bool qkd,
	       uint64_t policy);
/* pair_open() in two steps: keyed with kTLS, then attached (secrets wiped). */
void pair_key(struct pair *p, uint16_t suite);
void pair_attach(struct pair *p, struct qktls_nl *nl, bool qkd, uint64_t policy);
/*
 * The same for a connection made elsewhere (client @c, server @s), and
 * for ends in two network namespaces: @nl_c and @nl_s opened in the
 * client's and the server's, each holding that end's two pools.
 */
void pair_key_fds(struct pair *p, uint16_t suite, int c, int s);
void pair_attach2(struct pair *p, struct qktls_nl *nl_c, struct qktls_nl *nl_s,
		  bool qkd, uint64_t policy);
void pair_close(struct pair *p);

/*
 * Kernel memory from /proc/slabinfo (root), every cache shrunk first: the
 * qktls_sock cache, every kmalloc cache and all slab caches, bytes of
 * objects in use; Slab: of /proc/meminfo (kB) too.
 */
struct slab {
	long long qk_objs, qk_bytes;	/* the qktls_sock cache */
	long long kmalloc, all;		/* bytes in use: kmalloc-*, every cache */
	long long meminfo_kb;		/* Slab: of /proc/meminfo */
};

void slab_read(struct slab *s);

/*
 * Enter network namespace @name (/run/netns/NAME, as ip netns makes them)
 * in this thread; NULL: stay.  Dies on failure.
 */
void enter_netns(const char *name);

#endif
