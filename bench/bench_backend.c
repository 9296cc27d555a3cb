/* The PKCS#11 backend's cost: the signing path (signet_sign over backend = pkcs11)
 * against the same token through its own PKCS#11 (C_SignInit + C_Sign on the
 * module directly), in one run, with the trail off (aim: at least 0.9x), then the
 * signing path again with the trail on (intent + record, each fsynced).  RSA-2048
 * PKCS#1 v1.5 over distinct SHA-256 DigestInfos, on a SoftHSM2 token this program
 * creates in a temporary directory (softhsm2-util, pkcs11-tool, openssl).
 *
 *   bench_backend [--count N] [--module PATH]      (default 2000, SoftHSM2) */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <p11-kit/pkcs11.h>

#include "signet/digestinfo.h"
#include "signet/sign.h"

#define PIN "123456"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void digestinfo(unsigned i, sb_wr *out)
{
    char m[64];
    uint8_t d[32];
    snprintf(m, sizeof m, "bench message %u", i);
    EVP_Digest(m, strlen(m), d, NULL, EVP_sha256(), NULL);
    sbw_init(out, 64);
    signet_digestinfo_encode(NID_sha256, d, 32, out);
}

/* The token's own PKCS#11: login, find the key, n signatures. */
static double direct(const char *module, unsigned n)
{
    void *lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
    CK_FUNCTION_LIST *f = NULL;
    if (!get || get(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK) {
        fprintf(stderr, "bench_backend: cannot load %s\n", module);
        exit(1);
    }
    CK_SLOT_ID slots[8];
    CK_ULONG ns = 8;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE k;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, "bench", 5}};
    CK_ULONG found = 0;
    if (f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK || ns == 0 ||
        f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK ||
        f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)) != CKR_OK ||
        f->C_FindObjectsInit(s, t, 2) != CKR_OK || f->C_FindObjects(s, &k, 1, &found) != CKR_OK ||
        found != 1) {
        fprintf(stderr, "bench_backend: no key 'bench' on the token\n");
        exit(1);
    }
    f->C_FindObjectsFinal(s);
    CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
    double t0 = now();
    for (unsigned i = 0; i < n; i++) {
        sb_wr di;
        digestinfo(i, &di);
        uint8_t sig[512];
        CK_ULONG sl = sizeof sig;
        if (f->C_SignInit(s, &m, k) != CKR_OK || f->C_Sign(s, di.p, di.len, sig, &sl) != CKR_OK) {
            fprintf(stderr, "bench_backend: C_Sign failed\n");
            exit(1);
        }
        sbw_free(&di);
    }
    double dt = now() - t0;
    f->C_Logout(s);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    dlclose(lib);
    return dt;
}

/* The same signatures through signet_sign() over the PKCS#11 backend. */
static double via_signet(const char *dir, const char *module, bool trail, unsigned n)
{
    signet_config cfg;
    signet_config_defaults(&cfg);
    cfg.backend = SIGNET_BACKEND_PKCS11;
    snprintf(cfg.pkcs11_module, sizeof cfg.pkcs11_module, "%s", module);
    snprintf(cfg.pkcs11_token, sizeof cfg.pkcs11_token, "bench");
    snprintf(cfg.keystore, sizeof cfg.keystore, "%s/keys", dir);
    if (trail)
        snprintf(cfg.audit, sizeof cfg.audit, "%s/audit", dir);
    cfg.cache_off = true;
    cfg.checkpoint_every = 0;
    cfg.checkpoint_seconds = 0;
    signet_signer *s;
    if (signet_signer_open(&cfg, 0, PIN, &s) != SIGNET_OK) {
        fprintf(stderr, "bench_backend: %s\n", signet_errmsg());
        exit(1);
    }
    double t0 = now();
    for (unsigned i = 0; i < n; i++) {
        sb_wr di;
        digestinfo(i, &di);
        uint8_t sig[512];
        size_t sl = sizeof sig;
        signet_sign_req r = {.key_name = "bench", .mech = SIGNET_MECH_RSA_PKCS1, .data = di.p,
                             .len = di.len, .caller = "bench_backend", .no_cache = true};
        if (signet_sign(s, &r, sig, &sl) != SIGNET_OK) {
            fprintf(stderr, "bench_backend: %s\n", signet_errmsg());
            exit(1);
        }
        sbw_free(&di);
    }
    double dt = now() - t0;
    signet_signer_close(s);
    return dt;
}

int main(int argc, char **argv)
{
    unsigned n = 2000;
    const char *module = "/usr/lib/softhsm/libsofthsm2.so";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--count"))
            n = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--module"))
            module = argv[i + 1];
    }
    char dir[] = "/tmp/bench-backend-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char cmd[4096], conf[512];
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
    setenv("SOFTHSM2_CONF", conf, 1);
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir -p tokens keys audit/anchors && printf 'directories.tokendir = %s/tokens\\n"
             "objectstore.backend = file\\nlog.level = ERROR\\n' > softhsm2.conf && "
             "softhsm2-util --init-token --free --label bench --pin " PIN " --so-pin 654321 >/dev/null && "
             "pkcs11-tool --module %s -l --pin " PIN " --keypairgen --key-type rsa:2048 "
             "  --label bench --id 0101 >/dev/null 2>&1 && "
             "pkcs11-tool --module %s --read-object --type pubkey --label bench -o pub.der 2>/dev/null && "
             "openssl pkey -pubin -inform DER -in pub.der -out keys/bench.pub.pem && "
             "echo 'bench 0x0101 rsa2048 1 apk' > keys/keymap.txt",
             dir, dir, module, module);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_backend: cannot set up a SoftHSM2 token in %s\n", dir);
        return 1;
    }
    (void)direct(module, 50); /* warm-up */
    double d = direct(module, n);
    double s_off = via_signet(dir, module, false, n);
    double s_on = via_signet(dir, module, true, n);
    printf("RSA-2048 PKCS#1 v1.5, %u signatures each, token %s\n", n, module);
    printf("  the token's own PKCS#11 (C_Sign)     %8.1f sig/s\n", n / d);
    printf("  signet_sign, backend pkcs11, no trail %8.1f sig/s  ratio %.2f\n", n / s_off,
           d / s_off);
    printf("  signet_sign, backend pkcs11, trail    %8.1f sig/s  ratio %.2f (two fsyncs each)\n",
           n / s_on, d / s_on);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
