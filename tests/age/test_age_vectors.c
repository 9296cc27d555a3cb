/* The C2SP community age test vectors (CCTV age testkit; tests/age/vectors/README.md
 * says which and where from) run through `signet age decrypt`, the way a user runs
 * it: each vector's identities go to an identity file, its passphrase to a
 * passphrase file, and the command must
 *   - exit with the status of the vector's class (docs/age.md): success 0, HMAC
 *     failure 1, no match 5, header failure 9, payload failure 10, armor failure 11;
 *   - write to standard output exactly the plaintext whose SHA-256 the vector names,
 *     for success and for payload failures (the chunks that authenticated before
 *     the failure, as age releases them).
 * The number of vectors per class is fixed below, so a vector that goes missing or
 * changes class fails the test; so is the number of them that are verbatim copies
 * of published files (tests/age/vectors/SOURCES names the origin of each).  Debian's age decrypts the classic identity-based
 * vectors too, as a cross-check of the vectors themselves (it has no post-quantum
 * recipients and reads passphrases only from a terminal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <zlib.h>

struct class_info {
    const char *name;
    int status;   /* signet age decrypt's exit status */
    int expected; /* vectors of this class in tests/age/vectors */
    int verbatim; /* of them, verbatim copies of published files */
    int seen, seen_verbatim;
};

static struct class_info classes[] = {
    {"success", 0, 31, 31, 0, 0},         {"HMAC failure", 1, 1, 1, 0, 0},
    {"no match", 5, 14, 14, 0, 0},        {"header failure", 9, 64, 64, 0, 0},
    {"payload failure", 10, 20, 20, 0, 0}, {"armor failure", 11, 43, 43, 0, 0},
};
#define NCLASSES (sizeof classes / sizeof classes[0])

static char dir[] = "/tmp/signet-agevec-XXXXXX";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4096], full[4400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "cd %s && { %s ; } 2>err", dir, cmd);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap + 1);
    size_t k;
    while (p && (k = fread(p + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *q = realloc(p, (cap *= 2) + 1);
            if (!q) {
                free(p);
                p = NULL;
            }
            p = q;
        }
    }
    fclose(f);
    if (p)
        p[n] = 0;
    *len = n;
    return p;
}

static void write_file(const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void sha256_hex(const char *name, char hex[65])
{
    char path[512];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *p = slurp(path, &n);
    assert_non_null(p);
    unsigned char md[32];
    assert_int_equal(EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL), 1);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    free(p);
}

struct vector {
    char expect[32], payload[65];
    char identities[4096];
    char passphrase[128];
    bool armored;
    bool compressed; /* "compressed: zlib": the file after the header is zlib data */
    const char *body;
    size_t body_len;
};

/* Parses the textual header ("key: value" lines, then an empty line). */
static void parse_vector(const char *name, char *p, size_t n, struct vector *v)
{
    memset(v, 0, sizeof *v);
    char *end = memmem(p, n, "\n\n", 2);
    if (!end)
        fail_msg("%s: no empty line after the vector's header", name);
    *end = 0;
    v->body = end + 2;
    v->body_len = n - (size_t)(end + 2 - p);
    for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n")) {
        char *val = strstr(line, ": ");
        if (!val)
            fail_msg("%s: header line without \": \"", name);
        *val = 0;
        val += 2;
        if (strcmp(line, "expect") == 0)
            snprintf(v->expect, sizeof v->expect, "%s", val);
        else if (strcmp(line, "payload") == 0)
            snprintf(v->payload, sizeof v->payload, "%s", val);
        else if (strcmp(line, "identity") == 0)
            strcat(strcat(v->identities, val), "\n");
        else if (strcmp(line, "passphrase") == 0)
            snprintf(v->passphrase, sizeof v->passphrase, "%s", val);
        else if (strcmp(line, "armored") == 0)
            v->armored = strcmp(val, "yes") == 0;
        else if (strcmp(line, "compressed") == 0 && strcmp(val, "zlib") == 0)
            v->compressed = true;
        else if (strcmp(line, "file key") != 0 && strcmp(line, "comment") != 0)
            fail_msg("%s: unknown key \"%s\" (the harness must learn it)", name, line);
    }
}

/* The zlib-compressed file of a vector, inflated (malloc'd). */
static unsigned char *inflate_body(const char *name, const void *in, size_t n, size_t *out_len)
{
    size_t cap = 1 << 20;
    unsigned char *out = malloc(cap);
    z_stream z = {0};
    assert_non_null(out);
    assert_int_equal(inflateInit(&z), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (z.total_out == cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        z.next_out = out + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
    } while (rc == Z_OK);
    if (rc != Z_STREAM_END || z.avail_in != 0)
        fail_msg("%s: the compressed file does not inflate", name);
    *out_len = z.total_out;
    inflateEnd(&z);
    return out;
}

static struct class_info *class_of(const char *name, const char *expect)
{
    for (size_t i = 0; i < NCLASSES; i++)
        if (strcmp(classes[i].name, expect) == 0)
            return &classes[i];
    fail_msg("%s: unknown expectation \"%s\"", name, expect);
    return NULL;
}

/* The origin of a vector: its SOURCES line says "<name> verbatim ..." or
 * "<name> regenerated ...".  A vector without a line fails the test. */
static bool is_verbatim(const char *vdir, const char *name)
{
    char path[1024], line[512];
    snprintf(path, sizeof path, "%s/SOURCES", vdir);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("%s: cannot read", path);
    int found = -1;
    size_t n = strlen(name);
    while (found < 0 && fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) != 0 || line[n] != ' ')
            continue;
        if (strncmp(line + n + 1, "verbatim ", 9) == 0)
            found = 1;
        else if (strncmp(line + n + 1, "regenerated ", 12) == 0)
            found = 0;
    }
    fclose(f);
    if (found < 0)
        fail_msg("%s: no origin in tests/age/vectors/SOURCES", name);
    return found == 1;
}

static int signet_bad, age_bad; /* disagreements, each printed */

/* Vectors on which Debian's age 1.1.1 answers otherwise, because age changed after
 * it: an armored file may end with an empty line only before age 1.2, and
 * whitespace around an armored file is accepted from age 1.2.  Not cross-checked. */
static const char *const AGE_111_DIFFERS[] = {"armor_empty_last_line", "armor_whitespace_outside"};

static bool age_111_differs(const char *name)
{
    for (size_t i = 0; i < sizeof AGE_111_DIFFERS / sizeof AGE_111_DIFFERS[0]; i++)
        if (strcmp(name, AGE_111_DIFFERS[i]) == 0)
            return true;
    return false;
}

/* A vector that names no identity and no passphrase (an empty or truncated file)
 * must fail the same way whatever identity is given: this unrelated one. */
#define ANY_IDENTITY "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0\n"

static void check_vector(const char *vdir, const char *name)
{
    char path[1024];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", vdir, name);
    /* (name may carry its sub-directory) */
    char *raw = slurp(path, &n);
    assert_non_null(raw);
    struct vector v;
    parse_vector(name, raw, n, &v);
    struct class_info *c = class_of(name, v.expect);
    c->seen++;
    c->seen_verbatim += is_verbatim(vdir, name);
    if (v.compressed) {
        size_t len;
        unsigned char *file = inflate_body(name, v.body, v.body_len, &len);
        write_file("body", file, len);
        free(file);
    } else {
        write_file("body", v.body, v.body_len);
    }
    if (!v.identities[0] && !v.passphrase[0])
        strcat(v.identities, ANY_IDENTITY);
    write_file("ids", v.identities, strlen(v.identities));
    write_file("pass", v.passphrase, strlen(v.passphrase));
    char args[256] = "";
    if (v.identities[0])
        strcat(args, " -i ids");
    if (v.passphrase[0])
        strcat(args, " --passphrase-file pass");
    int st = run("$S age decrypt%s body > out", args);
    char hex[65];
    sha256_hex("out", hex);
    if (st != c->status) {
        char errpath[512];
        size_t en;
        snprintf(errpath, sizeof errpath, "%s/err", dir);
        char *err = slurp(errpath, &en);
        print_error("%s (%s): signet exited %d, expected %d: %s\n", name, v.expect, st,
                    c->status, err ? err : "");
        free(err);
        signet_bad++;
    }
    if (v.payload[0] && strcmp(hex, v.payload) != 0)
        print_error("%s (%s): standard output has SHA-256 %s, the vector says %s\n", name,
                    v.expect, hex, v.payload), signet_bad++;
    if (!v.payload[0] && c->status != 0 && strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
                                                        "649b934ca495991b7852b855") != 0)
        print_error("%s (%s): plaintext on standard output for a failure without payload\n",
                    name, v.expect), signet_bad++;
    /* Cross-check the vector with Debian's age (classic identities only). */
    if (v.identities[0] && !v.passphrase[0] && !strstr(v.identities, "AGE-SECRET-KEY-PQ-") &&
        !age_111_differs(name)) {
        int ast = run("age -d -i ids body > aout");
        if ((ast == 0) != (c->status == 0)) {
            print_error("%s: Debian's age exited %d on a vector that expects %s\n", name, ast,
                        v.expect);
            age_bad++;
        } else if (c->status == 0 && (sha256_hex("aout", hex), strcmp(hex, v.payload) != 0)) {
            print_error("%s: Debian's age output differs from the vector's payload hash\n", name);
            age_bad++;
        }
    }
    free(raw);
}

/* Runs every vector of vdir/sub ("" or "age-testkit/": the older snapshot kept in
 * age's repository, whose names collide with the current suite's); returns how many. */
static int run_dir(const char *vdir, const char *sub)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", vdir, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        /* Vector files have lower-case names without dots (README.md, LICENSE aside). */
        if (e->d_name[0] < 'a' || e->d_name[0] > 'z' || strchr(e->d_name, '.') ||
            strcmp(e->d_name, "age-testkit") == 0)
            continue;
        char name[512];
        snprintf(name, sizeof name, "%s%s", sub, e->d_name);
        check_vector(vdir, name);
        n++;
    }
    closedir(d);
    return n;
}

static void community_vectors(void **state)
{
    (void)state;
    char vdir[1024];
    snprintf(vdir, sizeof vdir, "%s/tests/age/vectors", getenv("SIGNET_SOURCE_DIR"));
    int total = run_dir(vdir, "") + run_dir(vdir, "age-testkit/");
    if (signet_bad || age_bad)
        fail_msg("%d vectors where signet disagrees, %d where Debian's age does (above)",
                 signet_bad, age_bad);
    int expected = 0;
    for (size_t i = 0; i < NCLASSES; i++) {
        printf("%-16s %2d vectors, %2d verbatim (exit %d)\n", classes[i].name, classes[i].seen,
               classes[i].seen_verbatim, classes[i].status);
        if (classes[i].seen != classes[i].expected)
            fail_msg("%d vectors of class \"%s\", expected %d", classes[i].seen,
                     classes[i].name, classes[i].expected);
        if (classes[i].seen_verbatim != classes[i].verbatim)
            fail_msg("%d verbatim vectors of class \"%s\", expected %d",
                     classes[i].seen_verbatim, classes[i].name, classes[i].verbatim);
        expected += classes[i].expected;
    }
    assert_int_equal(total, expected);
}

static int setup(void **state)
{
    (void)state;
    char s[1024];
    if (!mkdtemp(dir) || !getenv("SIGNET_BIN_DIR") || !getenv("SIGNET_SOURCE_DIR"))
        return -1;
    snprintf(s, sizeof s, "%s/signet", getenv("SIGNET_BIN_DIR"));
    setenv("S", s, 1);
    unsetenv("SIGNET_AGE_PASSPHRASE");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(community_vectors)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
