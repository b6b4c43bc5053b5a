// SPDX-License-Identifier: GPL-2.0-only
/*
 * A server's QKD keys and clients that have not authenticated yet.
 *
 * TLS 1.3 makes the server use the QKD key named in the ClientHello before
 * the client's certificate is checked, and a used key is gone.  Whoever can
 * name keys (someone on the path replaying a ClientHello, or a peer of a
 * flow where the server draws the key) could burn a link's keys without
 * ever authenticating.  So a handshake that took a key and ended without
 * the client authenticating spends a token of two budgets, per client
 * address and per link, of keys per minute (token buckets, full at start);
 * while a budget is spent, the server takes no key for that address (or
 * link).  Handshakes still running spend nothing: a client host opening a
 * hundred connections at once is not refused, and how many run at once is
 * bounded by max_handshakes.
 *
 * Addresses hash with a secret seed into a fixed table; addresses that
 * collide share a budget, which only makes the limit stricter for them.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/rand.h>

#include "qktlsd.h"

#define SLOTS 512

struct bucket {
	double tokens;
	struct timespec stamp;	/* last refill; tv_sec 0: never used */
};

struct qd_strangers {
	pthread_mutex_t lock;
	unsigned int per_peer, per_link;	/* keys per minute; 0 = no limit */
	uint64_t seed[2];
	struct bucket link;
	struct bucket peer[SLOTS];
	uint64_t taken, refused;	/* keys spent; takes refused */
	struct qd_ratelimit rl;
};

struct qd_strangers *qd_strangers_new(unsigned int per_peer,
				      unsigned int per_link)
{
	struct qd_strangers *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (RAND_bytes((unsigned char *)s->seed, sizeof(s->seed)) != 1) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->rl.lock, NULL);
	s->per_peer = per_peer;
	s->per_link = per_link;
	return s;
}

void qd_strangers_free(struct qd_strangers *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->rl.lock);
	free(s);
}

/* The address bytes of @a (the IPv4 of a v4-mapped IPv6 address too). */
static size_t addr_bytes(const struct sockaddr_storage *a, const uint8_t **p)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;

	if (a->ss_family == AF_INET) {
		*p = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
		return 4;
	}
	if (a->ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
		*p = a6->sin6_addr.s6_addr + 12;
		return 4;
	}
	*p = a6->sin6_addr.s6_addr;
	return 16;
}

/* A keyed mix (not a MAC: it only spreads addresses over the slots). */
static unsigned int slot(const struct qd_strangers *s,
			 const struct sockaddr_storage *a)
{
	uint64_t h = s->seed[0];
	const uint8_t *p;
	size_t n = addr_bytes(a, &p);

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	h ^= s->seed[1];
	h *= 0x9e3779b97f4a7c15ULL;
	return (unsigned int)(h >> 40) % SLOTS;
}

/* Lock held: refill @b at @per_min a minute, up to a minute's worth. */
static void refill(struct bucket *b, unsigned int per_min,
		   const struct timespec *now)
{
	double dt;

	if (!b->stamp.tv_sec) {
		b->tokens = per_min;
	} else {
		dt = (double)(now->tv_sec - b->stamp.tv_sec) +
		     (double)(now->tv_nsec - b->stamp.tv_nsec) / 1e9;
		b->tokens += dt * per_min / 60.0;
		if (b->tokens > per_min)
			b->tokens = per_min;
	}
	b->stamp = *now;
}

bool qd_strangers_allowed(struct qd_strangers *s, const char *link,
			  const struct sockaddr_storage *peer)
{
	char addr[QD_ADDR_STR];
	struct timespec now;
	struct bucket *p;
	bool ok, by_peer;

	if (!s)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&s->lock);
	p = &s->peer[slot(s, peer)];
	if (s->per_peer)
		refill(p, s->per_peer, &now);
	if (s->per_link)
		refill(&s->link, s->per_link, &now);
	by_peer = s->per_peer && p->tokens < 1;
	ok = !by_peer && !(s->per_link && s->link.tokens < 1);
	if (!ok)
		s->refused++;
	pthread_mutex_unlock(&s->lock);
	if (!ok)
		qd_log_rl(&s->rl, LOG_WARNING, "link %s: not taking a QKD key for "
			  "%s: handshakes that did not authenticate used up "
			  "qkd.unauth_keys_%s (%u a minute); its QKD handshakes "
			  "fail until the budget refills", link,
			  qd_addr_str(peer, addr, sizeof(addr)),
			  by_peer ? "per_peer" : "per_link",
			  by_peer ? s->per_peer : s->per_link);
	return ok;
}

void qd_strangers_spend(struct qd_strangers *s,
			const struct sockaddr_storage *peer)
{
	struct timespec now;
	struct bucket *p;

	if (!s)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&s->lock);
	s->taken++;
	p = &s->peer[slot(s, peer)];
	if (s->per_peer) {
		refill(p, s->per_peer, &now);
		if (p->tokens >= 1)
			p->tokens -= 1;
	}
	if (s->per_link) {
		refill(&s->link, s->per_link, &now);
		if (s->link.tokens >= 1)
			s->link.tokens -= 1;
	}
	pthread_mutex_unlock(&s->lock);
}

void qd_strangers_stats(struct qd_strangers *s, uint64_t *taken,
			uint64_t *refused)
{
	*taken = *refused = 0;
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	*taken = s->taken;
	*refused = s->refused;
	pthread_mutex_unlock(&s->lock);
}
