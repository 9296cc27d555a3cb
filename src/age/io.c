/* File descriptor and memory forms of age_encrypt and age_decrypt. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "age_internal.h"
#include "signet/secmem.h"

static signet_rc fd_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n >= 0) {
            *got = (size_t)n;
            return SIGNET_OK;
        }
        if (errno != EINTR)
            return signet_fail(SIGNET_E_IO, "reading the input failed: %s", strerror(errno));
    }
}

static signet_rc fd_write(void *ctx, const uint8_t *buf, size_t len)
{
    int fd = *(int *)ctx;
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return signet_fail(SIGNET_E_IO, "writing the output failed: %s",
                               n < 0 ? strerror(errno) : "no progress");
        buf += n;
        len -= (size_t)n;
    }
    return SIGNET_OK;
}

signet_rc age_encrypt_fd(const age_recipients *r, bool armor, int in_fd, int out_fd)
{
    return age_encrypt(r, armor, fd_read, &in_fd, fd_write, &out_fd);
}

signet_rc age_decrypt_fd(const age_identities *ids, int in_fd, int out_fd)
{
    return age_decrypt(ids, fd_read, &in_fd, fd_write, &out_fd);
}

struct mem_src {
    const uint8_t *p;
    size_t len, pos;
};

static signet_rc mem_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct mem_src *m = ctx;
    size_t k = m->len - m->pos < cap ? m->len - m->pos : cap;
    if (k)
        memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    *got = k;
    return SIGNET_OK;
}

static signet_rc mem_write(void *ctx, const uint8_t *buf, size_t len)
{
    return sbw_put(ctx, buf, len);
}

signet_rc age_encrypt_mem(const age_recipients *r, bool armor, const uint8_t *in, size_t len,
                          sb_wr *out)
{
    struct mem_src m = {in, in ? len : 0, 0};
    size_t start = out->len;
    signet_rc rc = age_encrypt(r, armor, mem_read, &m, mem_write, out);
    if (rc)
        out->len = start;
    return rc;
}

signet_rc age_decrypt_mem(const age_identities *ids, const uint8_t *in, size_t len, sb_wr *out)
{
    struct mem_src m = {in, in ? len : 0, 0};
    size_t start = out->len;
    signet_rc rc = age_decrypt(ids, mem_read, &m, mem_write, out);
    if (rc) {
        if (out->p && out->len > start)
            smem_wipe(out->p + start, out->len - start);
        out->len = start;
    }
    return rc;
}
