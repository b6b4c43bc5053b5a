/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for tests that need kTLS sockets: a connected TCP pair on
 * loopback, TLS 1.3 crypto_info for each cipher suite kTLS has, a private
 * network namespace and its /proc/net/tls_stat counters.
 */
#ifndef QKTLS_TESTS_KTLS_H
#define QKTLS_TESTS_KTLS_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tls.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* Key, 12-byte IV and record sequence of one direction, as TLS 1.3 has them. */
struct ktls_dir {
	uint8_t key[32];
	uint8_t iv[12];
	uint64_t seq;
};

union ktls_info {
	struct tls_crypto_info base;
	struct tls12_crypto_info_aes_gcm_128 aes128;
	struct tls12_crypto_info_aes_gcm_256 aes256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

static inline size_t ktls_key_len(uint16_t cipher)
{
	return cipher == TLS_CIPHER_AES_GCM_128 ? 16 : 32;
}

static inline void ktls_put_seq(uint8_t out[8], uint64_t seq)
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		out[i] = seq & 0xff;
}

/* Fill @info for TLS 1.3 with @cipher from @d; returns its size or 0. */
static inline socklen_t ktls_fill(union ktls_info *info, uint16_t cipher,
				  const struct ktls_dir *d)
{
	memset(info, 0, sizeof(*info));
	info->base.version = TLS_1_3_VERSION;
	info->base.cipher_type = cipher;
	switch (cipher) {
	case TLS_CIPHER_AES_GCM_128:
		memcpy(info->aes128.key, d->key, 16);
		memcpy(info->aes128.salt, d->iv, 4);
		memcpy(info->aes128.iv, d->iv + 4, 8);
		ktls_put_seq(info->aes128.rec_seq, d->seq);
		return sizeof(info->aes128);
	case TLS_CIPHER_AES_GCM_256:
		memcpy(info->aes256.key, d->key, 32);
		memcpy(info->aes256.salt, d->iv, 4);
		memcpy(info->aes256.iv, d->iv + 4, 8);
		ktls_put_seq(info->aes256.rec_seq, d->seq);
		return sizeof(info->aes256);
	case TLS_CIPHER_CHACHA20_POLY1305:
		memcpy(info->chacha.key, d->key, 32);
		memcpy(info->chacha.iv, d->iv, 12);
		ktls_put_seq(info->chacha.rec_seq, d->seq);
		return sizeof(info->chacha);
	}
	return 0;
}

/* Turn on kTLS (the "tls" ULP) and set one direction's key. */
static inline int ktls_set(int fd, int optname, uint16_t cipher,
			   const struct ktls_dir *d)
{
	union ktls_info info;
	socklen_t len = ktls_fill(&info, cipher, d);
	int ret;

	if (!len)
		return -EINVAL;
	/* The ULP can be set once; EEXIST means it is already there. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) &&
	    errno != EEXIST)
		return -errno;
	ret = setsockopt(fd, SOL_TLS, optname, &info, len);
	memset(&info, 0, sizeof(info));
	return ret ? -errno : 0;
}

/* A connected TCP pair on 127.0.0.1: @c the client, @s the accepted side. */
static inline int tcp_pair(int *c, int *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (void *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (void *)&a, &alen))
		goto fail;
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (void *)&a, sizeof(a)))
		goto fail;
	*s = accept(l, NULL, NULL);
	if (*s < 0)
		goto fail;
	setsockopt(*c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
	return 0;
fail:
	close(l);
	return -errno;
}

/* Read exactly @len bytes (kTLS may return less than a record). */
static inline ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : (ssize_t)got;
		got += n;
	}
	return got;
}

static inline ssize_t write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	return done;
}

/*
 * A loopback TCP pair with TLS 1.3 kTLS of @cipher both ways on both ends,
 * from fixed test keys (for tests about the socket, not the records).
 */
static inline int ktls_pair(uint16_t cipher, int *c, int *s)
{
	struct ktls_dir a = { .seq = 0 }, b = { .seq = 0 };
	int err;

	memset(a.key, 0x11, sizeof(a.key));
	memset(a.iv, 0x22, sizeof(a.iv));
	memset(b.key, 0x33, sizeof(b.key));
	memset(b.iv, 0x44, sizeof(b.iv));
	err = tcp_pair(c, s);
	if (!err)
		err = ktls_set(*c, TLS_TX, cipher, &a);
	if (!err)
		err = ktls_set(*s, TLS_RX, cipher, &a);
	if (!err)
		err = ktls_set(*c, TLS_RX, cipher, &b);
	if (!err)
		err = ktls_set(*s, TLS_TX, cipher, &b);
	return err;
}

/* Move to a new network namespace with lo up (tls_stat becomes ours). */
static inline int qk_private_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, ret = 0;

	if (unshare(CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	close(fd);
	return ret;
}

/* One counter of /proc/net/tls_stat, or -1 if this kernel has none. */
static inline long qk_tls_stat(const char *name)
{
	char key[64];
	long val, ret = -1;
	FILE *f = fopen("/proc/net/tls_stat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

#endif
