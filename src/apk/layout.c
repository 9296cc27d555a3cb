/* The output layout of a signed APK as Debian's apksigner 31.0.2 writes it
 * (apksig ApkSigner.sign, steps 5-6): records in local header order, gaps kept,
 * JAR signature files and directory entries dropped (v1 is off), each kept
 * record copied byte for byte unless it moved to an offset that breaks its
 * alignment, then its extra field gets an alignment field; the entries section
 * is padded with zeros to 4096 bytes before the signing block. */
#include <stdint.h>
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

/* Pieces: a range of the input (merged with the previous one when contiguous) or
 * bytes written to the side buffer. */
static signet_rc add_seg(apk_layout *l, const uint8_t *p, size_t len, bool side)
{
    if (len == 0)
        return SIGNET_OK;
    if (l->entries_len + len > MAX_OUTPUT)
        return signet_fail(SIGNET_E_UNSUPPORTED, "the signed APK would exceed 4 GiB");
    l->entries_len += len;
    apk_seg *last = l->nseg ? &l->seg[l->nseg - 1] : NULL;
    if (last && last->side == side && (uintptr_t)last->p + last->len == (uintptr_t)p) {
        last->len += len;
        return SIGNET_OK;
    }
    if (l->nseg == l->segcap) {
        size_t cap = l->segcap ? l->segcap * 2 : 64;
        apk_seg *v = realloc(l->seg, cap * sizeof *v);
        if (!v)
            return signet_fail(SIGNET_E_NOMEM, "out of memory laying out the APK");
        l->seg = v;
        l->segcap = cap;
    }
    l->seg[l->nseg++] = (apk_seg){p, len, side};
    return SIGNET_OK;
}

static signet_rc add_in(apk_layout *l, const uint8_t *p, size_t len)
{
    return add_seg(l, p, len, false);
}

/* Bytes written to the side buffer since `mark` become a piece. */
static signet_rc add_side(apk_layout *l, size_t mark)
{
    return add_seg(l, (const uint8_t *)(uintptr_t)mark, l->side.len - mark, true);
}

static signet_rc put_entry(const signet_zip *z, const signet_zip_entry *e, unsigned lib_align,
                           bool realign, apk_layout *l)
{
    uint64_t in = e->lfh_offset, outoff = l->entries_len;
    const uint8_t *rec = z->data + in;
    if (in == outoff && !realign)
        return add_in(l, rec, e->record_len);
    unsigned a = entry_alignment(e, lib_align);
    if (a <= 1 || (!realign && (in % a == outoff % a || e->data_offset % a != 0)))
        return add_in(l, rec, e->record_len);
    /* the local header with a new extra field (alignment), then the data as is */
    size_t mark = l->side.len, head = SIGNET_ZIP_LFH_LEN + e->name_len;
    signet_rc rc = sbw_put(&l->side, rec, head);
    rc = rc ? rc : signet_zip_align_extra(e->extra, e->extra_len,
                                          outoff + SIGNET_ZIP_LFH_LEN + e->name_len, a, !realign,
                                          &l->side);
    if (rc == SIGNET_OK && l->side.len - mark - head > 0xffff)
        rc = signet_fail(SIGNET_E_ARG, "extra field of %zu bytes does not fit a ZIP header",
                         l->side.len - mark - head);
    if (rc)
        return rc;
    put_le16(l->side.p + mark + 28, (uint16_t)(l->side.len - mark - head));
    rc = add_side(l, mark);
    size_t tail = e->record_len - (e->data_offset - e->lfh_offset);
    return rc ? rc : add_in(l, z->data + e->data_offset, tail);
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

signet_rc apk_layout_build(const signet_zip *z, unsigned lib_align, bool realign, bool keep_all,
                           apk_layout *l)
{
    memset(l, 0, sizeof *l);
    sbw_init(&l->side, MAX_OUTPUT);
    sbw_init(&l->cd, MAX_OUTPUT);
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
            rc = add_in(l, z->data + in, e->lfh_offset - in);
            in = e->lfh_offset;
        }
        in += e->record_len;
        if (rc || (!keep_all && !apk_entry_kept(e)))
            continue;
        newoff[e - z->e] = (uint32_t)l->entries_len;
        rc = put_entry(z, e, lib_align, realign, l);
    }
    if (rc == SIGNET_OK && in < z->entries_end)
        rc = add_in(l, z->data + in, z->entries_end - in);
    for (size_t i = 0; rc == SIGNET_OK && i < z->n; i++) {
        if (!keep_all && !apk_entry_kept(&z->e[i]))
            continue;
        rc = signet_zip_put_cd(&z->e[i], newoff[i], &l->cd);
        l->count++;
    }
    if (rc == SIGNET_OK && l->entries_len % APK_PAGE) {
        l->pad = APK_PAGE - l->entries_len % APK_PAGE;
        size_t mark = l->side.len;
        rc = sbw_zero(&l->side, l->pad);
        rc = rc ? rc : add_side(l, mark);
    }
    /* the side buffer is final: its pieces become pointers */
    for (size_t i = 0; rc == SIGNET_OK && i < l->nseg; i++) {
        if (l->seg[i].side) {
            l->seg[i].p = l->side.p + (uintptr_t)l->seg[i].p;
            l->seg[i].side = false;
        }
    }
    free(sorted);
    free(newoff);
    if (rc)
        apk_layout_free(l);
    return rc;
}

void apk_layout_free(apk_layout *l)
{
    free(l->seg);
    l->seg = NULL;
    l->nseg = l->segcap = 0;
    sbw_free(&l->side);
    sbw_free(&l->cd);
}

signet_rc apk_layout_append(apk_layout *l, const uint8_t *rec, size_t rec_len, const uint8_t *cd,
                            size_t cd_len, uint16_t count)
{
    /* the padding is the end of the last piece: drop it, append, pad again */
    if (l->pad && l->nseg) {
        apk_seg *last = &l->seg[l->nseg - 1];
        last->len -= l->pad;
        l->entries_len -= l->pad;
        if (last->len == 0)
            l->nseg--;
        l->pad = 0;
    }
    signet_rc rc = add_seg(l, rec, rec_len, false);
    rc = rc ? rc : sbw_put(&l->cd, cd, cd_len);
    l->count = (uint16_t)(l->count + count);
    if (rc == SIGNET_OK && l->entries_len % APK_PAGE) {
        static const uint8_t zeros[APK_PAGE];
        l->pad = APK_PAGE - l->entries_len % APK_PAGE;
        rc = add_seg(l, zeros, l->pad, false);
    }
    return rc;
}
