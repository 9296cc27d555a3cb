/* bench_pkcs11: signatures per second through libsignet-pkcs11.so (dlopen, a
 * C_SignInit + C_Sign loop, CKM_SHA256_RSA_PKCS, RSA-2048, one thread) against the
 * same loop through SoftHSM2's module with a key of the same type, in one run; then
 * the wall time apksigner takes to sign a set of APKs through each module (one
 * apksigner process per APK, as a build runs it).
 *
 * signet runs against its own signet-hsm (latency profile none, device audit off,
 * no audit trail); SoftHSM2 gets a fresh token in a temporary directory
 * ($SOFTHSM2_CONF).  Not part of ctest: run it by hand (docs/BENCHMARKS.md).
 *
 *   bench_pkcs11 [--seconds S] [--apks N]      (N = 0 skips apksigner) */
#include <dlfcn.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pkcs11/p11_env.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define SOFTHSM_PIN "123456"
#define SOFTHSM_SO_PIN "12345678"
#define KEY_LABEL "platform"

static double seconds_per_figure = 5.0;
static int n_apks = 10;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noreturn)) static void die(const char *what, CK_RV rv)
{
    fprintf(stderr, "bench_pkcs11: %s failed (CKR 0x%lx)\n", what, (unsigned long)rv);
    exit(1);
}

static CK_FUNCTION_LIST *load(const char *path, void **dl)
{
    *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*dl) {
        fprintf(stderr, "bench_pkcs11: %s\n", dlerror());
        exit(1);
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(*dl, "C_GetFunctionList");
    CK_FUNCTION_LIST *f = NULL;
    if (!get || get(&f) != CKR_OK)
        die("C_GetFunctionList", 0);
    return f;
}

/* ---- a SoftHSM2 token with an RSA-2048 key and its certificate ------------------------ */
static CK_SLOT_ID token_slot(CK_FUNCTION_LIST *f, const char *label)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv)
        die("C_GetSlotList", rv);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
            strncmp((char *)ti.label, label, strlen(label)) == 0)
            return slots[i];
    }
    die("finding the SoftHSM token", 0);
    return 0;
}

static void add_bn(CK_ATTRIBUTE *a, CK_ATTRIBUTE_TYPE t, EVP_PKEY *pk, const char *name,
                   uint8_t *buf)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pk, name, &bn))
        die("reading the RSA key", 0);
    a->type = t;
    a->pValue = buf;
    a->ulValueLen = (CK_ULONG)BN_bn2bin(bn, buf);
    BN_free(bn);
}

/* The key is made with OpenSSL and imported, with a self-signed certificate: the
 * token then holds what SunPKCS11 needs (a private key and a certificate with the
 * same CKA_ID), as signet's token does. */
static void make_softhsm_token(const char *dir)
{
    char conf[PATH_MAX], tokens[PATH_MAX], text[PATH_MAX + 100];
    snprintf(tokens, sizeof tokens, "%s/tokens", dir);
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
    snprintf(text, sizeof text, "directories.tokendir = %s\nobjectstore.backend = file\n"
                                "log.level = ERROR\n", tokens);
    if (p11_sh(NULL, "mkdir -p %s", tokens) || test_write_file(conf, text, strlen(text)))
        exit(1);
    setenv("SOFTHSM2_CONF", conf, 1);

    void *dl;
    CK_FUNCTION_LIST *f = load(SOFTHSM_MODULE, &dl);
    CK_RV rv = f->C_Initialize(NULL);
    if (rv)
        die("SoftHSM C_Initialize", rv);
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    if ((rv = f->C_GetSlotList(CK_FALSE, slots, &n)) || n == 0)
        die("C_GetSlotList", rv);
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof label);
    memcpy(label, "bench", 5);
    if ((rv = f->C_InitToken(slots[0], (CK_UTF8CHAR_PTR)SOFTHSM_SO_PIN, strlen(SOFTHSM_SO_PIN), label)))
        die("C_InitToken", rv);
    CK_SLOT_ID slot = token_slot(f, "bench");
    CK_SESSION_HANDLE s;
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) ||
        (rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SOFTHSM_SO_PIN, strlen(SOFTHSM_SO_PIN))) ||
        (rv = f->C_InitPIN(s, (CK_UTF8CHAR_PTR)SOFTHSM_PIN, strlen(SOFTHSM_PIN))) ||
        (rv = f->C_Logout(s)) ||
        (rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)SOFTHSM_PIN, strlen(SOFTHSM_PIN))))
        die("setting up the SoftHSM token", rv);

    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)KEY_LABEL, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_set_pubkey(x, pk);
    if (!pk || X509_sign(x, pk, EVP_sha256()) <= 0)
        die("making the SoftHSM key", 0);

    static uint8_t bufs[8][512];
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, certc = CKO_CERTIFICATE;
    CK_KEY_TYPE rsa = CKK_RSA;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    uint8_t id[] = {0x01, 0x01};
    CK_ATTRIBUTE kt[17] = {
        {CKA_CLASS, &priv, sizeof priv}, {CKA_KEY_TYPE, &rsa, sizeof rsa},
        {CKA_TOKEN, &yes, 1},            {CKA_PRIVATE, &yes, 1},
        {CKA_SENSITIVE, &yes, 1},        {CKA_SIGN, &yes, 1},
        {CKA_ID, id, sizeof id},         {CKA_LABEL, KEY_LABEL, strlen(KEY_LABEL)},
    };
    const char *params[] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E,
                            OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
                            OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
                            OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    CK_ATTRIBUTE_TYPE types[] = {CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT,
                                 CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2,
                                 CKA_COEFFICIENT};
    for (int i = 0; i < 8; i++)
        add_bn(&kt[8 + i], types[i], pk, params[i], bufs[i]);
    CK_OBJECT_HANDLE h;
    if ((rv = f->C_CreateObject(s, kt, 16, &h)))
        die("importing the key into SoftHSM", rv);
    uint8_t *der = NULL, *sub = NULL;
    int dlen = i2d_X509(x, &der), slen = i2d_X509_NAME(nm, &sub);
    CK_ATTRIBUTE ct[] = {
        {CKA_CLASS, &certc, sizeof certc}, {CKA_CERTIFICATE_TYPE, &x509, sizeof x509},
        {CKA_TOKEN, &yes, 1},              {CKA_ID, id, sizeof id},
        {CKA_LABEL, KEY_LABEL, strlen(KEY_LABEL)},
        {CKA_SUBJECT, sub, (CK_ULONG)slen}, {CKA_VALUE, der, (CK_ULONG)dlen},
    };
    if ((rv = f->C_CreateObject(s, ct, 7, &h)))
        die("importing the certificate into SoftHSM", rv);
    OPENSSL_free(der);
    OPENSSL_free(sub);
    X509_free(x);
    EVP_PKEY_free(pk);
    f->C_Finalize(NULL);
    dlclose(dl);
}

/* ---- the C_Sign loop ------------------------------------------------------------------- */
static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of another process (the daemon), from /proc/PID/stat. */
static double other_cpu_s(pid_t pid)
{
    if (pid <= 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct figure {
    double per_s;   /* wall clock */
    double cpu_us;  /* CPU per signature: this process plus the daemon, if any */
};

static struct figure sign_rate(const char *module, const char *pin, const char *token_label,
                               pid_t daemon)
{
    void *dl;
    CK_FUNCTION_LIST *f = load(module, &dl);
    CK_RV rv = f->C_Initialize(NULL);
    if (rv)
        die("C_Initialize", rv);
    CK_SESSION_HANDLE s;
    if ((rv = f->C_OpenSession(token_slot(f, token_label), CKF_SERIAL_SESSION, NULL, NULL, &s)) ||
        (rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin))))
        die("logging in", rv);
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &priv, sizeof priv}, {CKA_LABEL, KEY_LABEL, strlen(KEY_LABEL)}};
    CK_OBJECT_HANDLE key;
    CK_ULONG n = 0;
    if ((rv = f->C_FindObjectsInit(s, t, 2)) || (rv = f->C_FindObjects(s, &key, 1, &n)) || n != 1 ||
        (rv = f->C_FindObjectsFinal(s)))
        die("finding the key", rv);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    static const char data[] = "bench_pkcs11: a 64-byte message to sign, as a build would send..";
    uint8_t sig[512];
    unsigned count = 0;
    double t0 = 0, c0 = 0;
    for (int warm = 10;; warm--) {
        if (warm == 0) {
            t0 = now_s();
            c0 = process_cpu_s() + other_cpu_s(daemon);
        }
        CK_ULONG len = sizeof sig;
        if ((rv = f->C_SignInit(s, &m, key)) ||
            (rv = f->C_Sign(s, (CK_BYTE_PTR)data, sizeof data - 1, sig, &len)))
            die("C_Sign", rv);
        if (warm > 0)
            continue;
        count++;
        if ((count & 15) == 0 && now_s() - t0 >= seconds_per_figure)
            break;
    }
    struct figure fig = {count / (now_s() - t0),
                         (process_cpu_s() + other_cpu_s(daemon) - c0) * 1e6 / count};
    f->C_Finalize(NULL);
    dlclose(dl);
    return fig;
}

/* ---- apksigner ------------------------------------------------------------------------- */
static void make_apks(const char *dir)
{
    for (int i = 0; i < n_apks; i++)
        if (p11_sh(NULL, "mkdir -p %s/src%d && cd %s/src%d && printf '\\003\\000\\010\\000m' > "
                         "AndroidManifest.xml && printf 'dex\\n035\\000' > classes.dex && "
                         "head -c 1048576 /dev/urandom > res.bin && zip -q -X ../u%d.apk "
                         "AndroidManifest.xml classes.dex res.bin && zipalign -f 4 ../u%d.apk "
                         "../app%d.apk", dir, i, dir, i, i, i, i))
            exit(1);
}

/* Seconds for signing every APK, one apksigner run per APK. */
static double apksigner_time(const char *dir, const char *module, const char *pin,
                             const char *tag)
{
    char cfg[PATH_MAX], text[PATH_MAX + 100];
    snprintf(cfg, sizeof cfg, "%s/%s.cfg", dir, tag);
    snprintf(text, sizeof text, "name = %s\nlibrary = %s\nslotListIndex = 0\n", tag, module);
    if (test_write_file(cfg, text, strlen(text)))
        exit(1);
    setenv("PIN", pin, 1);
    double t0 = now_s();
    for (int i = 0; i < n_apks; i++)
        if (p11_sh(NULL, "apksigner -J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED "
                         "sign --ks NONE --ks-type PKCS11 --ks-pass env:PIN --provider-class "
                         "sun.security.pkcs11.SunPKCS11 --provider-arg %s --ks-key-alias %s "
                         "--min-sdk-version 28 --v1-signing-enabled false --out %s/%s-%d.apk "
                         "%s/app%d.apk", cfg, KEY_LABEL, dir, tag, i, dir, i))
            exit(1);
    double t = now_s() - t0;
    unsetenv("PIN");
    return t;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"seconds", required_argument, 0, 's'},
                                         {"apks", required_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': seconds_per_figure = atof(optarg); break;
        case 'a': n_apks = atoi(optarg); break;
        default:
            printf("usage: bench_pkcs11 [--seconds S (default 5)] [--apks N (default 10, 0 = "
                   "skip apksigner)]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (!getenv("SIGNET_BIN_DIR")) {
        /* Run from the build tree: signet-hsm sits next to this program. */
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return 1;
        self[n] = 0;
        setenv("SIGNET_BIN_DIR", dirname(self), 1);
    }
    struct p11_env env;
    if (p11_env_start(&env, KEY_LABEL " rsa2048", false, NULL) != 0)
        return 1;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/softhsm", env.h.dir);
    make_softhsm_token(dir);

    printf("PKCS#11 C_SignInit + C_Sign, CKM_SHA256_RSA_PKCS, RSA-2048, one thread, %.0f s each\n",
           seconds_per_figure);
    struct figure sig = sign_rate(env.module, P11_TEST_PIN, "signet", env.h.pid);
    struct figure soft = sign_rate(SOFTHSM_MODULE, SOFTHSM_PIN, "bench", 0);
    printf("  %-46s %9s %10s %14s\n", "", "sig/s", "ms/sig", "CPU us/sig");
    printf("  %-46s %9.1f %10.3f %14.0f\n", "signet (signet-hsm: latency none, audit off)",
           sig.per_s, 1000.0 / sig.per_s, sig.cpu_us);
    printf("  %-46s %9.1f %10.3f %14.0f\n", "SoftHSM2 2.6 (" SOFTHSM_MODULE ")", soft.per_s,
           1000.0 / soft.per_s, soft.cpu_us);
    printf("  %-46s %9.2f %10s %14.2f\n", "signet / SoftHSM2 (CPU: SoftHSM2 / signet)",
           sig.per_s / soft.per_s, "", soft.cpu_us / sig.cpu_us);
    printf("  (CPU: this process, plus signet-hsm for signet; waiting for a CPU is not counted)\n");

    /* The ceremony's settings: the device audits every signing command and each
     * signature goes through the trail (drain, intent, sign, drain, fsynced record). */
    struct p11_env audited;
    if (p11_env_start(&audited, KEY_LABEL " rsa2048", true, NULL) != 0)
        return 1;
    struct figure aud = sign_rate(audited.module, P11_TEST_PIN, "signet", audited.h.pid);
    printf("  %-46s %9.1f %10.3f %14.0f\n", "signet (device audit on + audit trail)", aud.per_s,
           1000.0 / aud.per_s, aud.cpu_us);
    printf("  %-46s %9.2f %10s %14.2f\n", "  the same / SoftHSM2", aud.per_s / soft.per_s, "",
           soft.cpu_us / aud.cpu_us);
    p11_env_stop(&audited);
    setenv("SIGNET_CONF", env.conf, 1);

    if (n_apks > 0) {
        make_apks(dir);
        printf("\napksigner sign (v2 + v3, --min-sdk-version 28), %d APKs of 1 MiB, one run each\n",
               n_apks);
        double ts = apksigner_time(dir, env.module, P11_TEST_PIN, "signet");
        double th = apksigner_time(dir, SOFTHSM_MODULE, SOFTHSM_PIN, "softhsm");
        printf("  %-46s %8.2f s  %6.2f s/APK\n", "signet", ts, ts / n_apks);
        printf("  %-46s %8.2f s  %6.2f s/APK\n", "SoftHSM2", th, th / n_apks);
        printf("  %-46s %8.2f x\n", "SoftHSM2 time / signet time", th / ts);
    }
    p11_env_stop(&env);
    return 0;
}
