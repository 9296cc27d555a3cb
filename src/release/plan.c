/* Building the plan from a target-files package's META files and member names.
 * What sign_target_files_apks.py decides, decided once and written down, failing
 * closed where AOSP passes silently: every problem is collected so one run lists
 * all of them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "release_internal.h"

#define AOSP_DEVKEY_DIR "build/make/target/product/security"

/* AOSP's -d mapping (BuildKeyMap), plus nfc as the key store's default set has it. */
static const struct { const char *dev, *rel; } AOSP_DEFAULTS[] = {
    {"testkey", "releasekey"},     {"devkey", "releasekey"},      {"platform", "platform"},
    {"shared", "shared"},          {"media", "media"},            {"networkstack", "networkstack"},
    {"bluetooth", "bluetooth"},    {"sdk_sandbox", "sdk_sandbox"}, {"nfc", "nfc"},
};

/* Members sign_target_files_apks handles and signet does not (yet): hard errors. */
static const struct { const char *path; bool suffix; const char *why; } UNSUPPORTED[] = {
    {"PREBUILT_IMAGES/pvmfw.img", false,
     "pvmfw embeds the virt APEX payload key; signet does not rewrite it"},
    {"PREBUILT_IMAGES/pvmfw_embedded.avbpubkey", false,
     "pvmfw embeds the virt APEX payload key; signet does not rewrite it"},
    {"BOOT/RAMDISK/force_debuggable", false, "a debuggable boot image must not be release-signed"},
    {"BOOT/RAMDISK/first_stage_ramdisk/force_debuggable", false,
     "a debuggable boot image must not be release-signed"},
    {"/userdebug_plat_sepolicy.cil", true, "a userdebug SELinux policy must not be release-signed"},
    {"etc/security/avb/system_other.avbpubkey", true,
     "system_other's AVB key is not replaced by signet yet"},
};

typedef struct {
    const signet_tf_meta *meta;
    const signet_release_mapping *map;
    char devkey_dir[512];
    signet_rplan *p;
    sb_wr *errors;
    size_t n_errors;
    signet_rc rc; /* first hard (non-plan) failure: out of memory */
} builder;

static void problem(builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(builder *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    b->n_errors++;
    if (b->errors && b->rc == SIGNET_OK)
        b->rc = sbw_printf(b->errors, "%s\n", line);
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const char *explicit_mapping(const signet_release_mapping *m, const char *dev)
{
    for (size_t i = 0; i < m->n; i++) /* full path first */
        if (strcmp(m->v[i].from, dev) == 0)
            return m->v[i].to;
    const char *base = basename_of(dev);
    for (size_t i = 0; i < m->n; i++)
        if (!strchr(m->v[i].from, '/') && strcmp(m->v[i].from, base) == 0)
            return m->v[i].to;
    return NULL;
}

static const char *aosp_default(const builder *b, const char *dev)
{
    const char *base = basename_of(dev);
    size_t dl = (size_t)(base - dev);
    if (dl == 0 || dl - 1 != strlen(b->devkey_dir) || memcmp(dev, b->devkey_dir, dl - 1) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof AOSP_DEFAULTS / sizeof AOSP_DEFAULTS[0]; i++)
        if (strcmp(base, AOSP_DEFAULTS[i].dev) == 0)
            return AOSP_DEFAULTS[i].rel;
    return NULL;
}

static char *xstrdup(builder *b, const char *s)
{
    char *p = s ? strdup(s) : NULL;
    if (s && !p && b->rc == SIGNET_OK)
        b->rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    return p;
}

/* Records release key `name` with `role` (the first role seen stays). */
static void add_key(builder *b, const char *name, const char *role)
{
    signet_rplan *p = b->p;
    if (signet_rplan_key_find(p, name))
        return;
    signet_rplan_key k;
    memset(&k, 0, sizeof k);
    if (signet_release_store_name(name, k.store) != SIGNET_OK) {
        problem(b, "release key name '%s' is not valid", name);
        return;
    }
    snprintf(k.role, sizeof k.role, "%s", role);
    if (!(k.name = xstrdup(b, name)))
        return;
    void *v = realloc(p->keys, (p->n_keys + 1) * sizeof *p->keys);
    if (!v) {
        free(k.name);
        b->rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        return;
    }
    p->keys = v;
    p->keys[p->n_keys++] = k;
}

static signet_rplan_item *add_item(builder *b, signet_rplan_kind kind, const char *member)
{
    signet_rplan *p = b->p;
    void *v = realloc(p->items, (p->n_items + 1) * sizeof *p->items);
    if (!v) {
        b->rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        return NULL;
    }
    p->items = v;
    signet_rplan_item *it = &p->items[p->n_items++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->member = xstrdup(b, member);
    return it;
}

/* Maps a development key: explicit, then AOSP defaults, then `fallback` (the
 * per-APEX / per-device name, may be NULL).  NULL and a problem when unmapped. */
static const char *map_key(builder *b, const char *member, const char *what, const char *dev,
                           const char *fallback)
{
    const char *rel = explicit_mapping(b->map, dev);
    if (!rel)
        rel = aosp_default(b, dev);
    if (!rel)
        rel = fallback;
    if (!rel)
        problem(b,
                "%s: %s '%s' has no release key: add --key-mapping %s=RELEASE_KEY (or a line "
                "in the mapping file)",
                member, what, dev, basename_of(dev));
    return rel;
}

static void plan_apk(builder *b, const char *member, const char *name, bool gz)
{
    const signet_apkcert *c = signet_apkcert_find(b->meta, name);
    if (!c) {
        problem(b, "%s: '%s' is not in META/apkcerts.txt, so its key is unknown: add it there "
                   "or give --key-mapping for it",
                member, name);
        return;
    }
    if (gz && (!c->compressed || strcmp(c->compressed, "gz") != 0))
        problem(b, "%s: stored as .apk.gz but apkcerts.txt does not say compressed=\"gz\"",
                member);
    if (!gz && c->compressed)
        problem(b, "%s: apkcerts.txt says compressed=\"%s\" but the member is not compressed",
                member, c->compressed);
    signet_rplan_item *it = add_item(b, SIGNET_RPLAN_APK, member);
    if (!it)
        return;
    it->gz = gz;
    it->dev_key = xstrdup(b, c->key);
    if (strcmp(c->key, "PRESIGNED") == 0 || strcmp(c->key, "EXTERNAL") == 0) {
        it->action = c->key[0] == 'P' ? SIGNET_RPLAN_PRESIGNED : SIGNET_RPLAN_EXTERNAL;
        it->key = xstrdup(b, "-");
        return;
    }
    const char *rel = map_key(b, member, "development key", c->key, NULL);
    it->key = xstrdup(b, rel ? rel : "-");
    if (rel)
        add_key(b, rel, "apk");
}

static void plan_apex(builder *b, const char *member, const char *name)
{
    const signet_apexkey *a = signet_apexkey_find(b->meta, name);
    if (!a) {
        problem(b, "%s: '%s' is not in META/apexkeys.txt, so its keys are unknown", member,
                name);
        return;
    }
    if (a->sign_tool) {
        problem(b, "%s: unsupported: its payload is signed by sign_tool '%s', which signet does "
                   "not run",
                member, a->sign_tool);
        return;
    }
    bool cpre = strcmp(a->container_key, "PRESIGNED") == 0;
    bool ppre = strcmp(a->payload_key, "PRESIGNED") == 0;
    if (cpre != ppre) {
        problem(b, "%s: only one of its payload and container keys is PRESIGNED (AOSP refuses "
                   "this too): fix META/apexkeys.txt",
                member);
        return;
    }
    signet_rplan_item *it = add_item(b, SIGNET_RPLAN_APEX, member);
    if (!it)
        return;
    it->dev_key = xstrdup(b, a->container_key);
    /* The payload key is named by its private key file; drop .pem as for the others. */
    size_t pl = strlen(a->payload_key);
    it->dev_payload = rl_ends_with(a->payload_key, ".pem")
                          ? rl_strndup(a->payload_key, pl - 4)
                          : xstrdup(b, a->payload_key);
    if (!it->dev_payload && b->rc == SIGNET_OK)
        b->rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (cpre) {
        it->action = SIGNET_RPLAN_PRESIGNED;
        it->key = xstrdup(b, "-");
        it->payload = xstrdup(b, "-");
        return;
    }
    char stem[256], cont[300], pay[300];
    snprintf(stem, sizeof stem, "%.*s", (int)(strlen(name) - 5), name);
    snprintf(cont, sizeof cont, "%s.container", stem);
    snprintf(pay, sizeof pay, "%s.payload", stem);
    /* A container key in the development directory (testkey, platform) follows
     * AOSP's defaults; otherwise the APEX's own pair. */
    const char *rc_ = map_key(b, member, "container key", a->container_key, cont);
    const char *rp = it->dev_payload ? explicit_mapping(b->map, it->dev_payload) : NULL;
    if (!rp)
        rp = pay;
    it->key = xstrdup(b, rc_ ? rc_ : "-");
    it->payload = xstrdup(b, rp);
    if (rc_)
        add_key(b, rc_, "apex");
    add_key(b, rp, "apex-payload");
}

static void plan_avb(builder *b)
{
    const signet_tf_meta *m = b->meta;
    for (size_t i = 0; i < m->n_misc; i++) {
        const char *k = m->misc[i].key;
        size_t kl = strlen(k);
        if (strncmp(k, "avb_", 4) != 0 || !rl_ends_with(k, "_key_path") || kl <= 4 + 9)
            continue;
        char part[128], alg_key[200];
        snprintf(part, sizeof part, "%.*s", (int)(kl - 4 - 9), k + 4);
        snprintf(alg_key, sizeof alg_key, "avb_%s_algorithm", part);
        const char *dev = m->misc[i].value;
        const char *alg = signet_misc_get(m, alg_key);
        if (!rl_token_ok(dev) || !rl_token_ok(part)) {
            problem(b, "misc_info.txt: %s is empty or has blanks", k);
            continue;
        }
        if (!alg || !rl_token_ok(alg)) {
            problem(b, "misc_info.txt: %s is set but %s is not", k, alg_key);
            continue;
        }
        char fallback[200] = "";
        if (b->map->device)
            snprintf(fallback, sizeof fallback, "avb_%s", b->map->device);
        char what[160];
        snprintf(what, sizeof what, "AVB key of %s", part);
        /* Key files in misc_info carry their suffix (.pem); map on the stem too. */
        char stem[512];
        snprintf(stem, sizeof stem, "%s", dev);
        if (rl_ends_with(stem, ".pem"))
            stem[strlen(stem) - 4] = 0;
        const char *rel = explicit_mapping(b->map, dev);
        if (!rel)
            rel = map_key(b, "misc_info.txt", what, stem, fallback[0] ? fallback : NULL);
        signet_rplan_item *it = add_item(b, SIGNET_RPLAN_AVB, part);
        if (!it)
            return;
        it->dev_key = xstrdup(b, dev);
        it->algorithm = xstrdup(b, alg);
        it->key = xstrdup(b, rel ? rel : "-");
        if (rel)
            add_key(b, rel, "avb");
    }
}

static void plan_member(builder *b, const char *member)
{
    size_t n = strlen(member);
    if (n == 0 || member[n - 1] == '/')
        return;
    if (!rl_token_ok(member)) {
        problem(b, "member '%.80s' has blanks or control characters in its name", member);
        return;
    }
    for (size_t i = 0; i < sizeof UNSUPPORTED / sizeof UNSUPPORTED[0]; i++)
        if (UNSUPPORTED[i].suffix ? rl_ends_with(member, UNSUPPORTED[i].path)
                                  : strcmp(member, UNSUPPORTED[i].path) == 0) {
            problem(b, "%s: unsupported: %s", member, UNSUPPORTED[i].why);
            return;
        }
    const char *base = basename_of(member);
    if (strstr(member, "/boot_otas/")) {
        problem(b, "%s: unsupported: boot OTA packages inside the build are not re-signed by "
                   "signet",
                member);
        return;
    }
    if (strncmp(base, "microdroid", 10) == 0 && rl_ends_with(base, ".img")) {
        problem(b, "%s: unsupported: microdroid images are not re-signed by signet", member);
        return;
    }
    if (strncmp(member, "IMAGES/", 7) == 0)
        return; /* rebuilt from the signed package, never signed in place */
    if (rl_ends_with(base, ".apex") || rl_ends_with(base, ".capex")) {
        char name[512];
        snprintf(name, sizeof name, "%s", base);
        if (rl_ends_with(name, ".capex"))
            snprintf(name + strlen(name) - 6, 8, ".apex");
        plan_apex(b, member, name);
    } else if (rl_ends_with(base, ".apk")) {
        plan_apk(b, member, base, false);
    } else if (rl_ends_with(base, ".apk.gz")) {
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(base) - 3), base);
        plan_apk(b, member, name, true);
    }
}

static void set_devkey_dir(builder *b)
{
    const char *dev = signet_misc_get(b->meta, "default_system_dev_certificate");
    if (b->map->devkey_dir)
        snprintf(b->devkey_dir, sizeof b->devkey_dir, "%s", b->map->devkey_dir);
    else if (dev && strrchr(dev, '/'))
        snprintf(b->devkey_dir, sizeof b->devkey_dir, "%.*s", (int)(strrchr(dev, '/') - dev), dev);
    else
        snprintf(b->devkey_dir, sizeof b->devkey_dir, "%s", AOSP_DEVKEY_DIR);
}

signet_rc signet_rplan_inner_apk(const signet_tf_meta *meta, const signet_release_mapping *map,
                                 const char *where, const char *name, char **key)
{
    *key = NULL;
    signet_rplan p;
    signet_rplan_init(&p);
    sb_wr errors;
    sbw_init(&errors, 1 << 16);
    builder b = {.meta = meta, .map = map, .p = &p, .errors = &errors};
    set_devkey_dir(&b);
    plan_apk(&b, where, name, false);
    signet_rc rc = b.rc;
    if (rc == SIGNET_OK && b.n_errors) {
        if (errors.len && errors.p[errors.len - 1] == '\n')
            errors.len--;
        rc = signet_fail(SIGNET_E_STATE, "%.*s", (int)errors.len, (const char *)errors.p);
    } else if (rc == SIGNET_OK && p.n_items == 1 && p.items[0].action == SIGNET_RPLAN_SIGN &&
               !(*key = strdup(p.items[0].key))) {
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    sbw_free(&errors);
    signet_rplan_free(&p);
    return rc;
}

signet_rc rl_inner_key(const signet_tf_meta *meta, const signet_release_mapping *map,
                       const char *member, const char *path, char *where, size_t where_cap,
                       char **key, char store[41])
{
    *key = NULL;
    snprintf(where, where_cap, "%s!/%s", member, path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    signet_rc rc = meta && map ? signet_rplan_inner_apk(meta, map, where, base, key)
                               : signet_fail(SIGNET_E_STATE, "%s: no apkcerts.txt to sign it",
                                             where);
    if (rc == SIGNET_OK && *key && (rc = signet_release_store_name(*key, store)) != SIGNET_OK) {
        free(*key);
        *key = NULL;
    }
    return rc;
}

static int item_cmp(const void *a, const void *b)
{
    const signet_rplan_item *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->member ? x->member : "", y->member ? y->member : "");
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const signet_rplan_key *)a)->name, ((const signet_rplan_key *)b)->name);
}

signet_rc signet_rplan_build(const signet_tf_meta *meta, const char *const *members,
                            size_t n_members, const signet_release_mapping *map,
                            const char *ota_key, signet_rplan *out, sb_wr *errors)
{
    builder b = {.meta = meta, .map = map, .p = out, .errors = errors};
    set_devkey_dir(&b);
    out->device = map->device ? xstrdup(&b, map->device) : NULL;

    /* A member name given twice would let one copy escape the plan. */
    const char **sorted = malloc((n_members ? n_members : 1) * sizeof *sorted);
    if (!sorted)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (n_members) {
        memcpy(sorted, members, n_members * sizeof *sorted);
        qsort(sorted, n_members, sizeof *sorted, str_cmp);
    }
    for (size_t i = 1; i < n_members; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            problem(&b, "%s: the package holds this member twice", sorted[i]);
    free(sorted);
    for (size_t i = 0; i < n_members; i++)
        plan_member(&b, members[i]);
    plan_avb(&b);
    /* The OTA key signs the OTA package; its certificate goes into otacerts.zip. */
    const char *ota = ota_key ? ota_key : "releasekey";
    out->ota_key = xstrdup(&b, ota);
    add_key(&b, ota, "ota");
    if (b.rc != SIGNET_OK)
        return b.rc;
    if (out->n_items)
        qsort(out->items, out->n_items, sizeof *out->items, item_cmp);
    if (out->n_keys)
        qsort(out->keys, out->n_keys, sizeof *out->keys, key_cmp);
    /* Two release names that shorten to one store name would share a key. */
    for (size_t i = 1; i < out->n_keys; i++)
        if (strcmp(out->keys[i - 1].store, out->keys[i].store) == 0)
            problem(&b, "release keys '%s' and '%s' would both be stored as '%s'",
                    out->keys[i - 1].name, out->keys[i].name, out->keys[i].store);
    if (b.rc != SIGNET_OK)
        return b.rc;
    if (b.n_errors)
        return signet_fail(SIGNET_E_STATE, "%zu problem%s in the package: nothing will be signed "
                                           "until each is resolved",
                           b.n_errors, b.n_errors == 1 ? "" : "s");
    return SIGNET_OK;
}
