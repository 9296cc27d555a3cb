/* APEX payload file systems for `signet release sign` (release_fs.c). */
#ifndef SIGNET_CLI_RELEASE_FS_H
#define SIGNET_CLI_RELEASE_FS_H

#include "signet/release.h"

extern const signet_release_fs_ops cli_release_fs_ops;

#endif
