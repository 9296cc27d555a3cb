/* Verifying the git history of a trail repository: every commit only appends to the
 * trail files, never changes the verifier key or the anchors, and every commit that
 * adds checkpoints leaves a trail whose checkpoints are signed and consistent.  Git
 * is run as a program (no shell), one command per question. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_internal.h"

static bool is_trail_path(const char *p)
{
    unsigned long s;
    char tail[8];
    if (strcmp(p, RECORDS_FILE) == 0 || strcmp(p, CHECKPOINTS_FILE) == 0 || strcmp(p, VKEY_FILE) == 0 ||
        strcmp(p, INCOMPLETE_FILE) == 0)
        return true;
    if (sscanf(p, "device-%lu%7s", &s, tail) == 2 && strcmp(tail, ".log") == 0)
        return true;
    return strncmp(p, ANCHOR_DIR "/", sizeof ANCHOR_DIR) == 0;
}

static bool is_immutable(const char *p)
{
    return strcmp(p, VKEY_FILE) == 0 || strncmp(p, ANCHOR_DIR "/", sizeof ANCHOR_DIR) == 0;
}

/* git -C repo <args...>; output NUL-terminated in out. */
static signet_rc git(const char *repo, const char *const *args, sb_wr *out, int *status)
{
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)"git";
    argv[n++] = (char *)"-C";
    argv[n++] = (char *)repo;
    for (; *args && n < 15; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    sbw_reset(out);
    signet_rc rc = run_capture(argv, out, status);
    return rc ? rc : sbw_u8(out, 0);
}

/* Lines of s (NUL-terminated, modified in place) into a malloc'd array. */
static char **split_lines(char *s, size_t *n)
{
    size_t cap = 16;
    char **v = malloc(cap * sizeof *v);
    *n = 0;
    char *save = NULL;
    for (char *l = strtok_r(s, "\n", &save); v && l; l = strtok_r(NULL, "\n", &save)) {
        if (*n == cap) {
            cap *= 2;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return NULL;
            }
            v = nv;
        }
        v[(*n)++] = l;
    }
    return v;
}

static signet_rc show(const char *repo, const char *commit, const char *path, sb_wr *out, bool *exists)
{
    char spec[PATH_MAX + 64];
    snprintf(spec, sizeof spec, "%s:%s", commit, path);
    const char *args[] = {"show", spec, NULL};
    int st;
    signet_rc rc = git(repo, args, out, &st);
    *exists = rc == SIGNET_OK && st == 0;
    if (out->len)
        out->len--; /* drop the NUL git() added */
    return rc;
}

/* Trail files of a commit. */
static signet_rc tree_files(const char *repo, const char *commit, sb_wr *buf, char ***files, size_t *n)
{
    const char *args[] = {"ls-tree", "-r", "--name-only", commit, NULL};
    int st;
    signet_rc rc = git(repo, args, buf, &st);
    if (rc)
        return rc;
    if (st != 0)
        return signet_fail(SIGNET_E_IO, "git ls-tree %s failed", commit);
    char **all = split_lines((char *)buf->p, n);
    if (!all)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (is_trail_path(all[i]))
            all[k++] = all[i];
    *n = k;
    *files = all;
    return SIGNET_OK;
}

/* Writes the trail files of `commit` into dir, then verifies them. */
static void verify_commit_trail(const char *repo, const char *commit, const char *vkey_path,
                                signet_report *rep)
{
    char dir[] = "/tmp/signet-gitverify-XXXXXX";
    if (!mkdtemp(dir)) {
        report_add(rep, SIGNET_FIND_HISTORY, NULL, 0, "cannot make a temporary directory: %s", strerror(errno));
        return;
    }
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", dir, ANCHOR_DIR);
    mkdir(sub, 0755);
    sb_wr list, content;
    sbw_init(&list, SIZE_MAX / 2);
    sbw_init(&content, SIZE_MAX / 2);
    char **files = NULL;
    size_t n = 0;
    if (tree_files(repo, commit, &list, &files, &n) == SIGNET_OK) {
        for (size_t i = 0; i < n; i++) {
            bool ex;
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            FILE *f;
            if (show(repo, commit, files[i], &content, &ex) == SIGNET_OK && ex && (f = fopen(path, "w"))) {
                fwrite(content.p, 1, content.len, f);
                fclose(f);
            }
        }
        signet_verify_opts o = {.vkey_path = vkey_path};
        signet_report *r = NULL;
        signet_trail_verify(dir, &o, &r);
        for (size_t i = 0; r && i < r->n; i++) {
            signet_finding *f = &r->f[i];
            if (f->kind == SIGNET_FIND_SIGNATURE || f->kind == SIGNET_FIND_ALTERED ||
                f->kind == SIGNET_FIND_FORK || f->kind == SIGNET_FIND_TRUNCATED || f->kind == SIGNET_FIND_VKEY)
                report_add(rep, f->kind, f->file, f->line, "at commit %.12s: %s", commit, f->msg);
        }
        signet_report_free(r);
        for (size_t i = 0; i < n; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            unlink(path);
        }
    }
    free(files);
    sbw_free(&list);
    sbw_free(&content);
    rmdir(sub);
    rmdir(dir);
}

/* Checks that `child` only appended to the trail files of `parent`. */
static signet_rc check_step(const char *repo, const char *parent, const char *child, signet_report *rep,
                            bool *checkpoints_grew)
{
    sb_wr list, a, b;
    sbw_init(&list, SIZE_MAX / 2);
    sbw_init(&a, SIZE_MAX / 2);
    sbw_init(&b, SIZE_MAX / 2);
    char **files = NULL;
    size_t n = 0;
    signet_rc rc = tree_files(repo, parent, &list, &files, &n);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        bool ea, eb;
        if ((rc = show(repo, parent, files[i], &a, &ea)) || (rc = show(repo, child, files[i], &b, &eb)))
            break;
        if (!eb) {
            report_add(rep, SIGNET_FIND_HISTORY, files[i], 0, "commit %.12s deleted %s", child, files[i]);
            continue;
        }
        if (is_immutable(files[i])) {
            if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
                report_add(rep, SIGNET_FIND_HISTORY, files[i], 0,
                           "commit %.12s changed %s, which never changes once written", child, files[i]);
            continue;
        }
        /* Only complete lines count: a torn tail may later be set aside. */
        size_t keep = a.len;
        while (keep && a.p[keep - 1] != '\n')
            keep--;
        if (b.len < keep || memcmp(a.p, b.p, keep) != 0) {
            uint64_t line = 1;
            for (size_t k = 0; k < keep && k < b.len && a.p[k] == b.p[k]; k++)
                line += a.p[k] == '\n';
            report_add(rep, SIGNET_FIND_HISTORY, files[i], line,
                       "commit %.12s changed %s other than by appending (first difference at line %llu)",
                       child, files[i], (unsigned long long)line);
        }
        if (strcmp(files[i], CHECKPOINTS_FILE) == 0 && b.len > a.len)
            *checkpoints_grew = true;
    }
    free(files);
    sbw_free(&list);
    sbw_free(&a);
    sbw_free(&b);
    return rc;
}

signet_rc signet_git_verify(const char *repo, const char *since, const char *vkey_path, signet_report **out)
{
    signet_report *rep = report_new();
    *out = rep;
    if (!rep)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    sb_wr buf;
    sbw_init(&buf, SIZE_MAX / 2);
    int st;
    const char *head[] = {"rev-parse", "--verify", "HEAD", NULL};
    signet_rc rc = git(repo, head, &buf, &st);
    if (rc == SIGNET_OK && st != 0)
        rc = signet_fail(SIGNET_E_NOTFOUND, "%s is not a git repository with commits", repo);
    char vkey_tmp[] = "/tmp/signet-vkey-XXXXXX";
    bool made_tmp = false;
    if (rc == SIGNET_OK && !vkey_path) {
        /* Without a key given, the one of the first commit that has it is trusted;
         * it may never change afterwards (checked per commit below). */
        const char *first[] = {"log", "--reverse", "--format=%H", "--", VKEY_FILE, NULL};
        rc = git(repo, first, &buf, &st);
        char *nl = rc == SIGNET_OK ? strchr((char *)buf.p, '\n') : NULL;
        if (nl) {
            *nl = 0;
            char commit[64];
            snprintf(commit, sizeof commit, "%s", (char *)buf.p);
            bool ex;
            int fd;
            if ((rc = show(repo, commit, VKEY_FILE, &buf, &ex)) == SIGNET_OK && ex &&
                (fd = mkstemp(vkey_tmp)) >= 0) {
                made_tmp = true;
                if (write(fd, buf.p, buf.len) != (ssize_t)buf.len)
                    rc = signet_fail(SIGNET_E_IO, "cannot write a temporary file");
                close(fd);
                vkey_path = vkey_tmp;
            }
        }
    }
    if (rc == SIGNET_OK && since) {
        const char *anc[] = {"merge-base", "--is-ancestor", since, "HEAD", NULL};
        if ((rc = git(repo, anc, &buf, &st)) == SIGNET_OK && st == 1)
            report_add(rep, SIGNET_FIND_HISTORY, NULL, 0,
                       "commit %s, verified before, is no longer an ancestor of HEAD: the history was "
                       "rewritten", since);
        else if (rc == SIGNET_OK && st != 0)
            report_add(rep, SIGNET_FIND_HISTORY, NULL, 0,
                       "commit %s, verified before, is not in the repository: the history was rewritten",
                       since);
    }
    const char *revs[] = {"rev-list", "--reverse", "--topo-order", "--parents", "HEAD", NULL};
    if (rc == SIGNET_OK)
        rc = git(repo, revs, &buf, &st);
    size_t n = 0;
    char **lines = rc == SIGNET_OK ? split_lines((char *)buf.p, &n) : NULL;
    if (rc == SIGNET_OK && !lines)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        /* "commit parent1 parent2 ..." */
        char *save = NULL;
        char *commit = strtok_r(lines[i], " ", &save);
        bool grew = false;
        char *parent;
        bool root = true;
        while (rc == SIGNET_OK && (parent = strtok_r(NULL, " ", &save))) {
            root = false;
            rc = check_step(repo, parent, commit, rep, &grew);
        }
        if (rc == SIGNET_OK && (grew || root))
            verify_commit_trail(repo, commit, vkey_path, rep);
    }
    free(lines);
    sbw_free(&buf);
    if (made_tmp)
        unlink(vkey_tmp);
    if (rc)
        return rc;
    return rep->n ? SIGNET_E_VERIFY : SIGNET_OK;
}
