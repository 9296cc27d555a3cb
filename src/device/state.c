/* The persistent state of the emulated device and its file.
 *
 * File layout (big-endian, version 1), then SHA-256 of everything before it:
 *   "SGNTHSM1" | version u16 | serial u32 | force_audit u8
 *   | n_audit u16 | n_audit x (cmd u8, value u8)
 *   | log: next_number u16, unlogged_boots u16, unlogged_auths u16,
 *          last_digest[16], n u8, n x entry[32]
 *   | n_tombs u32 | n_tombs x (type u8, id u16, next_seq u8)
 *   | n_objects u16 | n_objects x (type u8, id u16, algorithm u8, sequence u8,
 *          origin u8, domains u16, caps u64, delegated u64, label[40],
 *          body_len u32, body)
 *   | version 2 on: identity: present u8, static d[32], attestation algorithm u8,
 *          attestation d[32], cert_len u32, certificate DER
 * Version 1 files (before the device had its own keys) still load; the keys are
 * then made at open.
 * The file holds private keys in the clear (it is the emulator's flash): it is
 * created with mode 0600 and replaced atomically (temp file, fsync, rename,
 * fsync of the directory) so that a crash leaves the old or the new state.
 * Changes to the audit log alone go to <state>.journal in between (journal.c);
 * the file's SHA-256 trailer names it there. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "dev.h"
#include "signet/secmem.h"

#define STATE_MAGIC "SGNTHSM1"
#define STATE_VERSION 2
#define STATE_MAX_CERT 4096u
#define STATE_MAX (4u << 20) /* far above 256 objects of 126 KB in all */
#define STATE_MAX_TOMBS (9u * 65536u)
_Static_assert(DEV_STATE_SUM_LEN == SHA256_DIGEST_LENGTH, "the trailer names the state");

void dev_state_factory(dev_state *st, uint32_t serial)
{
    /* The device's own keys are not objects: a reset keeps them. */
    dev_identity keep = st->id;
    memset(&st->id, 0, sizeof st->id);
    dev_state_free_objects(st);
    memset(st, 0, sizeof *st);
    st->id = keep;
    smem_wipe(&keep, sizeof keep);
    st->serial = serial;
    dev_log_factory(&st->log);

    /* Authentication key 1, password "password", everything allowed.  Its
     * K-ENC | K-MAC are PBKDF2("password") (the known answer of
     * shared/docs/yubihsm2.md), kept as constants so that a reset costs no
     * key derivation; the session tests log in with the password itself. */
    static const uint8_t factory_keys[2 * YH_KEY_LEN] = {
        0x09, 0x0b, 0x47, 0xdb, 0xed, 0x59, 0x56, 0x54, 0x90, 0x1d, 0xee, 0x1c, 0xc6, 0x55, 0xe4, 0x20,
        0x59, 0x2f, 0xd4, 0x83, 0xf7, 0x59, 0xe2, 0x99, 0x09, 0xa0, 0x4c, 0x45, 0x05, 0xd2, 0xce, 0x0a};
    dev_object *o = &st->objects[0];
    uint8_t *body = smem_alloc(2 * YH_KEY_LEN);
    if (!body)
        return; /* open() notices the missing key and fails */
    memcpy(body, factory_keys, sizeof factory_keys);
    dev_put_hdr h = {.id = 1, .domains = 0xffff, .capabilities = YH_CAPS_ALL,
                     .algorithm = YH_ALGO_AES128_YUBICO_AUTHENTICATION};
    yh_label_encode(DEV_FACTORY_LABEL, h.label);
    dev_obj_fill(st, o, YH_TYPE_AUTHENTICATION_KEY, &h, YH_CAPS_ALL, YH_ORIGIN_IMPORTED, body,
                 2 * YH_KEY_LEN);
}

signet_rc dev_state_encode(const dev_state *st, sb_wr *w)
{
    signet_rc rc = sbw_put(w, STATE_MAGIC, 8);
    if (!rc) rc = sbw_u16(w, STATE_VERSION);
    if (!rc) rc = sbw_u32(w, st->serial);
    if (!rc) rc = sbw_u8(w, st->force_audit);
    uint16_t n_audit = 0;
    for (int c = 0; c < 256; c++)
        n_audit += st->cmd_audit[c] != 0;
    if (!rc) rc = sbw_u16(w, n_audit);
    for (int c = 0; c < 256 && !rc; c++)
        if (st->cmd_audit[c]) {
            rc = sbw_u8(w, (uint8_t)c);
            if (!rc) rc = sbw_u8(w, st->cmd_audit[c]);
        }
    const dev_log *log = &st->log;
    if (!rc) rc = sbw_u16(w, log->next_number);
    if (!rc) rc = sbw_u16(w, log->unlogged_boots);
    if (!rc) rc = sbw_u16(w, log->unlogged_auths);
    if (!rc) rc = sbw_put(w, log->last_digest, YH_LOG_DIGEST_LEN);
    if (!rc) rc = sbw_u8(w, (uint8_t)log->n);
    for (size_t i = 0; i < log->n && !rc; i++) {
        uint8_t *dst;
        rc = sbw_reserve(w, YH_LOG_ENTRY_LEN, &dst);
        if (!rc)
            yh_log_entry_encode(&log->e[i], dst);
    }
    if (!rc) rc = sbw_u32(w, (uint32_t)st->n_tombs);
    for (size_t i = 0; i < st->n_tombs && !rc; i++) {
        rc = sbw_u8(w, st->tombs[i].type);
        if (!rc) rc = sbw_u16(w, st->tombs[i].id);
        if (!rc) rc = sbw_u8(w, st->tombs[i].next_seq);
    }
    if (!rc) rc = sbw_u16(w, (uint16_t)dev_used_records(st));
    for (size_t i = 0; i < YH_MAX_OBJECTS && !rc; i++) {
        const dev_object *o = &st->objects[i];
        if (!o->used)
            continue;
        rc = sbw_u8(w, o->type);
        if (!rc) rc = sbw_u16(w, o->id);
        if (!rc) rc = sbw_u8(w, o->algorithm);
        if (!rc) rc = sbw_u8(w, o->sequence);
        if (!rc) rc = sbw_u8(w, o->origin);
        if (!rc) rc = sbw_u16(w, o->domains);
        if (!rc) rc = sbw_u64(w, o->capabilities);
        if (!rc) rc = sbw_u64(w, o->delegated);
        if (!rc) rc = sbw_put(w, o->label, YH_LABEL_LEN);
        if (!rc) rc = sbw_u32(w, (uint32_t)o->body_len);
        if (!rc) rc = sbw_put(w, o->body, o->body_len);
    }
    const dev_identity *id = &st->id;
    if (!rc) rc = sbw_u8(w, id->present);
    if (!rc && id->present) {
        rc = sbw_put(w, id->static_d, DEV_IDENTITY_KEY_LEN);
        if (!rc) rc = sbw_u8(w, id->attest_algo);
        if (!rc) rc = sbw_put(w, id->attest_d, DEV_IDENTITY_KEY_LEN);
        if (!rc) rc = sbw_u32(w, (uint32_t)id->cert_len);
        if (!rc) rc = sbw_put(w, id->cert, id->cert_len);
    }
    uint8_t sum[SHA256_DIGEST_LENGTH];
    if (!rc) {
        SHA256(w->p, w->len, sum);
        rc = sbw_put(w, sum, sizeof sum);
    }
    return rc ? signet_wrap(rc, "encoding the device state") : SIGNET_OK;
}

static signet_rc corrupt(const char *what)
{
    return signet_fail(SIGNET_E_PARSE,
                       "the signet-hsm state file is corrupt (%s); it was not changed: restore "
                       "it from a backup, or move it away to start a device in factory state",
                       what);
}

/* Checks an object read from the file the way a put would (without the slow
 * primality test) and builds its OpenSSL key. */
static signet_rc object_check(dev_object *o)
{
    switch (o->type) {
    case YH_TYPE_OPAQUE:
        if (o->body_len == 0 || o->body_len > YH_MAX_DATA)
            return corrupt("opaque object of impossible size");
        return SIGNET_OK;
    case YH_TYPE_AUTHENTICATION_KEY:
        if (o->algorithm == YH_ALGO_AES128_YUBICO_AUTHENTICATION && o->body_len == 32)
            return SIGNET_OK;
        if (o->algorithm == YH_ALGO_EC_P256_YUBICO_AUTHENTICATION && o->body_len == 64) {
            EVP_PKEY *k = dev_p256_from_xy(o->body);
            EVP_PKEY_free(k);
            if (k)
                return SIGNET_OK;
        }
        return corrupt("authentication key of unknown algorithm or size");
    case YH_TYPE_HMAC_KEY:
        if (!dev_hmac_block_size(o->algorithm) || o->body_len != dev_hmac_block_size(o->algorithm))
            return corrupt("HMAC key of unknown algorithm or size");
        return SIGNET_OK;
    case YH_TYPE_SYMMETRIC_KEY:
        if (!dev_algo_is_aes(o->algorithm) ||
            o->body_len != (size_t)yh_algo_key_bytes(o->algorithm))
            return corrupt("symmetric key of unknown algorithm or size");
        return SIGNET_OK;
    case YH_TYPE_WRAP_KEY:
        if (!yh_algo_is_wrap(o->algorithm) ||
            o->body_len != (size_t)yh_algo_key_bytes(o->algorithm))
            return corrupt("wrap key of unknown algorithm or size");
        return SIGNET_OK;
    case YH_TYPE_ASYMMETRIC_KEY:
        if (dev_key_load(o->algorithm, o->body, o->body_len, false, &o->pkey))
            return corrupt("asymmetric key that does not load");
        return SIGNET_OK;
    default:
        return corrupt("object of unknown type");
    }
}

/* The device's own keys (version 2 on); absent in a file means "make them". */
static signet_rc identity_decode(dev_identity *id, sb_rd *r)
{
    uint8_t present;
    uint32_t cert_len;
    const uint8_t *cert;
    if (sbr_u8(r, &present) || present > 1)
        return corrupt("bad device key section");
    if (!present)
        return SIGNET_OK;
    if (sbr_copy(r, id->static_d, DEV_IDENTITY_KEY_LEN) || sbr_u8(r, &id->attest_algo) ||
        id->attest_algo != YH_ALGO_EC_P256 || sbr_copy(r, id->attest_d, DEV_IDENTITY_KEY_LEN) ||
        sbr_u32(r, &cert_len) || cert_len == 0 || cert_len > STATE_MAX_CERT ||
        sbr_ptr(r, &cert, cert_len))
        return corrupt("truncated device key section");
    id->cert = malloc(cert_len);
    if (!id->cert)
        return signet_fail(SIGNET_E_NOMEM, "out of memory loading the device state");
    memcpy(id->cert, cert, cert_len);
    id->cert_len = cert_len;
    if (dev_identity_load(id))
        return corrupt("device keys that do not load");
    id->present = true;
    return SIGNET_OK;
}

signet_rc dev_state_decode(dev_state *st, const uint8_t *p, size_t len)
{
    uint8_t sum[SHA256_DIGEST_LENGTH];
    if (len < 8 + SHA256_DIGEST_LENGTH || memcmp(p, STATE_MAGIC, 8) != 0)
        return corrupt("not a signet-hsm state file");
    SHA256(p, len - sizeof sum, sum);
    if (CRYPTO_memcmp(sum, p + len - sizeof sum, sizeof sum) != 0)
        return corrupt("checksum mismatch");

    dev_state_free_objects(st);
    memset(st, 0, sizeof *st);
    sb_rd r;
    sbr_init(&r, p + 8, len - 8 - sizeof sum);
    uint16_t version, n_audit, n_obj;
    uint8_t n_log;
    uint32_t n_tombs;
    if (sbr_u16(&r, &version) || version < 1 || version > STATE_VERSION)
        return corrupt("unsupported version");
    if (sbr_u32(&r, &st->serial) || sbr_u8(&r, &st->force_audit) || st->force_audit > 2 ||
        sbr_u16(&r, &n_audit))
        return corrupt("bad header");
    for (uint16_t i = 0; i < n_audit; i++) {
        uint8_t c, v;
        if (sbr_u8(&r, &c) || sbr_u8(&r, &v) || v > 2)
            return corrupt("bad audit option");
        st->cmd_audit[c] = v;
    }
    dev_log *log = &st->log;
    if (sbr_u16(&r, &log->next_number) || sbr_u16(&r, &log->unlogged_boots) ||
        sbr_u16(&r, &log->unlogged_auths) || sbr_copy(&r, log->last_digest, YH_LOG_DIGEST_LEN) ||
        sbr_u8(&r, &n_log) || n_log > YH_LOG_CAPACITY)
        return corrupt("bad log header");
    for (size_t i = 0; i < n_log; i++) {
        const uint8_t *e;
        if (sbr_ptr(&r, &e, YH_LOG_ENTRY_LEN))
            return corrupt("truncated log");
        yh_log_entry_decode(e, &log->e[i]);
    }
    log->n = n_log;
    if (sbr_u32(&r, &n_tombs) || n_tombs > STATE_MAX_TOMBS || n_tombs > sbr_left(&r) / 4)
        return corrupt("bad sequence table");
    if (n_tombs) {
        st->tombs = calloc(n_tombs, sizeof *st->tombs);
        if (!st->tombs)
            return signet_fail(SIGNET_E_NOMEM, "out of memory loading the device state");
        for (uint32_t i = 0; i < n_tombs; i++)
            if (sbr_u8(&r, &st->tombs[i].type) || sbr_u16(&r, &st->tombs[i].id) ||
                sbr_u8(&r, &st->tombs[i].next_seq))
                return corrupt("truncated sequence table");
        st->n_tombs = n_tombs;
    }
    if (sbr_u16(&r, &n_obj) || n_obj > YH_MAX_OBJECTS)
        return corrupt("bad object count");
    for (uint16_t i = 0; i < n_obj; i++) {
        dev_object *o = &st->objects[i];
        uint32_t blen;
        const uint8_t *body;
        if (sbr_u8(&r, &o->type) || sbr_u16(&r, &o->id) || sbr_u8(&r, &o->algorithm) ||
            sbr_u8(&r, &o->sequence) || sbr_u8(&r, &o->origin) || sbr_u16(&r, &o->domains) ||
            sbr_u64(&r, &o->capabilities) || sbr_u64(&r, &o->delegated) ||
            sbr_copy(&r, o->label, YH_LABEL_LEN) || sbr_u32(&r, &blen) ||
            sbr_ptr(&r, &body, blen))
            return corrupt("truncated object");
        if (dev_obj_find(st, o->type, o->id))
            return corrupt("duplicate object");
        o->body = smem_alloc(blen ? blen : 1);
        if (!o->body)
            return signet_fail(SIGNET_E_NOMEM, "out of memory loading the device state");
        memcpy(o->body, body, blen);
        o->body_len = blen;
        o->used = true;
        signet_rc rc = object_check(o);
        if (rc)
            return rc;
    }
    if (version >= 2) {
        signet_rc rc = identity_decode(&st->id, &r);
        if (rc)
            return rc;
    }
    if (sbr_end(&r))
        return corrupt("trailing bytes");
    if (dev_used_pages(st) > YH_STORAGE_PAGES)
        return corrupt("more objects than the device can hold");
    return SIGNET_OK;
}

signet_rc dev_fsync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open directory %s to sync it: %s", dir,
                           strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0)
        return signet_fail(SIGNET_E_IO, "cannot sync directory %s: %s", dir, strerror(e));
    return SIGNET_OK;
}

signet_rc dev_state_save(const dev_state *st, const char *path, uint8_t sum[DEV_STATE_SUM_LEN])
{
    sb_wr w;
    sbw_init_secure(&w, STATE_MAX);
    signet_rc rc = dev_state_encode(st, &w);
    if (rc) {
        sbw_free(&w);
        return rc;
    }
    memcpy(sum, w.p + w.len - DEV_STATE_SUM_LEN, DEV_STATE_SUM_LEN);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        sbw_free(&w);
        return signet_fail(SIGNET_E_ARG, "state file path is too long: %s", path);
    }
    int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
        int e = errno;
        sbw_free(&w);
        return signet_fail(SIGNET_E_IO, "cannot create a temporary file next to %s: %s", path,
                           strerror(e));
    }
    size_t off = 0;
    while (off < w.len) {
        ssize_t n = write(fd, w.p + off, w.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = signet_fail(SIGNET_E_IO, "cannot write %s: %s", tmp, strerror(errno));
            break;
        }
        off += (size_t)n;
    }
    sbw_free(&w);
    if (!rc && fsync(fd) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = signet_fail(SIGNET_E_IO, "cannot close %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot replace %s: %s", path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return signet_wrap(rc, "saving the device state (check the disk and permissions)");
    }
    return dev_fsync_dir(path);
}

signet_rc dev_state_load(dev_state *st, const char *path, uint8_t sum[DEV_STATE_SUM_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return signet_fail(SIGNET_E_NOTFOUND, "no state file at %s", path);
        return signet_fail(SIGNET_E_IO, "cannot open the state file %s: %s", path,
                           strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0 || (uint64_t)sb.st_size > STATE_MAX) {
        close(fd);
        return signet_fail(SIGNET_E_PARSE, "the state file %s is not a signet-hsm state "
                           "(unexpected size); move it away to start afresh", path);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *buf = smem_alloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading %s", path);
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = read(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    signet_rc rc = off == len ? dev_state_decode(st, buf, len)
                              : signet_fail(SIGNET_E_IO, "cannot read %s", path);
    if (!rc) /* decode checked that the file ends with it */
        memcpy(sum, buf + len - DEV_STATE_SUM_LEN, DEV_STATE_SUM_LEN);
    smem_wipe(buf, len);
    smem_free(buf);
    if (rc) {
        dev_state_free_objects(st);
        return signet_wrap(rc, "loading %s", path);
    }
    return SIGNET_OK;
}
