/* See trail_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "trail_fixture.h"

signet_rc tfx_sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ctx, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t n = 64;
    int ok = k && c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(c, sig, &n, msg, len) == 1 && n == 64;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "test signing failed");
}

char *tfx_path(const struct tfx *f, const char *name)
{
    char *p = malloc(strlen(f->dir) + strlen(name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", f->dir, name);
    return p;
}

char *tfx_read(const struct tfx *f, const char *name, size_t *len)
{
    char *p = tfx_path(f, name);
    FILE *fp = fopen(p, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)n, fp), (size_t)n);
    d[n] = 0;
    fclose(fp);
    free(p);
    if (len)
        *len = (size_t)n;
    return d;
}

void tfx_write(const struct tfx *f, const char *name, const char *data, size_t len)
{
    char *p = tfx_path(f, name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    free(p);
}

yh_log_entry tfx_entry(struct tfx *f, uint8_t cmd, uint16_t target, uint8_t result)
{
    yh_log_entry e = {.number = (uint16_t)(f->last.number + 1), .command = cmd, .length = 34,
                      .session_key = TFX_AUTH, .target_key = target, .second_key = 0xffff,
                      .result = result, .systick = f->last.systick + 10};
    yh_log_digest(&e, f->last.digest, e.digest);
    f->last = e;
    return e;
}

void tfx_ingest(struct tfx *f, const yh_log_entry *es, size_t n, signet_drain_result *d)
{
    hsm_log log;
    memset(&log, 0, sizeof log);
    log.n = n;
    memcpy(log.entries, es, n * sizeof *es);
    signet_rc rc = signet_trail_ingest(f->t, f->serial, &log, d);
    if (rc)
        fprintf(stderr, "ingest: %s\n", signet_errmsg());
    assert_int_equal(rc, SIGNET_OK);
}

void tfx_init(struct tfx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/signet-trail-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(signet_trail_init(f->dir), SIGNET_OK);
    assert_int_equal(signet_trail_open(f->dir, &f->t), SIGNET_OK);
    assert_int_equal(signet_trail_lock(f->t), SIGNET_OK);
    f->serial = 7550123;
    assert_int_equal(RAND_bytes(f->seed, 32), 1);
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, f->seed, 32);
    uint8_t pub[32];
    size_t pl = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &pl), 1);
    EVP_PKEY_free(k);
    assert_int_equal(signet_vkey_make(TFX_ORIGIN, pub, &f->vk), SIGNET_OK);
    sb_wr w;
    sbw_init(&w, 512);
    assert_int_equal(signet_vkey_format(&f->vk, &w), SIGNET_OK);
    assert_int_equal(sbw_u8(&w, '\n'), SIGNET_OK);
    tfx_write(f, "log.vkey", (char *)w.p, w.len);
    sbw_free(&w);

    /* The device right after a reset: entry 1 all 0xff, entry 2 the boot. */
    hsm_log log;
    memset(&log, 0, sizeof log);
    memset(&log.entries[0], 0xff, sizeof log.entries[0]);
    log.entries[0].number = 1;
    f->last = log.entries[0];
    yh_log_entry boot = {.number = 2, .command = 0, .length = 0, .session_key = 0xffff};
    yh_log_digest(&boot, f->last.digest, boot.digest);
    log.entries[1] = boot;
    log.n = 2;
    f->last = boot;
    assert_int_equal(signet_trail_add_anchor(f->t, f->serial, &log), SIGNET_OK);
}

uint64_t tfx_sign(struct tfx *f, const char *key, uint16_t key_id, const char *artifact)
{
    yh_log_entry es[3];
    es[0] = tfx_entry(f, YH_CMD_CREATE_SESSION, 0xffff, YH_RESPONSE(YH_CMD_CREATE_SESSION));
    es[1] = tfx_entry(f, YH_CMD_SIGN_PKCS1, key_id, YH_RESPONSE(YH_CMD_SIGN_PKCS1));
    signet_drain_result d;
    tfx_ingest(f, es, 2, &d);
    const signet_dev_entry *e = signet_drain_find(&d, YH_CMD_SIGN_PKCS1, key_id, TFX_AUTH);
    assert_non_null(e);
    signet_record *r = calloc(1, sizeof *r);
    assert_non_null(r);
    uint8_t data[32], sig[256], art[32];
    char path[128], caller[256];
    SHA256((const uint8_t *)artifact, strlen(artifact), data);
    SHA256((const uint8_t *)artifact, strlen(artifact), art);
    assert_int_equal(RAND_bytes(sig, sizeof sig), 1);
    snprintf(path, sizeof path, "out/%s.apk", key);
    snprintf(caller, sizeof caller, "apksigner sign --ks-pass pass:<redacted> %s.apk", key);
    signet_rec_sig what = {.key_name = key, .key_id = key_id, .command = YH_CMD_SIGN_PKCS1,
                           .data_sha256 = data, .sig = sig, .sig_len = sizeof sig,
                           .artifact = path, .artifact_sha256 = art, .caller = caller};
    assert_int_equal(signet_record_sign(r, f->serial, TFX_AUTH, e->seq, &what), SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f->t, r), SIGNET_OK);
    uint64_t idx = r->index;
    free(r);
    return idx;
}

void tfx_checkpoint(struct tfx *f)
{
    signet_checkpoint c;
    signet_rc rc = signet_trail_checkpoint(f->t, TFX_ORIGIN, tfx_sign_cb, f->seed, &c);
    if (rc)
        fprintf(stderr, "checkpoint: %s\n", signet_errmsg());
    assert_int_equal(rc, SIGNET_OK);
    assert_int_equal(c.size, signet_trail_size(f->t));
}

void tfx_device_reset(struct tfx *f)
{
    yh_log_entry es[2];
    memset(&es[0], 0xff, sizeof es[0]);
    es[0].number = 1;
    es[1] = (yh_log_entry){.number = 2, .session_key = 0xffff};
    yh_log_digest(&es[1], es[0].digest, es[1].digest);
    f->last = es[1];
    signet_drain_result d;
    tfx_ingest(f, es, 2, &d);
    assert_true(d.restarted);
}

EVP_PKEY *tfx_record_keys(struct tfx *f)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    signet_rkeys keys = {.n = 1};
    snprintf(keys.k[0].role, sizeof keys.k[0].role, "admin");
    snprintf(keys.k[0].holder, sizeof keys.k[0].holder, "frank");
    size_t pl = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, keys.k[0].pub, &pl), 1);
    assert_int_equal(signet_rkeys_create(f->dir, &keys), SIGNET_OK);
    return k;
}

void tfx_cleanup(struct tfx *f)
{
    signet_trail_close(f->t);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
}

signet_rc tfx_verify(const struct tfx *f, const signet_verify_opts *o, signet_report **r)
{
    signet_rc rc = signet_trail_verify(f->dir, o, r);
    if (*r && getenv("SIGNET_TEST_VERBOSE"))
        signet_report_print(*r, stderr);
    return rc;
}

size_t tfx_count(const signet_report *r, signet_finding_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < signet_report_count(r); i++)
        n += signet_report_finding(r, i)->kind == k;
    return n;
}

void tfx_record_at(const struct tfx *f, uint64_t index, signet_record *out)
{
    char *recs = tfx_read(f, "records.log", NULL);
    bool found = false;
    for (char *p = recs; *p && !found;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_int_equal(signet_record_parse(p, (size_t)(nl - p), out), SIGNET_OK);
        found = out->index == index;
        p = nl + 1;
    }
    free(recs);
    assert_true(found);
}
