// SPDX-License-Identifier: GPL-2.0-only
/*
 * qktls: admin tool for qktls.ko key pools (generic netlink "qktls").
 *
 *	qktls [OPTIONS] { pool | key | sock | stats | monitor | help } ...
 *
 * Options come before the command, as in iproute2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qktls.h"

bool qk_json;
bool qk_pretty;
bool qk_stats;

static void usage(FILE *f)
{
	fputs("Usage: qktls [OPTIONS] OBJECT COMMAND [ARGS]\n"
	      "       qktls help | qktls OBJECT help\n"
	      "OBJECT and COMMAND:\n"
	      "  pool    add | set | del | show | list   key pools of this netns\n"
	      "  key     add | del | flush | list | take  keys of a pool\n"
	      "  sock    show | detach                    attached kTLS sockets\n"
	      "  stats                                   totals of this netns\n"
	      "  monitor                                 print events as they come\n"
	      "OPTIONS:\n"
	      "  -j, --json      JSON output (read commands and monitor)\n"
	      "  -p, --pretty    indent JSON output\n"
	      "  -s, --stats     every counter (sock show)\n"
	      "  -V, --version   print the version and exit\n"
	      "  -h, --help      print this help and exit\n"
	      "Key material goes into the kernel and never comes out: no command\n"
	      "prints it.  See qktls(8).\n", f);
}

static int do_help(int argc, char **argv)
{
	if (argc < 1) {
		usage(stdout);
		return 0;
	}
	if (argc > 1)
		return qk_usage_err(NULL, "help: unknown argument \"%s\"", argv[1]);
	if (!strcmp(argv[0], "pool"))
		usage_pool(stdout);
	else if (!strcmp(argv[0], "key"))
		usage_key(stdout);
	else if (!strcmp(argv[0], "sock"))
		usage_sock(stdout);
	else if (!strcmp(argv[0], "stats"))
		usage_stats(stdout);
	else if (!strcmp(argv[0], "monitor"))
		usage_monitor(stdout);
	else
		return qk_usage_err(NULL, "help: unknown object \"%s\"", argv[0]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "-j") || !strcmp(o, "--json")) {
			qk_json = true;
		} else if (!strcmp(o, "-p") || !strcmp(o, "--pretty")) {
			qk_pretty = true;
		} else if (!strcmp(o, "-s") || !strcmp(o, "--stats")) {
			qk_stats = true;
		} else if (!strcmp(o, "-jp") || !strcmp(o, "-pj")) {
			qk_json = qk_pretty = true;
		} else if (!strcmp(o, "-V") || !strcmp(o, "--version")) {
			printf("qktls %s (qktls generic netlink family version %d)\n",
			       QKTLS_VERSION_STRING, QKTLS_GENL_VERSION);
			return 0;
		} else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "--")) {
			i++;
			break;
		} else {
			return qk_usage_err(NULL, "unknown option \"%s\"", o);
		}
	}
	if (i == argc) {
		usage(stderr);
		return QK_EXIT_USAGE;
	}
	cmd = argv[i++];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "pool"))
		return do_pool(argc, argv);
	if (!strcmp(cmd, "key"))
		return do_key(argc, argv);
	if (!strcmp(cmd, "sock"))
		return do_sock(argc, argv);
	if (!strcmp(cmd, "stats"))
		return do_stats(argc, argv);
	if (!strcmp(cmd, "monitor"))
		return do_monitor(argc, argv);
	if (!strcmp(cmd, "help"))
		return do_help(argc, argv);
	if (!strcmp(cmd, "version")) {
		printf("qktls %s (qktls generic netlink family version %d)\n",
		       QKTLS_VERSION_STRING, QKTLS_GENL_VERSION);
		return 0;
	}
	return qk_usage_err(NULL, "unknown object \"%s\"", cmd);
}
