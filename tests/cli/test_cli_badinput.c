/* Bad input to every command: the commands are enumerated from the command tables
 * (`signet --list-commands`), so a new command is covered without touching this
 * file.  Nothing here reaches a device: the connector is a closed port.  Each run
 * must end with one line on stderr ("signet...") and an exit code of the table
 * (docs/signet.1.md); a crash, a sanitizer report (several lines) or a success on
 * bad input fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hsmd_fixture.h"

struct spec {
    char group[64], cmd[64];
    char words[32][80]; /* --opt=META[!], --switch, @ARG[...][!] */
    size_t n;
};

static struct spec specs[256];
static size_t n_specs;
static char tmpdir[256];
static char env[1024];

static void load_specs(void)
{
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' --list-commands", test_bin("signet"));
    assert_int_equal(run_cmd(cmd, &out), 0);
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        assert_true(n_specs < sizeof specs / sizeof specs[0]);
        struct spec *s = &specs[n_specs++];
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        assert_non_null(t2);
        snprintf(s->group, sizeof s->group, "%.*s", (int)(t1 - line), line);
        snprintf(s->cmd, sizeof s->cmd, "%.*s", (int)(t2 - t1 - 1), t1 + 1);
        char *save2 = NULL;
        for (char *w = strtok_r(t2 + 1, " ", &save2); w; w = strtok_r(NULL, " ", &save2)) {
            assert_true(s->n < 32);
            snprintf(s->words[s->n++], sizeof s->words[0], "%s", w);
        }
    }
    free(out);
    assert_true(n_specs >= 30); /* hsm alone has 20 */
}

static bool required(const char *w)
{
    return w[strlen(w) - 1] == '!';
}

/* A well-formed value for a value name, or the path under test for file-like ones. */
static const char *value_for(const char *meta, const char *path)
{
    static const struct { const char *meta, *value; } V[] = {
        {"ID", "0x0064"}, {"W", "0x00ff"}, {"TYPE", "asymmetric-key"}, {"T", "asymmetric-key"},
        {"N", "16"}, {"D", "1"}, {"C", "sign-pkcs"}, {"A", "rsa2048"}, {"H", "sha256"},
        {"M", "pkcs1"}, {"NAME", "platform"}, {"ALGORITHM", "SHA256_RSA2048"},
        {"VALUE", "on"}, {"L", "label"}, {"S", "/CN=x"}, {"R", "apk"}, {"VAR", "NO_SUCH_VAR"},
        {"URL", "http://127.0.0.1:1"}, {"COMMIT", "HEAD"}, {"N:DIGEST", "1:00112233445566778899aabbccddeeff"},
        {"TEXT", "hello"}, {"KEY", "platform"}, {"THRESHOLD", "2"}, {"SHARES", "3"},
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++)
        if (strcmp(meta, V[i].meta) == 0)
            return V[i].value;
    return path;
}

/* Appends the words of s to cmd: every required one (except `skip`), with path for
 * file-like values, and `extra` at the end. */
static void build(char *cmd, size_t cap, const struct spec *s, const char *path, size_t skip,
                  const char *extra)
{
    size_t o = (size_t)snprintf(cmd, cap, "%s '%s' -q %s%s%s", env, test_bin("signet"), s->group,
                                strcmp(s->cmd, "-") ? " " : "", strcmp(s->cmd, "-") ? s->cmd : "");
    for (size_t i = 0; i < s->n; i++) {
        const char *w = s->words[i];
        if (i == skip || !required(w))
            continue;
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)strlen(w) - 1, w);
        char *eq = strchr(name, '=');
        if (name[0] == '@') {
            char *dots = strstr(name, "...");
            if (dots)
                *dots = 0;
            o += (size_t)snprintf(cmd + o, cap - o, " '%s'", value_for(name + 1, path));
        } else if (eq) {
            *eq = 0;
            o += (size_t)snprintf(cmd + o, cap - o, " %s '%s'", name, value_for(eq + 1, path));
        } else {
            o += (size_t)snprintf(cmd + o, cap - o, " %s", name);
        }
    }
    snprintf(cmd + o, cap - o, "%s%s </dev/null", extra ? " " : "", extra ? extra : "");
}

/* Runs cmd; checks one line on stderr and an exit code from `allowed`. */
static int run_expect(const char *cmd, const int *allowed, size_t n_allowed, const char *fragment)
{
    char *err = NULL;
    int rc = run_cmd_full(cmd, NULL, 0, NULL, NULL, &err, 60);
    bool ok = false;
    for (size_t i = 0; i < n_allowed; i++)
        ok |= rc == allowed[i];
    size_t lines = 0;
    for (const char *p = err; p && *p; p++)
        lines += *p == '\n';
    bool one_line = err && lines == 1 && strncmp(err, "signet", 6) == 0 &&
                    err[strlen(err) - 1] == '\n';
    bool has = !fragment || (err && strstr(err, fragment));
    if (!ok || !one_line || !has)
        fprintf(stderr, "FAILED: %s\n  exit %d, stderr:\n%s\n", cmd, rc, err ? err : "(none)");
    free(err);
    return ok && one_line && has ? 0 : 1;
}

static size_t n_values(const struct spec *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += required(s->words[i]) && (s->words[i][0] == '@' || strchr(s->words[i], '='));
    return n;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/signet-badinput-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    /* No device can be reached, no configuration is read, no prompt can block. */
    snprintf(env, sizeof env,
             "cd '%s' && SIGNET_CONNECTOR=http://127.0.0.1:1 SIGNET_PASSWORD=x "
             "SIGNET_NEW_PASSWORD=y SIGNET_CONF= SIGNET_AUTH_KEY= setsid",
             tmpdir);
    load_specs();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return run_cmd(cmd, NULL) == 0 ? 0 : -1;
}

static const int USAGE[] = {2};
/* A file the command reads before the device: 6 (missing) or 7 (not a file); one it
 * writes after the device: 4 (the closed connector); 2 when the command refuses it
 * earlier (e.g. a key file that must exist). */
static const int FILE_CODES[] = {2, 4, 6, 7};

static void unknown_option(void **state)
{
    (void)state;
    int failures = 0;
    char cmd[4096];
    for (size_t i = 0; i < n_specs; i++) {
        const struct spec *s = &specs[i];
        if (strcmp(s->cmd, "*") == 0) { /* a group not yet declared as a table */
            snprintf(cmd, sizeof cmd, "%s '%s' -q %s --no-such-option </dev/null", env,
                     test_bin("signet"), s->group);
            failures += run_expect(cmd, USAGE, 1, NULL);
            continue;
        }
        /* Both spellings, alternating (each run costs a process under ASan). */
        const char *bad = i % 2 ? "--no-such-option" : "-typo";
        char want[64];
        snprintf(want, sizeof want, "unknown option '%s'", bad);
        build(cmd, sizeof cmd, s, "/nonexistent/file", (size_t)-1, bad);
        failures += run_expect(cmd, USAGE, 1, want);
    }
    assert_int_equal(failures, 0);
}

static void missing_argument(void **state)
{
    (void)state;
    int failures = 0, runs = 0;
    char cmd[4096];
    for (size_t i = 0; i < n_specs; i++) {
        const struct spec *s = &specs[i];
        if (strcmp(s->cmd, "*") == 0)
            continue;
        for (size_t k = 0; k < s->n; k++) {
            if (!required(s->words[k]))
                continue;
            /* A left-out argument shifts the next one into its place, which may then
             * fail to parse: still a usage error. */
            build(cmd, sizeof cmd, s, "/nonexistent/file", k, NULL);
            failures += run_expect(cmd, USAGE, 1, s->words[k][0] == '@' ? NULL : "missing");
            runs++;
        }
        /* An option at the end without its value. */
        for (size_t k = 0; k < s->n; k++) {
            char name[80];
            snprintf(name, sizeof name, "%s", s->words[k]);
            char *eq = strchr(name, '=');
            if (name[0] == '@' || !eq)
                continue;
            *eq = 0;
            build(cmd, sizeof cmd, s, "/nonexistent/file", (size_t)-1, name);
            failures += run_expect(cmd, USAGE, 1, "needs a value");
            runs++;
            break;
        }
    }
    assert_true(runs > 40);
    assert_int_equal(failures, 0);
}

static void missing_file_and_directory(void **state)
{
    (void)state;
    int failures = 0;
    char cmd[4096], dir[300];
    snprintf(dir, sizeof dir, "%s/a-directory", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    for (size_t i = 0; i < n_specs; i++) {
        const struct spec *s = &specs[i];
        if (strcmp(s->cmd, "*") == 0 || n_values(s) == 0)
            continue;
        build(cmd, sizeof cmd, s, "/nonexistent/file", (size_t)-1, NULL);
        failures += run_expect(cmd, FILE_CODES, 4, NULL);
        build(cmd, sizeof cmd, s, dir, (size_t)-1, NULL);
        failures += run_expect(cmd, FILE_CODES, 4, NULL);
    }
    assert_int_equal(failures, 0);
}

/* Every group and command answers --help (and -h) with its usage on standard output,
 * nothing on standard error, and exit 0, as docs/signet.1.md's SYNOPSIS promises. */
static int run_help(const char *args)
{
    char cmd[1024], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "%s '%s' %s </dev/null", env, test_bin("signet"), args);
    int rc = run_cmd_full(cmd, NULL, 0, &out, NULL, &err, 60);
    bool ok = rc == 0 && out && strncmp(out, "usage: signet", 13) == 0 && (!err || !*err);
    /* One-letter options are shown as -w, as signapk spells them, never as --w. */
    for (const char *p = out; ok && (p = strstr(p, "--")); p += 2)
        ok = !(p[2] && strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", p[2]) &&
               (p[3] == ' ' || p[3] == ']' || p[3] == ','));
    if (!ok)
        fprintf(stderr, "FAILED: signet %s\n  exit %d, stdout: %.80s\n  stderr: %s\n", args, rc,
                out ? out : "(none)", err ? err : "(none)");
    free(out);
    free(err);
    return ok ? 0 : 1;
}

static void help_everywhere(void **state)
{
    (void)state;
    int failures = run_help("--help") + run_help("-h");
    char args[256];
    for (size_t i = 0; i < n_specs; i++) {
        const struct spec *s = &specs[i];
        if (i == 0 || strcmp(s->group, specs[i - 1].group) != 0) {
            snprintf(args, sizeof args, "%s --help", s->group);
            failures += run_help(args);
        }
        if (strcmp(s->cmd, "-") == 0 || strcmp(s->cmd, "*") == 0)
            continue;
        snprintf(args, sizeof args, "%s %s %s", s->group, s->cmd, i % 2 ? "--help" : "-h");
        failures += run_help(args);
    }
    assert_int_equal(failures, 0);
}

static char *read_doc(const char *name)
{
    const char *src = getenv("SIGNET_SOURCE_DIR");
    assert_non_null(src);
    static char *text; /* static: GCC's -Wdangling-pointer misreads a local here */
    char path[512];
    snprintf(path, sizeof path, "%s/docs/%s", src, name);
    assert_int_equal(test_read_file(path, &text, NULL), 0);
    return text;
}

static bool is_group(const char *g)
{
    for (size_t i = 0; i < n_specs; i++)
        if (strcmp(specs[i].group, g) == 0)
            return true;
    return false;
}

static bool is_command(const char *g, const char *c)
{
    for (size_t i = 0; i < n_specs; i++)
        if (strcmp(specs[i].group, g) == 0 && strcmp(specs[i].cmd, c) == 0)
            return true;
    return false;
}

/* docs/signet.1.md names every command (as `signet G C...`, or as `C` in its group's
 * row of the table of groups with their own manual), and names no command that does
 * not exist. */
static void manual_matches_commands(void **state)
{
    (void)state;
    char *man = read_doc("signet.1.md");
    int failures = 0;
    for (size_t i = 0; i < n_specs; i++) {
        const struct spec *s = &specs[i];
        char want[160], row[96];
        bool alone = strcmp(s->cmd, "-") == 0 || strcmp(s->cmd, "*") == 0;
        snprintf(want, sizeof want, "`signet %s%s%s", s->group, alone ? "" : " ",
                 alone ? "" : s->cmd);
        bool found = false;
        for (const char *p = man; !found && (p = strstr(p, want)); p++) {
            char next = p[strlen(want)];
            found = next == ' ' || next == '`';
        }
        snprintf(row, sizeof row, "\n| `%s` |", s->group);
        const char *r = strstr(man, row);
        if (!found && r && !alone) {
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)strcspn(r + 1, "\n"), r + 1);
            snprintf(want, sizeof want, "`%s`", s->cmd);
            found = strstr(line, want) != NULL;
        }
        if (!found) {
            fprintf(stderr, "FAILED: docs/signet.1.md does not name `signet %s %s`\n", s->group,
                    s->cmd);
            failures++;
        }
    }
    /* The other way: each `signet G C` of the manual is a real group and command. */
    for (const char *p = man; (p = strstr(p, "`signet ")); p++) {
        char g[64] = "", c[64] = "";
        if (sscanf(p + 8, "%63[a-z0-9-] %63[a-z0-9-]", g, c) < 1 || g[0] == '-') /* a global option */
            continue;
        if (!is_group(g)) {
            fprintf(stderr, "FAILED: docs/signet.1.md names unknown group `signet %s`\n", g);
            failures++;
        } else if (*c && !is_command(g, "-") && !is_command(g, c)) {
            fprintf(stderr, "FAILED: docs/signet.1.md names unknown command `signet %s %s`\n", g, c);
            failures++;
        }
    }
    free(man);
    assert_int_equal(failures, 0);
}

/* The crashes this test was written for, with the exit code each must give. */
static void known_crashes(void **state)
{
    (void)state;
    static const struct { const char *args; int rc; } C[] = {
        {"sign --key platform -in /nonexistent -out x", 6},
        {"payload-sign --key platform -in /nonexistent -out x", 6},
        {"audit anchor /nonexistent", 6},
        {"audit checkpoint /nonexistent", 6},
        {"audit anchor --typo", 2},
        {"audit drain --typo", 2},
        {"ceremony roles --bogus", 2},
    };
    int failures = 0;
    char cmd[2048];
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s '%s' -q %s </dev/null", env, test_bin("signet"), C[i].args);
        failures += run_expect(cmd, &C[i].rc, 1, NULL);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_crashes),
        cmocka_unit_test(unknown_option),
        cmocka_unit_test(missing_argument),
        cmocka_unit_test(missing_file_and_directory),
        cmocka_unit_test(help_everywhere),
        cmocka_unit_test(manual_matches_commands),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
