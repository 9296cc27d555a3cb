/* APEX payload file systems for `signet release sign` (signet_release_fs_ops): ext4
 * unpacked with debugfs and rebuilt with mke2fs -d (e2fsprogs), EROFS unpacked with
 * fsck.erofs and rebuilt with mkfs.erofs (erofs-utils), as releasetools' deapexer and
 * apexer do.  Each rebuild keeps the old file system's parameters (block size, UUID,
 * hash seed, inode size, label, compression) and gives every inode one fixed
 * timestamp (the old file system's creation time), as apexer's e2fsdroid -T does, so
 * the same input rebuilds to the same bytes and a rerun hits the signing cache.
 * ext4: the security.* extended attributes of every inode (SELinux labels, file
 * capabilities, as apexer's e2fsdroid wrote them from file_contexts and
 * canned_fs_config) are read from the old image with debugfs ea_list / ea_get and
 * set again, byte for byte, in the rebuilt one (ea_set).
 * Within one run (cli_release_fs_cache) each distinct payload is unpacked once and
 * later opens copy the kept tree: unpacking (debugfs rdump and two debugfs passes for
 * the attributes) costs far more than a copy.
 * Programs run without a shell; their output goes to /dev/null. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file_io.h"
#include "release_fs.h"
#include "signet/file.h"
#include "signet/hash.h"

#define FS_MAX ((size_t)0xffffffffu)
#define EXT4_MAGIC_OFF (1024 + 0x38)
#define EROFS_SB 1024

struct signet_release_fs {
    char dir[64];       /* private temporary directory */
    char tree[96];      /* dir/x: the unpacked file system */
    bool erofs;
    uint8_t sb[1024];   /* the old superblock */
    size_t old_len;
    uint64_t growth;    /* bytes the rewritten files grew by */
    signet_rc walk_rc;  /* why the walk stopped */
    char **apks, **all; /* relative paths: APKs; every file and directory */
    size_t n_apks, n_all, cap_all;
    struct fs_xattr *xattrs; /* ext4: security.* attributes of the old image */
    size_t n_xattrs;
    cli_release_fs_cache *cache; /* where an unchanged tree is kept on close, or NULL */
    uint8_t sha[32];             /* the payload's SHA-256 (with cache) */
    bool changed;                /* written or rebuilt: no longer the payload's tree */
};

struct fs_cached {
    uint8_t sha[32];
    signet_release_fs *fs; /* unchanged unpacked tree */
};

/* One extended attribute of the old image: its value was saved to dir/ea/<index>. */
struct fs_xattr {
    size_t path;   /* index in all[], or n_all for the root directory */
    char name[64]; /* security.selinux, security.capability, ... */
};

#define MAX_XATTRS 100000

/* Runs argv; stdout into the file stdout_path when given, else to /dev/null. */
static signet_rc run_out(const char *what, const char *fake_time, char *const argv[],
                         const char *stdout_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return signet_fail(SIGNET_E_IO, "cannot start %s: %s", argv[0], strerror(errno));
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        if (stdout_path) {
            int o = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (o < 0 || dup2(o, 1) < 0)
                _exit(126);
        }
        if (fake_time)
            setenv("E2FSPROGS_FAKE_TIME", fake_time, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    if (code == 127)
        return signet_fail(SIGNET_E_NOTFOUND, "cannot run %s: install %s", argv[0],
                           strstr(argv[0], "erofs") ? "erofs-utils" : "e2fsprogs");
    return code == 0 ? SIGNET_OK
                     : signet_fail(SIGNET_E_IO, "%s failed (%s exit status %d)", what, argv[0],
                                   code);
}

static signet_rc run(const char *what, const char *fake_time, char *const argv[])
{
    return run_out(what, fake_time, argv, NULL);
}

static struct signet_release_fs *walking; /* nftw has no context argument */

static signet_rc add_path(char ***v, size_t *n, size_t *cap, const char *p)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 32;
        char **nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        *v = nv;
        *cap = c;
    }
    if (!((*v)[*n] = strdup(p)))
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    (*n)++;
    return SIGNET_OK;
}

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    struct signet_release_fs *fs = walking;
    const char *rel = path + strlen(fs->tree);
    rel = *rel == '/' ? rel + 1 : rel;
    /* debugfs commands quote paths: refuse names that could break out of a quote. */
    for (const char *c = rel; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\' || (unsigned char)*c == 0x7f) {
            fs->walk_rc = signet_fail(SIGNET_E_UNSUPPORTED, "the payload holds a file name "
                                                            "with a quote or control "
                                                            "character: %.100s",
                                      rel);
            return 1;
        }
    if (type != FTW_F && type != FTW_D && type != FTW_SL && type != FTW_DP) {
        fs->walk_rc = signet_fail(SIGNET_E_IO, "cannot read %s in the unpacked payload", path);
        return 1;
    }
    size_t cap_apks = fs->n_apks; /* grown one at a time: few APKs per payload */
    size_t l = strlen(rel);
    fs->walk_rc = add_path(&fs->all, &fs->n_all, &fs->cap_all, rel);
    if (fs->walk_rc == SIGNET_OK && type == FTW_F && l > 4 && strcmp(rel + l - 4, ".apk") == 0)
        fs->walk_rc = add_path(&fs->apks, &fs->n_apks, &cap_apks, rel);
    return fs->walk_rc != SIGNET_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fs_destroy(signet_release_fs *fs)
{
    if (!fs)
        return;
    if (fs->dir[0]) {
        char *argv[] = {"rm", "-rf", fs->dir, NULL};
        (void)run("removing the unpacked payload", NULL, argv);
    }
    for (size_t i = 0; i < fs->n_apks; i++)
        free(fs->apks[i]);
    for (size_t i = 0; i < fs->n_all; i++)
        free(fs->all[i]);
    free(fs->apks), free(fs->all), free(fs->xattrs);
    free(fs);
}

static signet_release_fs *cache_find(const cli_release_fs_cache *c, const uint8_t sha[32])
{
    for (size_t i = 0; c && i < c->n; i++)
        if (memcmp(c->v[i].sha, sha, 32) == 0)
            return c->v[i].fs;
    return NULL;
}

/* An unchanged tree of a payload not yet kept is kept for later opens. */
static void fs_close(signet_release_fs *fs)
{
    cli_release_fs_cache *c = fs ? fs->cache : NULL;
    if (c && !fs->changed && !cache_find(c, fs->sha)) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 8;
            struct fs_cached *v = realloc(c->v, cap * sizeof *v);
            if (v)
                c->v = v, c->cap = cap;
        }
        if (c->n < c->cap) {
            memcpy(c->v[c->n].sha, fs->sha, 32);
            c->v[c->n++].fs = fs;
            return;
        }
    }
    fs_destroy(fs);
}

void cli_release_fs_cache_free(cli_release_fs_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        fs_destroy(c->v[i].fs);
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

static signet_rc make_dir(signet_release_fs *fs)
{
    snprintf(fs->dir, sizeof fs->dir, "%s/signet-apex-XXXXXX",
             getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 30 ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(fs->dir)) {
        fs->dir[0] = 0;
        return signet_fail(SIGNET_E_IO, "cannot make a temporary directory: %s", strerror(errno));
    }
    snprintf(fs->tree, sizeof fs->tree, "%s/x", fs->dir);
    return SIGNET_OK;
}

static signet_rc dup_paths(char ***out, char *const *v, size_t n)
{
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!((*out)[i] = strdup(v[i])))
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
    return SIGNET_OK;
}

/* A private copy of a kept tree (with its saved attribute values), to be changed. */
static signet_rc fs_copy(cli_release_fs_cache *c, const signet_release_fs *t,
                         signet_release_fs **out)
{
    signet_release_fs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    fs->erofs = t->erofs;
    fs->old_len = t->old_len;
    memcpy(fs->sb, t->sb, sizeof fs->sb);
    memcpy(fs->sha, t->sha, sizeof fs->sha);
    signet_rc rc = make_dir(fs);
    char src[80];
    snprintf(src, sizeof src, "%s/.", t->dir);
    char *cp[] = {"cp", "-a", src, fs->dir, NULL};
    if (rc == SIGNET_OK)
        rc = run("copying the unpacked payload", NULL, cp);
    if (rc == SIGNET_OK && (rc = dup_paths(&fs->all, t->all, t->n_all)) == SIGNET_OK)
        fs->n_all = fs->cap_all = t->n_all;
    if (rc == SIGNET_OK && (rc = dup_paths(&fs->apks, t->apks, t->n_apks)) == SIGNET_OK)
        fs->n_apks = t->n_apks;
    if (rc == SIGNET_OK && t->n_xattrs) {
        if (!(fs->xattrs = malloc(t->n_xattrs * sizeof *fs->xattrs)))
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        else
            memcpy(fs->xattrs, t->xattrs, t->n_xattrs * sizeof *fs->xattrs);
        fs->n_xattrs = rc == SIGNET_OK ? t->n_xattrs : 0;
    }
    if (rc != SIGNET_OK) {
        fs_destroy(fs);
        return rc;
    }
    fs->cache = c;
    c->reused++;
    *out = fs;
    return SIGNET_OK;
}

static signet_rc list_tree(signet_release_fs *fs)
{
    for (size_t i = 0; i < fs->n_all; i++)
        free(fs->all[i]);
    for (size_t i = 0; i < fs->n_apks; i++)
        free(fs->apks[i]);
    fs->n_all = fs->n_apks = 0;
    walking = fs;
    int r = nftw(fs->tree, walk_one, 16, FTW_PHYS);
    walking = NULL;
    if (r != 0)
        return r < 0 ? signet_fail(SIGNET_E_IO, "cannot list %s: %s", fs->tree, strerror(errno))
                     : fs->walk_rc;
    if (fs->n_apks)
        qsort(fs->apks, fs->n_apks, sizeof *fs->apks, str_cmp);
    return SIGNET_OK;
}

/* The path of inode entry i as debugfs names it ("/" for the root). */
static void dbg_path(const signet_release_fs *fs, size_t i, char *out, size_t n)
{
    snprintf(out, n, "/%s", i < fs->n_all ? fs->all[i] : "");
}

/* debugfs ea_list output: "debugfs: CMD" opens the next command's part, and each
 * attribute is a line "  NAME (LENGTH) = VALUE".  Keeps the security.* names. */
static signet_rc parse_ea_list(signet_release_fs *fs, const char *listing)
{
    const char *p = listing;
    size_t cmd = 0, cap = 0;
    bool started = false;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= 9 && memcmp(p, "debugfs: ", 9) == 0) {
            cmd += started;
            started = true;
        } else if (started && len > 11 && memcmp(p, "  security.", 11) == 0) {
            size_t nlen = strcspn(p + 2, " \n");
            if (cmd > fs->n_all || nlen >= sizeof fs->xattrs->name)
                return signet_fail(SIGNET_E_PARSE, "unexpected debugfs ea_list output: %.80s",
                                   p);
            for (size_t k = 0; k < nlen; k++) {
                char c = p[2 + k];
                if (!(c == '.' || c == '_' || c == '-' || (c >= '0' && c <= '9') ||
                      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
                    return signet_fail(SIGNET_E_UNSUPPORTED,
                                       "the payload has an extended attribute with an "
                                       "unusual name: %.80s", p + 2);
            }
            if (fs->n_xattrs == MAX_XATTRS)
                return signet_fail(SIGNET_E_UNSUPPORTED, "the payload has more than %d "
                                   "extended attributes", MAX_XATTRS);
            if (fs->n_xattrs == cap) {
                cap = cap ? 2 * cap : 64;
                struct fs_xattr *v = realloc(fs->xattrs, cap * sizeof *v);
                if (!v)
                    return signet_fail(SIGNET_E_NOMEM, "out of memory");
                fs->xattrs = v;
            }
            struct fs_xattr *x = &fs->xattrs[fs->n_xattrs++];
            x->path = cmd == fs->n_all ? fs->n_all : cmd;
            memcpy(x->name, p + 2, nlen);
            x->name[nlen] = 0;
        }
        p += len + (nl != NULL);
    }
    return SIGNET_OK;
}

/* The security.* attributes of every inode of the old ext4 image (img_path): names
 * from one debugfs run of ea_list, values saved to dir/ea/N by a second (ea_get -f).
 * Commands: all[0..n_all-1], then the root directory. */
static signet_rc read_xattrs(signet_release_fs *fs, const char *img_path)
{
    char script[96], listing[96], eadir[96], p[4200];
    snprintf(script, sizeof script, "%s/ea.cmds", fs->dir);
    snprintf(listing, sizeof listing, "%s/ea.out", fs->dir);
    snprintf(eadir, sizeof eadir, "%s/ea", fs->dir);
    FILE *f = fopen(script, "w");
    if (!f)
        return signet_fail(SIGNET_E_IO, "cannot write %s: %s", script, strerror(errno));
    for (size_t i = 0; i <= fs->n_all; i++) {
        dbg_path(fs, i, p, sizeof p);
        fprintf(f, "ea_list \"%s\"\n", p);
    }
    if (fclose(f) != 0)
        return signet_fail(SIGNET_E_IO, "cannot write %s", script);
    char *list[] = {"debugfs", "-f", script, (char *)img_path, NULL};
    signet_rc rc = run_out("reading the payload's extended attributes", NULL, list, listing);
    sb_wr out;
    sbw_init(&out, 0); /* cli_read_file sets it up again */
    if (rc == SIGNET_OK)
        rc = cli_read_file(listing, 64u << 20, &out);
    if (rc == SIGNET_OK && sbw_u8(&out, 0) != SIGNET_OK)
        rc = signet_fail(SIGNET_E_NOMEM, "the debugfs ea_list output is too large");
    if (rc == SIGNET_OK)
        rc = parse_ea_list(fs, (const char *)out.p);
    sbw_free(&out);
    if (rc != SIGNET_OK || fs->n_xattrs == 0)
        return rc;
    if (mkdir(eadir, 0700) != 0)
        return signet_fail(SIGNET_E_IO, "cannot make %s: %s", eadir, strerror(errno));
    if (!(f = fopen(script, "w")))
        return signet_fail(SIGNET_E_IO, "cannot write %s: %s", script, strerror(errno));
    for (size_t i = 0; i < fs->n_xattrs; i++) {
        dbg_path(fs, fs->xattrs[i].path, p, sizeof p);
        fprintf(f, "ea_get -f \"%s/%zu\" \"%s\" %s\n", eadir, i, p, fs->xattrs[i].name);
    }
    if (fclose(f) != 0)
        return signet_fail(SIGNET_E_IO, "cannot write %s", script);
    rc = run("reading the payload's extended attributes", NULL, list);
    /* Every value must have been saved: a missing file would drop a label. */
    for (size_t i = 0; rc == SIGNET_OK && i < fs->n_xattrs; i++) {
        struct stat st;
        snprintf(p, sizeof p, "%s/%zu", eadir, i);
        if (stat(p, &st) != 0)
            rc = signet_fail(SIGNET_E_IO, "debugfs did not save the %s attribute of /%s",
                             fs->xattrs[i].name,
                             fs->xattrs[i].path < fs->n_all ? fs->all[fs->xattrs[i].path] : "");
    }
    return rc;
}

static signet_rc fs_open(void *ctx, const char *member, const uint8_t *img, size_t len,
                         signet_release_fs **out, const char *const **apks, size_t *n_apks)
{
    cli_release_fs_cache *cache = ctx;
    *out = NULL;
    bool ext4 = len > EXT4_MAGIC_OFF + 2 && img[EXT4_MAGIC_OFF] == 0x53 &&
                img[EXT4_MAGIC_OFF + 1] == 0xef;
    bool erofs = len > EROFS_SB + 4 && img[EROFS_SB] == 0xe2 && img[EROFS_SB + 1] == 0xe1 &&
                 img[EROFS_SB + 2] == 0xf5 && img[EROFS_SB + 3] == 0xe0;
    if (!ext4 && !erofs)
        return signet_fail(SIGNET_E_UNSUPPORTED, "%s: the payload is neither ext4 nor EROFS",
                           member);
    if (len < 2048)
        return signet_fail(SIGNET_E_PARSE, "%s: the payload is too short", member);
    uint8_t sha[32];
    if (cache && signet_sha256(img, len, sha) != SIGNET_OK)
        return signet_wrap(SIGNET_E_CRYPTO, "%s", member);
    const signet_release_fs *kept = cache ? cache_find(cache, sha) : NULL;
    if (kept) {
        signet_rc rc = fs_copy(cache, kept, out);
        if (rc != SIGNET_OK)
            return signet_wrap(rc, "%s", member);
        *apks = (const char *const *)(*out)->apks;
        *n_apks = (*out)->n_apks;
        return SIGNET_OK;
    }
    signet_release_fs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    fs->erofs = erofs;
    fs->old_len = len;
    memcpy(fs->sb, img + 1024, sizeof fs->sb);
    if (make_dir(fs) != SIGNET_OK) {
        fs_destroy(fs);
        return signet_wrap(SIGNET_E_IO, "%s", member);
    }
    char img_path[96], extract[128];
    snprintf(img_path, sizeof img_path, "%s/payload.img", fs->dir);
    snprintf(extract, sizeof extract, "--extract=%s", fs->tree);
    signet_rc rc = signet_file_replace(img_path, img, len, 0600, false);
    if (rc == SIGNET_OK && ext4 && mkdir(fs->tree, 0700) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot make %s: %s", fs->tree, strerror(errno));
    char rdump[160];
    snprintf(rdump, sizeof rdump, "rdump / %s", fs->tree);
    char *dbg[] = {"debugfs", "-R", rdump, img_path, NULL};
    char *fsck[] = {"fsck.erofs", extract, img_path, NULL};
    if (rc == SIGNET_OK)
        rc = run("unpacking the payload", NULL, ext4 ? dbg : fsck);
    if (rc == SIGNET_OK)
        rc = list_tree(fs);
    if (rc == SIGNET_OK && ext4)
        rc = read_xattrs(fs, img_path);
    if (rc == SIGNET_OK && unlink(img_path) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot remove %s: %s", img_path, strerror(errno));
    if (rc != SIGNET_OK) {
        fs_destroy(fs);
        return signet_wrap(rc, "%s", member);
    }
    if (cache) {
        fs->cache = cache;
        memcpy(fs->sha, sha, sizeof sha);
        cache->unpacked++;
    }
    *out = fs;
    *apks = (const char *const *)fs->apks;
    *n_apks = fs->n_apks;
    return SIGNET_OK;
}

static signet_rc fs_read(signet_release_fs *fs, const char *path, sb_wr *out)
{
    char full[4200];
    snprintf(full, sizeof full, "%s/%s", fs->tree, path);
    return cli_read_file(full, FS_MAX, out);
}

static signet_rc fs_write(signet_release_fs *fs, const char *path, const uint8_t *p, size_t n)
{
    char full[4200];
    snprintf(full, sizeof full, "%s/%s", fs->tree, path);
    fs->changed = true;
    struct stat st;
    if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode))
        return signet_fail(SIGNET_E_IO, "%s is not a file in the unpacked payload", path);
    if (n > (size_t)st.st_size)
        fs->growth += n - (size_t)st.st_size;
    return signet_file_replace(full, p, n, st.st_mode & 07777, false);
}

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void uuid_str(const uint8_t *u, char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

/* mke2fs -d with the old superblock's parameters, then every inode's times set to
 * the old creation time through debugfs (mke2fs copies the unpacked files' ctime). */
static signet_rc rebuild_ext4(signet_release_fs *fs, const char *img)
{
    const uint8_t *sb = fs->sb;
    unsigned log = le32_at(sb + 0x18);
    if (log > 6)
        return signet_fail(SIGNET_E_PARSE, "the ext4 payload's block size 2^%u KiB is invalid",
                           log);
    uint32_t block = 1024u << log, inodes = le32_at(sb + 0x00);
    uint64_t blocks = le32_at(sb + 0x04) + (fs->growth + block - 1) / block + 16;
    unsigned isize = (unsigned)(sb[0x58] | sb[0x59] << 8);
    bool journal = le32_at(sb + 0x5c) & 0x4;
    char uuid[37], seed[37], label[17], fake[24], bs[16], is[16], ino[16], cnt[24], ext[80];
    uuid_str(sb + 0x68, uuid);
    uuid_str(sb + 0xec, seed);
    memcpy(label, sb + 0x78, 16);
    label[16] = 0;
    for (char *c = label; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '_';
    snprintf(fake, sizeof fake, "%u", le32_at(sb + 0x108));
    snprintf(bs, sizeof bs, "%u", block);
    snprintf(is, sizeof is, "%u", isize ? isize : 256);
    snprintf(ino, sizeof ino, "%u", inodes);
    snprintf(cnt, sizeof cnt, "%llu", (unsigned long long)blocks);
    /* A null hash seed would make mke2fs pick a random one. */
    bool seed_null = strcmp(seed, "00000000-0000-0000-0000-000000000000") == 0;
    snprintf(ext, sizeof ext, "root_owner=0:0,hash_seed=%s",
             seed_null ? "00000000-0000-0000-0000-000000000001" : seed);
    char *argv[32];
    size_t a = 0;
    char *fixed[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-b", bs, "-I", is, "-N", ino, "-m", "0",
                     "-U", uuid, "-E", ext};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[a++] = fixed[i];
    if (!journal)
        argv[a++] = "-O", argv[a++] = "^has_journal";
    if (label[0])
        argv[a++] = "-L", argv[a++] = label;
    argv[a++] = "-d", argv[a++] = fs->tree, argv[a++] = (char *)img, argv[a++] = cnt;
    argv[a] = NULL;
    signet_rc rc = run("rebuilding the ext4 payload", fake, argv);
    /* The times and the old security.* attributes: one debugfs script. */
    char script[96];
    snprintf(script, sizeof script, "%s/times", fs->dir);
    FILE *f = rc == SIGNET_OK ? fopen(script, "w") : NULL;
    if (rc == SIGNET_OK && !f)
        rc = signet_fail(SIGNET_E_IO, "cannot write %s: %s", script, strerror(errno));
    static const char *const fields[] = {"atime", "ctime", "mtime", "crtime"};
    for (size_t i = 0; f && i <= fs->n_all; i++) {
        const char *p = i < fs->n_all ? fs->all[i] : "lost+found";
        for (size_t k = 0; k < 4; k++)
            fprintf(f, "sif \"/%s\" %s @%s\nsif \"/%s\" %s_extra 0\n", p, fields[k], fake, p,
                    fields[k]);
    }
    for (size_t i = 0; f && i < fs->n_xattrs; i++) {
        char p[4200];
        dbg_path(fs, fs->xattrs[i].path, p, sizeof p);
        fprintf(f, "ea_set -f \"%s/ea/%zu\" \"%s\" %s\n", fs->dir, i, p, fs->xattrs[i].name);
    }
    if (f && fclose(f) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot write %s", script);
    char *dbg[] = {"debugfs", "-w", "-f", script, (char *)img, NULL};
    if (rc == SIGNET_OK)
        rc = run("setting the ext4 payload's timestamps", fake, dbg);
    return rc;
}

static signet_rc rebuild_erofs(signet_release_fs *fs, const char *img)
{
    const uint8_t *sb = fs->sb;
    char uuid[37], t[32], u[48];
    uuid_str(sb + 48, uuid);
    uint64_t build = (uint64_t)le32_at(sb + 24) | (uint64_t)le32_at(sb + 28) << 32;
    snprintf(t, sizeof t, "-T%llu", (unsigned long long)build);
    snprintf(u, sizeof u, "-U%s", uuid);
    bool compressed = le32_at(sb + 80) & 0x3; /* LZ4_0PADDING / COMPR_CFGS */
    char *argv[10];
    size_t a = 0;
    argv[a++] = "mkfs.erofs", argv[a++] = "--quiet", argv[a++] = t, argv[a++] = u;
    argv[a++] = "--all-root";
    if (compressed)
        argv[a++] = "-zlz4hc";
    argv[a++] = (char *)img, argv[a++] = fs->tree, argv[a] = NULL;
    return run("rebuilding the EROFS payload", NULL, argv);
}

static signet_rc fs_rebuild(signet_release_fs *fs, sb_wr *out)
{
    char img[96], lf[128];
    fs->changed = true;
    snprintf(img, sizeof img, "%s/new.img", fs->dir);
    /* apexer removes lost+found before rebuilding; mke2fs makes its own. */
    snprintf(lf, sizeof lf, "%s/lost+found", fs->tree);
    char *rm[] = {"rm", "-rf", lf, NULL};
    signet_rc rc = run("removing lost+found", NULL, rm);
    if (rc == SIGNET_OK)
        rc = fs->erofs ? rebuild_erofs(fs, img) : rebuild_ext4(fs, img);
    if (rc == SIGNET_OK)
        rc = cli_read_file(img, FS_MAX, out);
    return rc;
}

const signet_release_fs_ops cli_release_fs_ops = {
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .rebuild = fs_rebuild,
    .close = fs_close,
};
