/* v1 (JAR) signing inside the APK engine, as apksigner 31.0.2 does it (apksig
 * ApkSigner.sign step 7, DefaultApkSignerEngine, V1SchemeSigner):
 *
 *   round v1: MANIFEST.MF and NAME.SF are built from the input's kept entries;
 *             the one request is "sign NAME.SF" (SHA-256 from min SDK 18, SHA-1
 *             below, whatever the v2 algorithm is);
 *   then:     NAME.SF, NAME.RSA|EC (PKCS#7) and MANIFEST.MF are appended, deflated,
 *             after the copied entries, dated like the newest kept entry, and the
 *             v2/v3 rounds hash the output with them.
 *
 * The v1 files cover every entry but themselves; v2/v3 cover the v1 files. */
#include <string.h>
#include <zlib.h>

#include "apk_job.h"

signet_rc jar_put_deflated(const char *name, const uint8_t *data, size_t len, uint16_t time,
                           uint16_t date, uint32_t lfh_offset, sb_wr *lfh, sb_wr *cd)
{
    size_t nlen = strlen(name);
    uLong bound = compressBound((uLong)len);
    sb_wr z;
    sbw_init(&z, bound + 64);
    uint8_t *dst;
    signet_rc rc = sbw_reserve(&z, bound, &dst);
    z_stream s;
    memset(&s, 0, sizeof s);
    /* java.util.zip.Deflater(9, true): raw deflate, zlib's default memLevel 8 */
    if (rc == SIGNET_OK && deflateInit2(&s, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        rc = signet_fail(SIGNET_E_NOMEM, "zlib could not start deflating");
    if (rc == SIGNET_OK) {
        s.next_in = (Bytef *)data;
        s.avail_in = (uInt)len;
        s.next_out = dst;
        s.avail_out = (uInt)bound;
        int zr = deflate(&s, Z_FINISH);
        z.len = s.total_out;
        deflateEnd(&s);
        if (zr != Z_STREAM_END)
            rc = signet_fail(SIGNET_E_CRYPTO, "zlib could not deflate %s", name);
    }
    uint32_t crc = (uint32_t)crc32(0L, data, (uInt)len);
    for (int cdr = 0; cdr < 2 && rc == SIGNET_OK; cdr++) {
        sb_wr *w = cdr ? cd : lfh;
        rc = sbw_u32_le(w, cdr ? SIGNET_ZIP_CDH_SIG : SIGNET_ZIP_LFH_SIG);
        if (cdr)
            rc = rc ? rc : sbw_u16_le(w, 20);       /* made by */
        rc = rc ? rc : sbw_u16_le(w, 20);           /* version needed */
        rc = rc ? rc : sbw_u16_le(w, 0x0800);       /* UTF-8 names */
        rc = rc ? rc : sbw_u16_le(w, SIGNET_ZIP_DEFLATED);
        rc = rc ? rc : sbw_u16_le(w, time);
        rc = rc ? rc : sbw_u16_le(w, date);
        rc = rc ? rc : sbw_u32_le(w, crc);
        rc = rc ? rc : sbw_u32_le(w, (uint32_t)z.len);
        rc = rc ? rc : sbw_u32_le(w, (uint32_t)len);
        rc = rc ? rc : sbw_u16_le(w, (uint16_t)nlen);
        rc = rc ? rc : sbw_u16_le(w, 0);            /* extra */
        if (cdr) {
            rc = rc ? rc : sbw_zero(w, 2 + 2 + 2 + 4); /* comment, disk, internal, external */
            rc = rc ? rc : sbw_u32_le(w, lfh_offset);
        }
        rc = rc ? rc : sbw_put(w, name, nlen);
    }
    rc = rc ? rc : sbw_put(lfh, z.p, z.len);
    sbw_free(&z);
    return rc;
}

/* The newest modification time of the kept entries (0x3a21 = 2009-01-01 when none). */
static void new_entry_time(const signet_zip *z, uint16_t *time, uint16_t *date)
{
    bool any = false;
    *time = 0;
    *date = 0x3a21;
    for (size_t i = 0; i < z->n; i++) {
        const signet_zip_entry *e = &z->e[i];
        if (!apk_entry_kept(e))
            continue;
        if (!any || e->mdate > *date || (e->mdate == *date && e->mtime > *time)) {
            *date = e->mdate;
            *time = e->mtime;
        }
        any = true;
    }
}

signet_rc apk_v1_begin(signet_apk_job *j)
{
    apk_v1 *v = &j->v1;
    /* a rotated APK's v1, like its v2, is signed by the lineage's oldest signer */
    bool old = apk_old_signs(j, 1);
    bool rsa = old ? j->old.algo->rsa : j->algo->rsa;
    signet_rc rc = jar_digest_for(j->min_sdk, rsa, &v->algo.md_nid);
    if (rc)
        return rc;
    v->algo.id = 0;
    v->algo.name = "v1 (JAR)";
    v->algo.rsa = rsa;
    jar_signer_name(j->o.v1_signer_name && *j->o.v1_signer_name ? j->o.v1_signer_name : "CERT",
                    v->name);
    if (!v->name[0])
        jar_signer_name("CERT", v->name);
    const char *schemes = j->o.v2 && j->o.v3 ? "2, 3" : j->o.v2 ? "2" : "3";
    sbw_init(&v->mf, MAX_APK);
    sbw_init(&v->sf, MAX_APK);
    rc = jar_make_manifest(&j->z, v->algo.md_nid, JAR_CREATED_BY, schemes, &v->mf, &v->sf);
    if (rc)
        return rc;
    new_entry_time(&j->z, &v->time, &v->date);
    /* the one request: the signature file, hashed with the v1 digest */
    sbw_reset(&j->data[0]);
    rc = sbw_put(&j->data[0], v->sf.p, v->sf.len);
    if (rc)
        return rc;
    j->nreq = 1;
    signet_apk_sigreq *r = &j->req[0];
    memset(r, 0, sizeof *r);
    r->scheme = 1;
    r->md_nid = v->algo.md_nid;
    r->rsa = v->algo.rsa;
    r->cert = old ? j->old.cert_der : j->cert_der;
    r->cert_len = old ? j->old.cert_len : j->cert_len;
    r->signer = old ? 1 : 0;
    unsigned dl = 0;
    if (!EVP_Digest(v->sf.p, v->sf.len, r->digest, &dl, EVP_get_digestbynid(r->md_nid), NULL))
        return signet_fail(SIGNET_E_CRYPTO, "hashing the v1 signature file failed");
    r->digest_len = dl;
    j->have[0] = false;
    sbw_reset(&j->sig[0]);
    v->pending = true;
    return SIGNET_OK;
}

signet_rc apk_v1_finish(signet_apk_job *j)
{
    apk_v1 *v = &j->v1;
    sb_wr p7;
    sbw_init(&p7, 1u << 20);
    const signet_apk_sigreq *r = &j->req[0];
    signet_rc rc = jar_pkcs7(r->cert, r->cert_len, v->algo.md_nid, v->algo.rsa, false,
                             j->sig[0].p, j->sig[0].len, &p7);
    if (rc == SIGNET_OK) {
        sbw_free(&v->block);
        v->block = p7;
        sbw_init(&p7, 0);
        v->pending = false;
        j->nreq = 0;
        sbw_reset(&j->data[0]);   /* it held the signature file */
        rc = apk_v2v3_begin(j);
    }
    sbw_free(&p7);
    return rc;
}

signet_rc apk_v1_append(signet_apk_job *j)
{
    apk_v1 *v = &j->v1;
    apk_layout *l = &j->l;
    char sf[32], blk[32];
    snprintf(sf, sizeof sf, "META-INF/%s.SF", v->name);
    snprintf(blk, sizeof blk, "META-INF/%s.%s", v->name, v->algo.rsa ? "RSA" : "EC");
    const struct { const char *name; const sb_wr *data; } files[] = {
        {sf, &v->sf}, {blk, &v->block}, {JAR_MANIFEST, &v->mf}};
    /* the new entries go after the copied ones, before the 4096-byte padding */
    size_t base = l->entries_len - l->pad;
    sb_wr cd;
    sbw_init(&cd, 1u << 16);
    sbw_init(&v->recs, MAX_APK);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; i < 3 && rc == SIGNET_OK; i++)
        rc = jar_put_deflated(files[i].name, files[i].data->p, files[i].data->len, v->time, v->date,
                              (uint32_t)(base + v->recs.len), &v->recs, &cd);
    rc = rc ? rc : apk_layout_append(l, v->recs.p, v->recs.len, cd.p, cd.len, 3);
    sbw_free(&cd);
    return rc;
}

void apk_v1_free(apk_v1 *v)
{
    sbw_free(&v->mf);
    sbw_free(&v->sf);
    sbw_free(&v->block);
    sbw_free(&v->recs);
}
