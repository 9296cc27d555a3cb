/* Sub-commands of `signet keys` that live in their own files. */
#ifndef SIGNET_CLI_KEYS_CMDS_H
#define SIGNET_CLI_KEYS_CMDS_H

#include "cli.h"

/* `signet keys import` (keys_import.c). */
int cli_keys_import(const struct cli_globals *g, int argc, char **argv);

#endif
