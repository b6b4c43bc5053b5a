// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktlsd logging: syslog levels, to stderr (with the level's name) or to
 * syslog (facility daemon).  Never given key material.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

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

void qd_log(int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_syslog)
		syslog(level, "%s", buf);
	else
		fprintf(stderr, "qktlsd: %s: %s\n", level_name(level), buf);
}
