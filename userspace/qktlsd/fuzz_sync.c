// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer targets for the agents' key agreement messages: one session of
 * sync_proto.c, master or slave, against the peer's messages made from the
 * input, with feed.c, the KME and the transport faked in memory (fake.c,
 * whose checks trap when the protocol breaks a promise).  Built once per
 * message, FUZZ_SYNC naming it:
 *
 *   hello     slave: HELLO
 *   welcome   master: WELCOME, then LEVELS
 *   offer     slave: a valid HELLO, then OFFER
 *   commit    slave: a valid HELLO and OFFER 1, then COMMIT;
 *             master (setup bit 5): a valid WELCOME, then ACK
 *   error     slave: a valid HELLO, then ERROR;
 *             master (setup bit 5): a valid WELCOME, then NAK
 *   reconcile slave: a valid HELLO, then HELD (MISSING on the link's
 *             client side); master (setup bit 5): a valid WELCOME, then
 *             the same; the agent's pools hold keys 0 to 299
 *
 * Before OFFER, COMMIT, ACK, ERROR and NAK come the peer's valid HELD and
 * MISSING for the kernel pools both keep (empty: nothing to reconcile).
 *
 * Input: a setup byte, then chunks of a 2-byte big-endian length and a
 * body (cut short at the end of the input).  Each chunk is one message of
 * the target's type; a length with bit 15 set makes it a raw message whose
 * first byte is its type (and 0xffff is the feeder's kick).  Setup bits:
 * 0 the link's client side, 1 and 2 the agent keeps c2s and s2c, 3 and 4
 * the KME's answer (enum fake_kme), 5 the master side, 6 and 7 c2s and s2c
 * in the valid HELLO or WELCOME.  Log lines go to stderr: run with
 * -close_fd_mask=2.
 */
#include <stdint.h>
#include <stdlib.h>
#include <syslog.h>

#include "fake.h"

#define FUZZ_hello	1
#define FUZZ_welcome	2
#define FUZZ_offer	3
#define FUZZ_commit	4
#define FUZZ_error	5
#define FUZZ_reconcile	6

#ifndef FUZZ_SYNC
#error "build with -DFUZZ_SYNC=FUZZ_hello (welcome, offer, commit, error, reconcile)"
#endif

#define RAW	0x8000
#define KICK	0xffff

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	qd_log_setup(LOG_DEBUG, false);
	return 0;
}

/* The target's side: the master for WELCOME, and for ACK and NAK. */
static bool master_side(uint8_t setup)
{
	return FUZZ_SYNC == FUZZ_welcome ||
	       ((FUZZ_SYNC == FUZZ_commit || FUZZ_SYNC == FUZZ_error ||
		 FUZZ_SYNC == FUZZ_reconcile) && (setup & 0x20));
}

/* The type of the target's chunk @i. */
static uint8_t chunk_type(const struct fake *fk, size_t i)
{
	bool master = fk->f.master;

	switch (FUZZ_SYNC) {
	case FUZZ_reconcile:
		return fk->f.client ? SYNC_MSG_MISSING : SYNC_MSG_HELD;
	case FUZZ_hello:
		return SYNC_MSG_HELLO;
	case FUZZ_welcome:
		return i ? SYNC_MSG_LEVELS : SYNC_MSG_WELCOME;
	case FUZZ_offer:
		return SYNC_MSG_OFFER;
	case FUZZ_commit:
		return master ? SYNC_MSG_ACK : SYNC_MSG_COMMIT;
	default:
		return master ? SYNC_MSG_NAK : SYNC_MSG_ERROR;
	}
}

/* The valid messages that lead to the target's: HELLO (and OFFER 1), or WELCOME. */
static void prologue(struct fake *fk, uint8_t stores)
{
	uint8_t where[QD_STORE_N];
	size_t n = 0;

	if (FUZZ_SYNC == FUZZ_hello || FUZZ_SYNC == FUZZ_welcome)
		return;
	if (fk->f.master)
		fake_in_welcome(fk, stores);
	else
		fake_in_hello(fk, stores);
	if (FUZZ_SYNC == FUZZ_reconcile) {
		for (int i = QD_STORE_C2S; i < QD_STORE_N; i++)
			if (fk->f.active[i])
				fake_store_fill(fk, i, 0, 300, (uint64_t)i * 3600000);
		return;
	}
	fake_in_reconcile(fk, stores);
	if (fk->f.master || FUZZ_SYNC != FUZZ_commit)
		return;
	for (int i = 0; i < QD_STORE_N; i++)
		if ((stores & (1u << i)) && fk->f.active[i])
			where[n++] = (uint8_t)i;
	fake_in_offer(fk, 1, where, n, 0);
}

/* The chunks of the input as the peer's messages. */
static void chunks(struct fake *fk, const uint8_t *p, size_t size)
{
	for (size_t i = 0; size >= 2; i++) {
		size_t len = (size_t)(p[0] << 8 | p[1]);
		uint8_t type = chunk_type(fk, i);

		p += 2;
		size -= 2;
		if (len == KICK) {
			fake_in_kick(fk);
			continue;
		}
		if (len & RAW) {
			len &= ~(size_t)RAW;
			type = 0;
			if (len && size) {
				type = *p++;
				size--;
				len--;
			}
		}
		if (len > size)
			len = size;
		fake_in_msg(fk, type, p, len);
		p += len;
		size -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake fk;
	uint8_t setup;
	int ret;

	if (size < 1)
		return 0;
	setup = data[0];
	fake_init(&fk, master_side(setup), setup & 1, setup & 6);
	fk.kme = (enum fake_kme)((setup >> 3) & 3);
	prologue(&fk, 1 | ((setup >> 6) & 3) << 1);
	chunks(&fk, data + 1, size - 1);
	ret = fk.f.master ? qd_sync_run_master(&fk.f, &fk.io) :
			    qd_sync_run_slave(&fk.f, &fk.io);
	if (ret != -1)		/* only a stopping feeder ends with 0 */
		__builtin_trap();
	fake_free(&fk);
	return 0;
}
