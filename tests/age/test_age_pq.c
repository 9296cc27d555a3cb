/* The post-quantum hybrid recipients (mlkem768x25519): ML-KEM-768 and X-Wing
 * against published known-answer vectors (tests/age/kat/), the HPKE key schedule,
 * then the stanza end to end, its bad inputs, and the rule that post-quantum and
 * classic recipients do not share a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "age/age_internal.h"
#include "signet/age.h"
#include "signet/secmem.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

struct xwing_kat {
    uint8_t seed[32], pk[AGE_XWING_PK], eseed[64], ct[AGE_XWING_CT], ss[32];
};

/* Reads the vectors of tests/age/kat/xwing_draft08.txt ("name hex" lines). */
static size_t read_kats(struct xwing_kat *v, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/age/kat/xwing_draft08.txt", getenv("SIGNET_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char line[8192];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        char name[16], hex[6000];
        if (line[0] == '#' || sscanf(line, "%15s %5999s", name, hex) != 2)
            continue;
        if (strcmp(name, "seed") == 0) {
            assert_true(n < cap);
            assert_int_equal(unhex(hex, v[n++].seed, 32), 32);
        } else if (strcmp(name, "pk") == 0) {
            assert_int_equal(unhex(hex, v[n - 1].pk, AGE_XWING_PK), AGE_XWING_PK);
        } else if (strcmp(name, "eseed") == 0) {
            assert_int_equal(unhex(hex, v[n - 1].eseed, 64), 64);
        } else if (strcmp(name, "ct") == 0) {
            assert_int_equal(unhex(hex, v[n - 1].ct, AGE_XWING_CT), AGE_XWING_CT);
        } else if (strcmp(name, "ss") == 0) {
            assert_int_equal(unhex(hex, v[n - 1].ss, 32), 32);
        }
    }
    fclose(f);
    return n;
}

static void xwing_known_answers(void **state)
{
    (void)state;
    static struct xwing_kat v[4];
    size_t n = read_kats(v, 4);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        uint8_t pk[AGE_XWING_PK], ct[AGE_XWING_CT], ss[32];
        /* Key generation: ML-KEM-768 KeyGen(d, z) and X25519 from SHAKE256(seed). */
        assert_int_equal(age_xwing_public(v[i].seed, pk), 0);
        assert_memory_equal(pk, v[i].pk, AGE_XWING_PK);
        /* Encapsulation with the vector's randomness. */
        assert_int_equal(age_xwing_encaps(v[i].pk, v[i].eseed, ss, ct), 0);
        assert_memory_equal(ct, v[i].ct, AGE_XWING_CT);
        assert_memory_equal(ss, v[i].ss, 32);
        /* Decapsulation. */
        memset(ss, 0, sizeof ss);
        assert_int_equal(age_xwing_decaps(v[i].seed, v[i].ct, ss), 0);
        assert_memory_equal(ss, v[i].ss, 32);
        /* A modified ML-KEM ciphertext is rejected implicitly: a different,
         * deterministic secret (FIPS 203's J(z | c)). */
        uint8_t bad[AGE_XWING_CT], ss1[32], ss2[32];
        memcpy(bad, v[i].ct, sizeof bad);
        bad[100] ^= 1;
        assert_int_equal(age_xwing_decaps(v[i].seed, bad, ss1), 0);
        assert_int_equal(age_xwing_decaps(v[i].seed, bad, ss2), 0);
        assert_memory_not_equal(ss1, v[i].ss, 32);
        assert_memory_equal(ss1, ss2, 32);
    }
}

static void mlkem_key_checks(void **state)
{
    (void)state;
    static struct xwing_kat v[4];
    read_kats(v, 4);
    uint8_t ek[AGE_MLKEM_EK];
    memcpy(ek, v[0].pk, sizeof ek);
    assert_int_equal(age_mlkem_check_ek(ek), 0);
    /* Coefficient 0 set to 0xfff >= q: FIPS 203's modulus check refuses it. */
    ek[0] = 0xff;
    ek[1] |= 0x0f;
    assert_int_equal(age_mlkem_check_ek(ek), SIGNET_E_PARSE);
    uint8_t ss[32], ct[AGE_MLKEM_CT];
    assert_int_equal(age_mlkem_encaps(ek, v[0].eseed, ss, ct), SIGNET_E_PARSE);
}

/* RFC 9180 appendix A.2.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20Poly1305), base mode: the key schedule from the published shared
 * secret and info.  The same code runs with X-Wing's KEM id for age. */
static void hpke_key_schedule_rfc9180(void **state)
{
    (void)state;
    uint8_t shared[32], info[20], key[32], nonce[12], want_key[32], want_nonce[12];
    unhex("0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7", shared, 32);
    unhex("4f6465206f6e2061204772656369616e2055726e", info, sizeof info); /* Ode on a Grecian Urn */
    unhex("ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91", want_key, 32);
    unhex("5c4d98150661b848853b547f", want_nonce, 12);
    assert_int_equal(age_hpke_key_schedule(0x0020, shared, info, sizeof info, key, nonce), 0);
    assert_memory_equal(key, want_key, 32);
    assert_memory_equal(nonce, want_nonce, 12);
    /* Another KEM id gives other keys: the suite id is bound in. */
    assert_int_equal(age_hpke_key_schedule(AGE_HPKE_KEM_XWING, shared, info, sizeof info, key,
                                           nonce),
                     0);
    assert_memory_not_equal(key, want_key, 32);
}

/* End to end: keygen, encrypt, decrypt; wrong key; mixing; malformed stanzas. */
static void pq_files(void **state)
{
    (void)state;
    sb_wr id1, pub1, id2, pub2, file, out;
    sbw_init_secure(&id1, 256);
    sbw_init_secure(&id2, 256);
    sbw_init(&pub1, 4096);
    sbw_init(&pub2, 4096);
    assert_int_equal(age_keygen_pq(&id1, &pub1), 0);
    assert_int_equal(age_keygen_pq(&id2, &pub2), 0);
    assert_true(id1.len > 19 && memcmp(id1.p, "AGE-SECRET-KEY-PQ-1", 19) == 0);
    assert_true(pub1.len > 7 && memcmp(pub1.p, "age1pq1", 7) == 0);

    age_recipients *r;
    age_identities *ids, *other;
    assert_int_equal(age_recipients_new(&r), 0);
    assert_int_equal(age_recipients_add(r, (const char *)pub1.p, pub1.len), 0);
    assert_int_equal(age_identities_new(&ids), 0);
    assert_int_equal(age_identities_add_text(ids, (const char *)id1.p, id1.len), 0);
    assert_int_equal(age_identities_new(&other), 0);
    assert_int_equal(age_identities_add_text(other, (const char *)id2.p, id2.len), 0);
    /* The identity gives back its recipient. */
    sb_wr back;
    sbw_init(&back, 4096);
    assert_int_equal(age_identities_recipient(ids, 0, &back), 0);
    assert_int_equal(back.len, pub1.len);
    assert_memory_equal(back.p, pub1.p, pub1.len);
    sbw_free(&back);

    sbw_init(&file, 1 << 20);
    sbw_init_secure(&out, 1 << 20);
    static uint8_t plain[70000];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = (uint8_t)(i * 7);
    assert_int_equal(age_encrypt_mem(r, true, plain, sizeof plain, &file), 0);
    assert_int_equal(age_decrypt_mem(ids, file.p, file.len, &out), 0);
    assert_int_equal(out.len, sizeof plain);
    assert_memory_equal(out.p, plain, sizeof plain);
    assert_int_equal(age_decrypt_mem(other, file.p, file.len, &out), SIGNET_E_AUTH);
    assert_int_equal(age_decrypt_failure(), AGE_FAIL_NO_MATCH);

    /* Binary file: the stanza is "-> mlkem768x25519 <1494 base64 characters>". */
    sbw_reset(&file);
    assert_int_equal(age_encrypt_mem(r, false, plain, 10, &file), 0);
    uint8_t *st = memmem(file.p, file.len, "-> mlkem768x25519 ", 18);
    assert_non_null(st);
    uint8_t *nl = memchr(st, '\n', file.len - (size_t)(st - file.p));
    assert_int_equal(nl - st, 18 + 1494);
    /* Malformed: one base64 character short, a non-canonical last character, an
     * extra argument: header failures. */
    const size_t last = (size_t)(nl - file.p) - 1;
    static const char *const what[] = {"short", "non-canonical", "extra argument"};
    for (int k = 0; k < 3; k++) {
        sb_wr bad;
        sbw_init(&bad, 1 << 20);
        if (k == 0) {
            assert_int_equal(sbw_put(&bad, file.p, last), 0);
            assert_int_equal(sbw_put(&bad, file.p + last + 1, file.len - last - 1), 0);
        } else {
            assert_int_equal(sbw_put(&bad, file.p, file.len), 0);
            if (k == 1) {
                /* 1120 bytes = 1493 full characters + one holding 4 bits; set a
                 * padding bit. */
                bad.p[last] = bad.p[last] == 'A' ? 'B' : (uint8_t)(bad.p[last] ^ 1);
            } else {
                sb_wr tmp;
                sbw_init(&tmp, 1 << 20);
                assert_int_equal(sbw_put(&tmp, file.p, last + 1), 0);
                assert_int_equal(sbw_str(&tmp, " x"), 0);
                assert_int_equal(sbw_put(&tmp, file.p + last + 1, file.len - last - 1), 0);
                sbw_free(&bad);
                bad = tmp;
            }
        }
        signet_rc rc = age_decrypt_mem(ids, bad.p, bad.len, &out);
        if (rc != SIGNET_E_PARSE || age_decrypt_failure() != AGE_FAIL_HEADER)
            fail_msg("%s enc: %s", what[k], signet_errmsg());
        sbw_free(&bad);
    }

    /* Classic and post-quantum recipients do not share a file. */
    static const char classic[] = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
    assert_int_equal(age_recipients_add(r, classic, strlen(classic)), 0);
    sbw_reset(&file);
    assert_int_equal(age_encrypt_mem(r, false, plain, 10, &file), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "post-quantum"));
    /* A recipient of the wrong length and an identity with a bad checksum. */
    char shortpq[64];
    memcpy(shortpq, pub1.p, 60);
    shortpq[60] = 0;
    assert_int_not_equal(age_recipients_add(r, shortpq, 60), 0);
    char badid[128];
    memcpy(badid, id1.p, id1.len);
    badid[id1.len - 1] = badid[id1.len - 1] == 'Q' ? 'P' : 'Q';
    age_identities *bad_ids;
    assert_int_equal(age_identities_new(&bad_ids), 0);
    assert_int_not_equal(age_identities_add_text(bad_ids, badid, id1.len), 0);
    age_identities_free(bad_ids);

    age_recipients_free(r);
    age_identities_free(ids);
    age_identities_free(other);
    sbw_free(&file);
    sbw_free(&out);
    sbw_free(&id1);
    sbw_free(&id2);
    sbw_free(&pub1);
    sbw_free(&pub2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xwing_known_answers),
        cmocka_unit_test(mlkem_key_checks),
        cmocka_unit_test(hpke_key_schedule_rfc9180),
        cmocka_unit_test(pq_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
