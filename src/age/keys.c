/* Recipient and identity sets, their text forms, and key generation. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "age_internal.h"
#include "signet/secmem.h"

static const char RECIPIENT_HRP[] = "age";
static const char IDENTITY_HRP[] = "age-secret-key-";
static const char IDENTITY_PREFIX[] = "AGE-SECRET-KEY-1";
static const char PQ_RECIPIENT_HRP[] = "age1pq";
static const char PQ_IDENTITY_HRP[] = "age-secret-key-pq-";
static const char PQ_IDENTITY_PREFIX[] = "AGE-SECRET-KEY-PQ-1";

/* ---------------------------------------------------------------- recipients */

signet_rc age_recipients_new(age_recipients **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
}

void age_recipients_free(age_recipients *r)
{
    if (r) {
        free(r->v);
        smem_free(r->pass);
        free(r);
    }
}

size_t age_recipients_count(const age_recipients *r) { return r ? r->n + (r->pass != NULL) : 0; }

/* A locked copy of a passphrase, NUL-terminated. */
static signet_rc copy_passphrase(const char *pass, size_t len, char **out, size_t *out_len)
{
    if (len == 0)
        return signet_fail(SIGNET_E_ARG, "the passphrase is empty: give a long random one");
    if (*out)
        return signet_fail(SIGNET_E_ARG, "only one passphrase can be given");
    *out = smem_alloc(len + 1);
    if (!*out)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    memcpy(*out, pass, len);
    (*out)[len] = 0;
    *out_len = len;
    return SIGNET_OK;
}

signet_rc age_recipients_add_passphrase(age_recipients *r, const char *pass, size_t len,
                                        unsigned work_factor)
{
    if (work_factor == 0)
        work_factor = AGE_SCRYPT_DEFAULT_WORK_FACTOR;
    if (work_factor > AGE_SCRYPT_MAX_WORK_FACTOR)
        return signet_fail(SIGNET_E_ARG, "scrypt work factor %u is above %d, which age refuses "
                                         "to decrypt",
                           work_factor, AGE_SCRYPT_MAX_WORK_FACTOR);
    signet_rc rc = copy_passphrase(pass, len, &r->pass, &r->pass_len);
    if (!rc)
        r->work_factor = work_factor;
    return rc;
}

/* "age1..." (X25519, 32 bytes) or "age1pq1..." (mlkem768x25519, 1216 bytes). */
static signet_rc parse_native_recipient(const char *text, size_t len, struct age_recipient *r)
{
    char hrp[16];
    sb_wr data;
    uint8_t *mem = malloc(AGE_XWING_PK + 8);
    if (!mem)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    sbw_init_fixed(&data, mem, AGE_XWING_PK + 8);
    signet_rc rc = bech32_decode(text, len, hrp, sizeof hrp, &data);
    if (rc) {
        rc = signet_wrap(rc, "recipient '%.*s' is not a valid age recipient",
                         (int)(len > 80 ? 80 : len), text);
    } else if (strcmp(hrp, RECIPIENT_HRP) == 0 && data.len == 32) {
        memset(r, 0, sizeof *r);
        r->type = AGE_KEY_X25519;
        memcpy(r->pub, mem, 32);
    } else if (strcmp(hrp, PQ_RECIPIENT_HRP) == 0 && data.len == AGE_XWING_PK) {
        memset(r, 0, sizeof *r);
        r->type = AGE_KEY_PQ;
        memcpy(r->pq, mem, AGE_XWING_PK);
        if ((rc = age_mlkem_check_ek(r->pq)) != SIGNET_OK)
            rc = signet_wrap(SIGNET_E_ARG, "post-quantum recipient '%.40s...'", text);
    } else {
        rc = signet_fail(SIGNET_E_UNSUPPORTED,
                         "recipient '%.*s' is neither an X25519 age recipient (age1 and a "
                         "32-byte key) nor a post-quantum one (age1pq1 and a 1216-byte key): "
                         "plugin recipients are not supported",
                         (int)(len > 80 ? 80 : len), text);
    }
    free(mem);
    return rc;
}

signet_rc age_recipients_add(age_recipients *rs, const char *text, size_t len)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    while (len && (*text == ' ' || *text == '\t')) {
        text++;
        len--;
    }
    struct age_recipient r;
    signet_rc rc;
    if (len >= 4 && strncasecmp(text, "age1", 4) == 0)
        rc = parse_native_recipient(text, len, &r);
    else if (len >= 4 && memcmp(text, "ssh-", 4) == 0)
        rc = age_parse_ssh_public(text, len, &r);
    else if (len >= 15 && strncasecmp(text, "AGE-SECRET-KEY-", 15) == 0)
        return signet_fail(SIGNET_E_ARG, "that is an identity (a secret key), not a recipient: "
                                         "give the public key (age1...) instead, and treat the "
                                         "secret key as exposed");
    else
        return signet_fail(SIGNET_E_ARG, "unknown recipient '%.*s': expected age1... or an "
                                         "ssh-ed25519 public key line",
                           (int)(len > 80 ? 80 : len), text);
    if (rc)
        return rc;
    if (rs->n == rs->cap) {
        size_t ncap = rs->cap ? rs->cap * 2 : 4;
        struct age_recipient *nv = realloc(rs->v, ncap * sizeof *nv);
        if (!nv)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        rs->v = nv;
        rs->cap = ncap;
    }
    rs->v[rs->n++] = r;
    return SIGNET_OK;
}

/* Reads a whole file (at most max bytes) into w. */
static signet_rc read_file(const char *path, size_t max, sb_wr *w)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(errno == ENOENT ? SIGNET_E_NOTFOUND : SIGNET_E_IO,
                           "cannot open %s: %s", path, strerror(errno));
    signet_rc rc = SIGNET_OK;
    for (;;) {
        uint8_t *dst;
        if ((rc = sbw_reserve(w, 4096, &dst)) != SIGNET_OK) {
            rc = signet_fail(SIGNET_E_PARSE, "%s is larger than %zu bytes: is it the right file?",
                             path, max);
            break;
        }
        ssize_t got = read(fd, dst, 4096);
        if (got < 0 && errno == EINTR) {
            w->len -= 4096;
            continue;
        }
        if (got < 0) {
            w->len -= 4096;
            rc = signet_fail(SIGNET_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        w->len -= 4096 - (size_t)got;
        if (got == 0)
            break;
    }
    close(fd);
    return rc;
}

signet_rc age_recipients_add_file(age_recipients *rs, const char *path)
{
    sb_wr w;
    sbw_init(&w, 1 << 20);
    signet_rc rc = read_file(path, 1 << 20, &w);
    size_t lineno = 0, added = 0;
    for (size_t pos = 0; !rc && pos < w.len; lineno++) {
        const char *line = (const char *)w.p + pos;
        const char *nl = memchr(line, '\n', w.len - pos);
        size_t n = nl ? (size_t)(nl - line) : w.len - pos;
        pos += n + (nl ? 1 : 0);
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k == n || line[k] == '#')
            continue;
        if ((rc = age_recipients_add(rs, line, n)) != SIGNET_OK)
            rc = signet_wrap(rc, "%s line %zu", path, lineno + 1);
        else
            added++;
    }
    if (!rc && added == 0)
        rc = signet_fail(SIGNET_E_ARG, "%s holds no recipients", path);
    sbw_free(&w);
    return rc;
}

/* ---------------------------------------------------------------- identities */

signet_rc age_identities_new(age_identities **out)
{
    *out = smem_alloc(sizeof **out);
    if (!*out)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    memset(*out, 0, sizeof **out);
    return SIGNET_OK;
}

void age_identities_free(age_identities *ids)
{
    if (ids)
        smem_free(ids->pass);
    smem_free(ids);
}

size_t age_identities_count(const age_identities *ids)
{
    return ids ? ids->n + (ids->pass != NULL) : 0;
}

signet_rc age_identities_add_passphrase(age_identities *ids, const char *pass, size_t len)
{
    return copy_passphrase(pass, len, &ids->pass, &ids->pass_len);
}

static signet_rc add_identity(age_identities *ids, const struct age_identity *id)
{
    if (ids->n == AGE_MAX_IDENTITIES)
        return signet_fail(SIGNET_E_ARG, "more than %d identities given", AGE_MAX_IDENTITIES);
    ids->v[ids->n++] = *id;
    return SIGNET_OK;
}

/* "AGE-SECRET-KEY-1..." (an X25519 scalar) or "AGE-SECRET-KEY-PQ-1..." (an X-Wing
 * seed); both 32 bytes. */
static signet_rc parse_native_identity(const char *text, size_t len, struct age_identity *id)
{
    char hrp[32];
    uint8_t mem[40];
    sb_wr data;
    sbw_init_fixed(&data, mem, sizeof mem);
    signet_rc rc = bech32_decode(text, len, hrp, sizeof hrp, &data);
    bool pq = rc == SIGNET_OK && strcmp(hrp, PQ_IDENTITY_HRP) == 0;
    if (rc == SIGNET_OK && ((strcmp(hrp, IDENTITY_HRP) != 0 && !pq) || data.len != 32))
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "the identity is neither an X25519 nor a "
                                               "post-quantum (AGE-SECRET-KEY-PQ-1) age identity");
    if (rc == SIGNET_OK) {
        memset(id, 0, sizeof *id);
        id->type = pq ? AGE_KEY_PQ : AGE_KEY_X25519;
        memcpy(id->secret, mem, 32);
        if (!pq)
            rc = age_x25519_base(id->secret, id->pub);
    }
    smem_wipe(mem, sizeof mem);
    return rc;
}

signet_rc age_identities_add_text(age_identities *ids, const char *text, size_t len)
{
    struct age_identity *id = smem_alloc(sizeof *id);
    if (!id)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = SIGNET_OK;
    if (memmem(text, len, "-----BEGIN OPENSSH PRIVATE KEY-----", 35)) {
        if ((rc = age_parse_openssh_private(text, len, id)) == SIGNET_OK)
            rc = add_identity(ids, id);
        smem_free(id);
        return rc;
    }
    if (memmem(text, len, "-----BEGIN AGE ENCRYPTED FILE-----", 34) ||
        (len >= 21 && memcmp(text, "age-encryption.org/v1", 21) == 0)) {
        smem_free(id);
        return signet_fail(SIGNET_E_UNSUPPORTED, "the identity file is itself age-encrypted, "
                                                 "which signet does not support: decrypt it "
                                                 "first");
    }
    size_t lineno = 0, added = 0;
    for (size_t pos = 0; !rc && pos < len; lineno++) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k == n || line[k] == '#')
            continue;
        bool native = (n - k >= strlen(IDENTITY_PREFIX) &&
                       memcmp(line + k, IDENTITY_PREFIX, strlen(IDENTITY_PREFIX)) == 0) ||
                      (n - k >= strlen(PQ_IDENTITY_PREFIX) &&
                       memcmp(line + k, PQ_IDENTITY_PREFIX, strlen(PQ_IDENTITY_PREFIX)) == 0);
        if (!native)
            rc = signet_fail(SIGNET_E_PARSE, "identity line %zu is not an AGE-SECRET-KEY-1... "
                                             "or AGE-SECRET-KEY-PQ-1... key (nor is the file an "
                                             "OpenSSH private key)",
                             lineno + 1);
        else if ((rc = parse_native_identity(line + k, n - k, id)) != SIGNET_OK)
            rc = signet_wrap(rc, "identity line %zu", lineno + 1);
        else if ((rc = add_identity(ids, id)) == SIGNET_OK)
            added++;
    }
    if (!rc && added == 0)
        rc = signet_fail(SIGNET_E_ARG, "no identities found: expected AGE-SECRET-KEY-1... lines "
                                       "or an OpenSSH Ed25519 private key");
    smem_free(id);
    return rc;
}

signet_rc age_identities_add_file(age_identities *ids, const char *path)
{
    sb_wr w;
    sbw_init_secure(&w, 1 << 20);
    signet_rc rc = read_file(path, 1 << 20, &w);
    if (rc == SIGNET_OK && (rc = age_identities_add_text(ids, (const char *)w.p, w.len)))
        rc = signet_wrap(rc, "identity file %s", path);
    sbw_free(&w);
    return rc;
}

signet_rc age_identities_recipient(const age_identities *ids, size_t i, sb_wr *out)
{
    if (i >= ids->n)
        return signet_fail(SIGNET_E_ARG, "no identity %zu", i);
    const struct age_identity *id = &ids->v[i];
    if (id->type == AGE_KEY_X25519)
        return bech32_encode(out, RECIPIENT_HRP, id->pub, 32, false);
    if (id->type == AGE_KEY_PQ) {
        uint8_t pk[AGE_XWING_PK];
        signet_rc rc = age_xwing_public(id->secret, pk);
        return rc ? rc : bech32_encode(out, PQ_RECIPIENT_HRP, pk, sizeof pk, false);
    }
    signet_rc rc = sbw_str(out, "ssh-ed25519 ");
    return rc ? rc : b64_encode(out, id->ssh, id->ssh_len, true);
}

signet_rc age_keygen(sb_wr *identity, sb_wr *recipient)
{
    uint8_t *sk = smem_alloc(32);
    uint8_t pk[32];
    if (!sk)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = age_random(sk, 32);
    if (!rc)
        rc = age_x25519_base(sk, pk);
    if (!rc)
        rc = bech32_encode(identity, IDENTITY_HRP, sk, 32, true);
    if (!rc)
        rc = bech32_encode(recipient, RECIPIENT_HRP, pk, 32, false);
    smem_free(sk);
    return rc;
}

signet_rc age_keygen_pq(sb_wr *identity, sb_wr *recipient)
{
    uint8_t *seed = smem_alloc(32);
    uint8_t pk[AGE_XWING_PK];
    if (!seed)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = age_random(seed, 32);
    if (!rc)
        rc = age_xwing_public(seed, pk);
    if (!rc)
        rc = bech32_encode(identity, PQ_IDENTITY_HRP, seed, 32, true);
    if (!rc)
        rc = bech32_encode(recipient, PQ_RECIPIENT_HRP, pk, sizeof pk, false);
    smem_free(seed);
    return rc;
}
