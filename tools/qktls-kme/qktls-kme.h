/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef QKTLS_KME_TOOL_H
#define QKTLS_KME_TOOL_H

/* qktls-kme 004 ...: argv[0] is "004". */
int qk_kme_cli_004(int argc, char **argv);

#endif
