// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for qktlsd.conf: the input is the file, read by
 * qd_config_load() (libconfig, then config.c's checks) from a memfd.  A
 * configuration it accepts must hold what config.c promises the agent;
 * anything else traps.  Inputs with @include are skipped (libconfig would
 * read other files).  Log lines go to stderr: run with -close_fd_mask=2.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "qktlsd.h"

/* A promise of config.c broken: said through the sanitizers' report. */
#define CHECK(cond) do {							\
		if (!(cond)) {							\
			__sanitizer_report_error_summary("fuzz_config.c: broken: " #cond); \
			__builtin_trap();					\
		}								\
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	qd_log_setup(LOG_DEBUG, false);
	fd = memfd_create("qktlsd.conf", MFD_CLOEXEC);
	CHECK(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

static bool name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n && n <= max && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
				       "OPQRSTUVWXYZ0123456789._-") == n;
}

static void check_kme(const struct qd_kme *k)
{
	CHECK(k->url && !strncmp(k->url, "https://", 8));
	CHECK(k->sae_id && k->peer_sae_id && k->certificate && k->private_key && k->ca);
	CHECK(k->master == !!k->peer_agent);
	CHECK(k->timeout_ms >= 100 && k->timeout_ms <= 600000);
}

static void check_link(const struct qd_config *cfg, const struct qd_link *l)
{
	char tx[QKTLS_POOL_NAME_MAX], rx[QKTLS_POOL_NAME_MAX];

	CHECK(name_ok(l->name, QKTLS_LINK_NAME_MAX - 1));
	CHECK(l->role == QKTLS_ROLE_CLIENT || l->role == QKTLS_ROLE_SERVER);
	CHECK(l->peer_name && l->certificate && l->private_key && l->ca);
	CHECK(l->ciphersuites && !strstr(l->ciphersuites, "PSK"));
	CHECK(l->n_addrs >= 0 && l->n_addrs <= QD_MAX_ADDRS);
	CHECK(l->n_uids >= 0 && l->n_uids <= QD_MAX_IDS);
	CHECK(l->n_gids >= 0 && l->n_gids <= QD_MAX_IDS);
	CHECK(l->n_uids + l->n_gids > 0);
	CHECK(l->low_watermark < l->high_watermark);
	CHECK(l->key_size >= QKTLS_KEY_MIN_LEN && l->key_size <= QKTLS_KEY_MAX_LEN);
	CHECK(!(l->key_file && l->has_kme));
	CHECK(l->policy != QD_POLICY_OFF || (!l->key_file && !l->has_kme));
	CHECK(!l->pool || name_ok(l->pool, QD_POOL_BASE_MAX));
	CHECK(!l->has_kme || l->pool);
	CHECK(l->key_update != QD_KEY_UPDATE_QKD || l->policy != QD_POLICY_OFF);
	CHECK(l->key_update != QD_KEY_UPDATE_OFF || (!l->rekey_bytes && !l->rekey_seconds));
	CHECK(qd_link_same(l, l));
	if (l->pool)
		qd_link_pool_names(l, tx, rx);
	if (l->has_kme) {
		check_kme(&l->kme);
		CHECK(l->kme.master || cfg->sync_listen);
	}
	for (const struct qd_link *o = cfg->links; o < l; o++)
		CHECK(strcmp(o->name, l->name) && (!o->pool || !l->pool ||
						   strcmp(o->pool, l->pool)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qd_config *cfg;

	if (memmem(data, size, "@include", 8))
		return 0;
	CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size);
	cfg = qd_config_load(path);
	if (!cfg)
		return 0;
	CHECK(cfg->n_links > 0 && cfg->socket_path && cfg->socket_path[0] == '/');
	CHECK(cfg->handshake_timeout >= 1 && cfg->max_handshakes >= 1);
	for (int i = 0; i < cfg->n_links; i++) {
		check_link(cfg, &cfg->links[i]);
		CHECK(qd_config_link(cfg, cfg->links[i].name) == &cfg->links[i]);
	}
	qd_config_free(cfg);
	return 0;
}
