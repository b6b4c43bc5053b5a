// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktlsd logging: syslog levels, to stderr (with the level's name) or to
 * syslog (facility daemon).  Never given key material.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "qktlsd.h"

static int log_level = LOG_INFO;
static bool log_syslog;

static const struct {
	const char *name;
	int level;
} levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

int qd_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(name, levels[i].name))
			return levels[i].level;
	return -1;
}

static const char *level_name(int level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return level < LOG_ERR ? "error" : "debug";
}

void qd_log_setup(int level, bool use_syslog)
{
	if (use_syslog && !log_syslog)
		openlog("qktlsd", LOG_PID, LOG_DAEMON);
	else if (!use_syslog && log_syslog)
		closelog();
	log_level = level;
	log_syslog = use_syslog;
}

static void vlog(int level, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_syslog)
		syslog(level, "%s", buf);
	else
		fprintf(stderr, "qktlsd: %s: %s\n", level_name(level), buf);
}

void qd_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void qd_log_rl(struct qd_ratelimit *rl, int level, const char *fmt, ...)
{
	struct timespec now;
	unsigned int suppressed = 0;
	bool pass;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&rl->lock);
	if (!rl->start || now.tv_sec - rl->start >= QD_RL_INTERVAL_S) {
		suppressed = rl->suppressed;
		rl->start = now.tv_sec ? now.tv_sec : 1;
		rl->n = 0;
		rl->suppressed = 0;
	}
	pass = rl->n < QD_RL_BURST;
	if (pass)
		rl->n++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&rl->lock);
	if (suppressed)
		qd_log(level, "%u more messages like the next one were suppressed "
		       "in %d s", suppressed, QD_RL_INTERVAL_S);
	if (!pass)
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

const char *qd_clean(char *dst, size_t size, const char *src, size_t len)
{
	size_t o = 0;

	if (!size)
		return "";
	if (!src)
		src = "(null)", len = 6;
	for (size_t i = 0; i < len && src[i]; i++) {
		unsigned char ch = (unsigned char)src[i];

		if (o + 4 >= size) {
			/* Room for "..." and the NUL: say it was cut. */
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		dst[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[o] = '\0';
	return dst;
}

const char *qd_addr_str(const struct sockaddr_storage *a, char *dst,
			size_t size)
{
	const struct sockaddr_in *a4 = (const void *)a;
	const struct sockaddr_in6 *a6 = (const void *)a;

	snprintf(dst, size, "?");
	if (a->ss_family == AF_INET)
		inet_ntop(AF_INET, &a4->sin_addr, dst, size);
	else if (a->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &a6->sin6_addr, dst, size);
	return dst;
}
