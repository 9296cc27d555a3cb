/* Interoperability of `signet age` with Debian's age, age-keygen and ssh-keygen,
 * in both directions, binary and armored, at the chunk-size edges, with several
 * recipients; and the CLI's behaviour on failure (exit codes, no partial output). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[] = "/tmp/signet-age-XXXXXX";

/* Runs a shell command in the test directory; $S is the signet binary.
 * stderr goes to the file "err". Returns the exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
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

static const char *file(const char *name)
{
    static char buf[8192];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    return buf;
}

static const size_t SIZES[] = {0, 1, 1000, 65536, 65537, 200000};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])

static int setup(void **state)
{
    char s[1024];
    if (!mkdtemp(dir) || !getenv("SIGNET_BIN_DIR"))
        return -1;
    snprintf(s, sizeof s, "%s/signet", getenv("SIGNET_BIN_DIR"));
    setenv("S", s, 1);
    /* Keys made by the reference tools. */
    if (sh("age-keygen -o k1.txt 2>/dev/null && age-keygen -o k2.txt 2>/dev/null && "
           "ssh-keygen -q -t ed25519 -N '' -C custodian -f id1 && "
           "ssh-keygen -q -t ed25519 -N '' -C other -f id2") != 0)
        return -1;
    for (size_t i = 0; i < NSIZES; i++)
        if (sh("head -c %zu /dev/urandom > p%zu", SIZES[i], SIZES[i]) != 0)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void signet_encrypts_age_decrypts(void **state)
{
    for (size_t i = 0; i < NSIZES; i++)
        for (int armor = 0; armor < 2; armor++) {
            size_t n = SIZES[i];
            const char *a = armor ? "-a" : "";
            assert_int_equal(sh("$S age encrypt -r $(age-keygen -y k1.txt) %s -o c p%zu", a, n), 0);
            assert_int_equal(sh("age -d -i k1.txt c > d && cmp d p%zu", n), 0);
            assert_int_equal(sh("$S age encrypt -R id1.pub %s < p%zu > c", a, n), 0);
            assert_int_equal(sh("age -d -i id1 c | cmp - p%zu", n), 0);
            if (armor)
                assert_int_equal(sh("head -1 c | grep -qx -- '-----BEGIN AGE ENCRYPTED FILE-----'"), 0);
        }
}

static void age_encrypts_signet_decrypts(void **state)
{
    for (size_t i = 0; i < NSIZES; i++)
        for (int armor = 0; armor < 2; armor++) {
            size_t n = SIZES[i];
            const char *a = armor ? "-a" : "";
            assert_int_equal(sh("age -r $(age-keygen -y k1.txt) %s -o c p%zu", a, n), 0);
            assert_int_equal(sh("$S age decrypt -i k1.txt -o d c && cmp d p%zu", n), 0);
            assert_int_equal(sh("age %s -R id1.pub < p%zu > c", a, n), 0);
            assert_int_equal(sh("$S age decrypt -i id1 < c | cmp - p%zu", n), 0);
        }
}

static void multiple_recipients(void **state)
{
    /* signet to three recipients: each of them decrypts with age. */
    assert_int_equal(sh("printf 'several\\n' | $S age encrypt -r $(age-keygen -y k1.txt) "
                        "-r \"$(cat id1.pub)\" -r $(age-keygen -y k2.txt) > c"),
                     0);
    assert_int_equal(sh("test \"$(grep -c -- '^-> X25519 ' c)\" = 2 && "
                        "test \"$(grep -c -- '^-> ssh-ed25519 ' c)\" = 1"),
                     0);
    assert_int_equal(sh("age -d -i k1.txt c | grep -qx several"), 0);
    assert_int_equal(sh("age -d -i k2.txt c | grep -qx several"), 0);
    assert_int_equal(sh("age -d -i id1 c | grep -qx several"), 0);
    /* age to four recipients, from a recipients file: signet decrypts with each. */
    assert_int_equal(sh("{ echo '# team'; age-keygen -y k1.txt; echo; cat id2.pub; cat id1.pub; "
                        "age-keygen -y k2.txt; } > team.txt && age -R team.txt -a -o c p65537"),
                     0);
    const char *ids[] = {"k1.txt", "k2.txt", "id1", "id2"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(sh("$S age decrypt -i %s c | cmp - p65537", ids[i]), 0);
    /* The same recipients file works for signet, and age reads the result. */
    assert_int_equal(sh("$S age encrypt -R team.txt -o c p1000 && age -d -i id2 c | cmp - p1000"), 0);
    /* Several identity files: the one that fits is used. */
    assert_int_equal(sh("$S age encrypt -R id2.pub p1 | $S age decrypt -i k1.txt -i id1 -i id2 "
                        "| cmp - p1"),
                     0);
}

static void signet_keygen_works_with_age(void **state)
{
    assert_int_equal(sh("$S age keygen -o sk.txt"), 0);
    assert_non_null(strstr(file("err"), "Public key: age1"));
    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "%s/sk.txt", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* The "# public key:" line is what age-keygen derives from the identity. */
    assert_int_equal(sh("test \"$(grep '^# public key: ' sk.txt | cut -d' ' -f4)\" = "
                        "\"$(age-keygen -y sk.txt)\""),
                     0);
    assert_int_equal(sh("age -r $(age-keygen -y sk.txt) -o c p1000 && "
                        "$S age decrypt -i sk.txt c | cmp - p1000"),
                     0);
    assert_int_equal(sh("$S age encrypt -r $(age-keygen -y sk.txt) -o c p1000 && "
                        "age -d -i sk.txt c | cmp - p1000"),
                     0);
    /* Never overwrites. */
    assert_int_equal(sh("cp sk.txt before && $S age keygen -o sk.txt"), 2);
    assert_non_null(strstr(file("err"), "already exists"));
    assert_int_equal(sh("cmp sk.txt before"), 0);
    /* To stdout: the three lines. */
    assert_int_equal(sh("$S age keygen > out.txt && test $(wc -l < out.txt) = 3 && "
                        "grep -q '^AGE-SECRET-KEY-1' out.txt && age-keygen -y out.txt"),
                     0);
}

static void cli_failures(void **state)
{
    /* Wrong identity: exit 5 (authentication), a clear message, no output file. */
    assert_int_equal(sh("age -r $(age-keygen -y k1.txt) -o c p1000"), 0);
    assert_int_equal(sh("$S age decrypt -i k2.txt -o wrong c"), 5);
    assert_non_null(strstr(file("err"), "encrypted to other keys"));
    assert_int_equal(sh("test ! -e wrong"), 0);
    /* A modified payload byte with -o: exit 10 (payload failure), neither the output
     * nor a temporary file left. */
    assert_int_equal(sh("age -r $(age-keygen -y k1.txt) -o c p200000 && "
                        "printf 'X' | dd of=c bs=1 seek=150000 conv=notrunc 2>/dev/null"),
                     0);
    assert_int_equal(sh("$S age decrypt -i k1.txt -o modified c"), 10);
    assert_non_null(strstr(file("err"), "does not authenticate"));
    assert_int_equal(sh("test ! -e modified && test -z \"$(ls | grep tmp)\""), 0);
    /* On standard output: exactly the chunks that authenticated (two of 64 KiB), the
     * same bytes Debian's age writes before it fails. */
    assert_int_equal(sh("$S age decrypt -i k1.txt c > s.out"), 10);
    assert_int_equal(sh("age -d -i k1.txt c > a.out; test $? != 0"), 0);
    assert_int_equal(sh("test $(wc -c < s.out) = 131072 && cmp s.out a.out && "
                        "head -c 131072 p200000 | cmp - s.out"),
                     0);
    /* Trailing data: rejected like age does. */
    assert_int_equal(sh("age -r $(age-keygen -y k1.txt) -o c p1000 && echo junk >> c"), 0);
    assert_int_equal(sh("$S age decrypt -i k1.txt c > /dev/null"), 10);
    /* A header MAC that does not verify: exit 1; a malformed header: exit 9; bad armor:
     * exit 11. */
    /* (the MAC's first character becomes A, or B when it already was A) */
    assert_int_equal(sh("age -r $(age-keygen -y k1.txt) -o c p1000 && "
                        "sed '/^---/s/ ./ A/' c > cm && "
                        "if cmp -s c cm; then sed '/^---/s/ ./ B/' c > cm; fi && ! cmp -s c cm"),
                     0);
    assert_int_equal(sh("$S age decrypt -i k1.txt cm > /dev/null"), 1);
    assert_int_equal(sh("sed '1s/v1/v2/' c > ch && $S age decrypt -i k1.txt ch"), 9);
    assert_int_equal(sh("age -a -r $(age-keygen -y k1.txt) -o ca p1000 && "
                        "sed '2s/^./!/' ca > cb && $S age decrypt -i k1.txt cb"),
                     11);
    /* Armor whose END line has no newline (age accepts it). */
    assert_int_equal(sh("head -c -1 ca > cn && tail -c 5 cn | grep -qv '^$' && "
                        "$S age decrypt -i k1.txt cn > n.out && cmp n.out p1000 && "
                        "age -d -i k1.txt cn | cmp - p1000"),
                     0);
    /* No recipients, no identities, unknown recipient: usage errors. */
    assert_int_equal(sh("$S age encrypt -o c p1"), 2);
    assert_int_equal(sh("$S age decrypt c"), 2);
    assert_int_equal(sh("$S age encrypt -r bogus -o c p1"), 2);
    assert_int_equal(sh("$S age encrypt -r \"$(cat k1.txt | tail -1)\" -o c p1"), 2);
    assert_non_null(strstr(file("err"), "not a recipient"));
    /* A passphrase-protected SSH key: a clear refusal. */
    assert_int_equal(sh("ssh-keygen -q -t ed25519 -N secretpass -f idp && "
                        "age -R idp.pub -o c p1"),
                     0);
    assert_int_equal(sh("$S age decrypt -i idp c"), 8);
    assert_non_null(strstr(file("err"), "passphrase"));
    /* An RSA SSH key as recipient. */
    assert_int_equal(sh("ssh-keygen -q -t rsa -b 2048 -N '' -f idr && $S age encrypt -R idr.pub p1"), 8);
    assert_non_null(strstr(file("err"), "ssh-ed25519"));
    /* A missing input file: exit 6. */
    assert_int_equal(sh("$S age encrypt -R id1.pub nosuchfile"), 6);
}

/* Passphrases (scrypt) both ways.  age reads a passphrase only from a terminal, so
 * it runs under script(1), which gives it a pseudo-terminal fed from our pipe. */
static void passphrases_with_age(void **state)
{
    assert_int_equal(sh("printf 'tr0ub4dor&3\n' > pf"), 0);
    /* signet encrypts (work factor 12, binary and armored), age decrypts. */
    for (int armor = 0; armor < 2; armor++) {
        assert_int_equal(sh("$S age encrypt -p --passphrase-file pf --work-factor 12 %s "
                            "-o sp.age p65537",
                            armor ? "-a" : ""),
                         0);
        assert_int_equal(sh(armor ? "head -1 sp.age | grep -q '^-----BEGIN AGE ENCRYPTED FILE'"
                                  : "grep -aq '^-> scrypt [A-Za-z0-9+/]* 12$' sp.age"),
                         0);
        assert_int_equal(sh("rm -f ad.out && printf 'tr0ub4dor&3\n' | "
                            "script -qec 'age -d -o ad.out sp.age' /dev/null > /dev/null && "
                            "cmp ad.out p65537"),
                         0);
    }
    /* age encrypts (its default work factor, 18), signet decrypts: passphrase from
     * the environment, then from a file. */
    assert_int_equal(sh("rm -f ap.age && printf 'tr0ub4dor&3\ntr0ub4dor&3\n' | "
                        "script -qec 'age -p -o ap.age p1000' /dev/null > /dev/null && "
                        "grep -aq '^-> scrypt ' ap.age"),
                     0);
    assert_int_equal(sh("SIGNET_AGE_PASSPHRASE='tr0ub4dor&3' $S age decrypt -p ap.age | "
                        "cmp - p1000"),
                     0);
    assert_int_equal(sh("$S age decrypt --passphrase-file pf -o sd.out sp.age && "
                        "cmp sd.out p65537"),
                     0);
    /* A wrong passphrase: no match (5), no output file. */
    assert_int_equal(sh("printf 'wrong\n' > wf && $S age decrypt --passphrase-file wf "
                        "-o no.out sp.age"),
                     5);
    assert_non_null(strstr(file("err"), "passphrase does not open"));
    assert_int_equal(sh("test ! -e no.out"), 0);
    /* A passphrase beside recipients, or no source of one: usage errors. */
    assert_int_equal(sh("$S age encrypt -p --passphrase-file pf -r $(age-keygen -y k1.txt) "
                        "-o x p1"),
                     2);
    /* (setsid: no controlling terminal to prompt on) */
    assert_int_equal(sh("setsid -w $S age decrypt -p ap.age < /dev/null"), 2);
}

/* Post-quantum keys through the CLI (Debian's age 1.1 has no mlkem768x25519, so
 * this direction is signet only; the stanza is checked against published
 * known-answer vectors in test_age_pq). */
static void post_quantum_cli(void **state)
{
    assert_int_equal(sh("rm -f pq.key && $S age keygen -pq -o pq.key 2> pq.pub && "
                        "grep -q '^AGE-SECRET-KEY-PQ-1' pq.key && grep -q 'Public key: age1pq1' pq.pub"),
                     0);
    assert_int_equal(sh("sed -n 's/^# public key: //p' pq.key > pq.rcpt && "
                        "$S age encrypt -R pq.rcpt -a -o pq.age p65537 && "
                        "$S age decrypt -i pq.key pq.age | cmp - p65537"),
                     0);
    /* With a classic recipient in the same file: refused. */
    assert_int_equal(sh("$S age encrypt -R pq.rcpt -r $(age-keygen -y k1.txt) -o x p1"), 2);
    assert_non_null(strstr(file("err"), "post-quantum"));
    /* The wrong (classic) identity: no match. */
    assert_int_equal(sh("$S age decrypt -i k1.txt pq.age > /dev/null"), 5);
}

static void help_texts(void **state)
{
    assert_int_equal(sh("$S age --help > h"), 0);
    assert_non_null(strstr(file("h"), "signet age encrypt"));
    assert_int_equal(sh("$S age encrypt --help > h"), 0);
    assert_non_null(strstr(file("h"), "--recipients-file"));
    assert_int_equal(sh("$S age decrypt --help > h"), 0);
    assert_non_null(strstr(file("h"), "--identity"));
    assert_int_equal(sh("$S age keygen --help > h"), 0);
    assert_non_null(strstr(file("h"), "0600"));
    assert_int_equal(sh("$S age"), 2);
    assert_int_equal(sh("$S age frobnicate"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signet_encrypts_age_decrypts),
        cmocka_unit_test(age_encrypts_signet_decrypts),
        cmocka_unit_test(multiple_recipients),
        cmocka_unit_test(signet_keygen_works_with_age),
        cmocka_unit_test(cli_failures),
        cmocka_unit_test(passphrases_with_age),
        cmocka_unit_test(post_quantum_cli),
        cmocka_unit_test(help_texts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
