/* The output layout of a signed APK as Debian's apksigner 31.0.2 writes it
 * (apksig ApkSigner.sign, steps 5-6): records in local header order, gaps kept,
 * JAR signature files and directory entries dropped (v1 is off), each kept
 * record copied byte for byte unless it moved to an offset that breaks its
 * alignment, then its extra field gets an alignment field; the entries section
 * is padded with zeros to 4096 bytes before the signing block. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apk_internal.h"

#define MAX_OUTPUT 0xfff00000u

/* apksig V1SchemeSigner.isJarEntryDigestNeededInManifest: what an APK keeps when
 * it is re-signed without preserving other signers. */
bool apk_entry_kept(const signet_zip_entry *e)
{
    const char *n = (const char *)e->name;
    size_t len = e->name_len;
    if (len > 0 && n[len - 1] == '/')
        return false;
    if (len < 9 || memcmp(n, "META-INF/", 9) != 0)
        return true;
    if (memchr(n + 9, '/', len - 9))
        return true;
    const char *f = n + 9;
    size_t fl = len - 9;
#define ENDS(s) (fl >= sizeof(s) - 1 && strncasecmp(f + fl - (sizeof(s) - 1), s, sizeof(s) - 1) == 0)
    if ((fl == 11 && strncasecmp(f, "MANIFEST.MF", 11) == 0) || ENDS(".SF") || ENDS(".RSA") ||
        ENDS(".DSA") || ENDS(".EC") || (fl >= 4 && strncasecmp(f, "SIG-", 4) == 0))
        return false;
#undef ENDS
    return true;
}

static unsigned entry_alignment(const signet_zip_entry *e, unsigned lib_align)
{
    if (e->method != SIGNET_ZIP_STORED)
        return 1;
    int a = signet_zip_extra_alignment(e->extra, e->extra_len);
    if (a >= 0)
        return (unsigned)a;
    if (e->name_len > 3 && memcmp(e->name + e->name_len - 3, ".so", 3) == 0)
        return lib_align;
    return 4;
}

static signet_rc put_entry(const signet_zip *z, const signet_zip_entry *e, unsigned lib_align,
                           bool realign, sb_wr *out)
{
    uint64_t in = e->lfh_offset, outoff = out->len;
    const uint8_t *rec = z->data + in;
    if (in == outoff && !realign)
        return sbw_put(out, rec, e->record_len);
    unsigned a = entry_alignment(e, lib_align);
    if (a <= 1 || (!realign && (in % a == outoff % a || e->data_offset % a != 0)))
        return sbw_put(out, rec, e->record_len);
    sb_wr extra;
    sbw_init(&extra, 0x10000);
    signet_rc rc = signet_zip_align_extra(e->extra, e->extra_len,
                                          outoff + SIGNET_ZIP_LFH_LEN + e->name_len, a, !realign,
                                          &extra);
    if (rc == SIGNET_OK)
        rc = signet_zip_put_record(z, e, extra.p, extra.len, out);
    sbw_free(&extra);
    return rc;
}

static int by_offset(const void *a, const void *b)
{
    const signet_zip_entry *x = *(const signet_zip_entry *const *)a;
    const signet_zip_entry *y = *(const signet_zip_entry *const *)b;
    return x->lfh_offset < y->lfh_offset ? -1 : x->lfh_offset > y->lfh_offset;
}

static signet_rc check_duplicates(const signet_zip *z, const signet_zip_entry **sorted)
{
    /* Names sorted would be nicer; APKs have few thousand entries, so compare
     * against a hash of names instead of O(n^2). */
    size_t cap = 1;
    while (cap < z->n * 2)
        cap <<= 1;
    const signet_zip_entry **tab = calloc(cap, sizeof *tab);
    if (!tab)
        return signet_fail(SIGNET_E_NOMEM, "out of memory checking entry names");
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; i < z->n && rc == SIGNET_OK; i++) {
        const signet_zip_entry *e = sorted[i];
        uint32_t h = 2166136261u;
        for (size_t k = 0; k < e->name_len; k++)
            h = (h ^ e->name[k]) * 16777619u;
        for (size_t s = h & (cap - 1);; s = (s + 1) & (cap - 1)) {
            if (!tab[s]) {
                tab[s] = e;
                break;
            }
            if (tab[s]->name_len == e->name_len && memcmp(tab[s]->name, e->name, e->name_len) == 0) {
                rc = signet_fail(SIGNET_E_PARSE, "the APK has two entries named '%.*s'; Android "
                                                 "refuses such APKs",
                                 (int)(e->name_len > 200 ? 200 : e->name_len), (const char *)e->name);
                break;
            }
        }
    }
    free(tab);
    return rc;
}

signet_rc apk_layout_build(const signet_zip *z, unsigned lib_align, bool realign, apk_layout *l)
{
    memset(l, 0, sizeof *l);
    sbw_init(&l->entries, MAX_OUTPUT);
    sbw_init(&l->cd, MAX_OUTPUT);
    /* One allocation of the final size: growing by doubling would copy a large APK
     * several times.  It also holds the signing block, central directory and end
     * record later, so the signed APK is assembled in place (assemble.c). */
    uint8_t *pre;
    size_t want = (size_t)z->entries_end + (size_t)z->n * 8 + lib_align + APK_PAGE +
                  z->cd_size + (z->len - z->eocd_offset) + (1u << 16);
    if (sbw_reserve(&l->entries, want, &pre) == SIGNET_OK)
        l->entries.len = 0;
    const signet_zip_entry **sorted = malloc((z->n ? z->n : 1) * sizeof *sorted);
    uint32_t *newoff = malloc((z->n ? z->n : 1) * sizeof *newoff);
    signet_rc rc = SIGNET_OK;
    if (!sorted || !newoff)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory laying out the APK");
    for (size_t i = 0; rc == SIGNET_OK && i < z->n; i++)
        sorted[i] = &z->e[i];
    if (rc == SIGNET_OK) {
        qsort(sorted, z->n, sizeof *sorted, by_offset);
        rc = check_duplicates(z, sorted);
    }
    uint64_t in = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < z->n; i++) {
        const signet_zip_entry *e = sorted[i];
        if (e->lfh_offset > in) {
            rc = sbw_put(&l->entries, z->data + in, e->lfh_offset - in);
            in = e->lfh_offset;
        }
        in += e->record_len;
        if (rc || !apk_entry_kept(e))
            continue;
        newoff[e - z->e] = (uint32_t)l->entries.len;
        rc = put_entry(z, e, lib_align, realign, &l->entries);
    }
    if (rc == SIGNET_OK && in < z->entries_end)
        rc = sbw_put(&l->entries, z->data + in, z->entries_end - in);
    for (size_t i = 0; rc == SIGNET_OK && i < z->n; i++) {
        if (!apk_entry_kept(&z->e[i]))
            continue;
        rc = signet_zip_put_cd(&z->e[i], newoff[i], &l->cd);
        l->count++;
    }
    if (rc == SIGNET_OK && l->entries.len % APK_PAGE) {
        l->pad = APK_PAGE - l->entries.len % APK_PAGE;
        rc = sbw_zero(&l->entries, l->pad);
    }
    free(sorted);
    free(newoff);
    if (rc)
        apk_layout_free(l);
    return rc;
}

void apk_layout_free(apk_layout *l)
{
    sbw_free(&l->entries);
    sbw_free(&l->cd);
}
