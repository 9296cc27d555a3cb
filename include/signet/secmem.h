/* The one secret-memory helper: locked pages, wiped on free.  Keys, passwords,
 * shares and session keys live here.  Also the process hardening every tool
 * applies before it touches a secret. */
#ifndef SIGNET_SECMEM_H
#define SIGNET_SECMEM_H

#include <stddef.h>

#include "signet/err.h"

/* Zeroed, mlock()ed (best effort: a failed lock is reported once on stderr when
 * SIGNET_DEBUG is set, never fatal, because CI containers limit RLIMIT_MEMLOCK),
 * and excluded from core dumps (MADV_DONTDUMP).  Returns NULL on allocation failure. */
void *smem_alloc(size_t n);
void *smem_realloc(void *p, size_t n);   /* copies, wipes the old block */
void smem_free(void *p);                 /* wipes then frees; NULL is fine */
char *smem_strdup(const char *s);
void smem_wipe(void *p, size_t n);       /* a wipe the compiler cannot elide */

/* No core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) and no ptrace by other users'
 * processes.  Call first thing in main() of every tool that handles secrets. */
signet_rc signet_harden_process(void);

/* Reads a password: from file F (first line, trailing newline stripped), else
 * environment variable ENV (then unset so children do not inherit it), else a
 * prompt on /dev/tty without echo.  The result is smem-allocated; free with smem_free.
 * Fails with SIGNET_E_ARG and a message naming the three sources when none is
 * available (no terminal). */
signet_rc signet_read_password(const char *file, const char *env, const char *prompt, char **out);

#endif
