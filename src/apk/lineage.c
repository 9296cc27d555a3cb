/* SigningCertificateLineage codecs and checks (include/signet/apk_lineage.h).
 * Layout as apksig V3SigningCertificateLineage writes it (all u32 little-endian,
 * "lp" = u32 length prefix):
 *   lineage = version(1) | lp(node)*
 *   node    = lp(signed data) | flags | sig_alg | lp(signature)
 *   signed data = lp(certificate) | parent_alg
 * The signature of node i is node i-1's key over its signed data (inside the lp). */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "apk_internal.h"
#include "signet/apk_lineage.h"

#define LINEAGE_VERSION 1u
#define LINEAGE_MAX_BYTES (1u << 20)

static signet_rc lfail(const char *what)
{
    return signet_fail(SIGNET_E_PARSE, "signing certificate lineage: %s", what);
}

void signet_apk_lineage_free(signet_apk_lineage *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].cert);
        free(l->v[i].sig);
    }
    memset(l, 0, sizeof *l);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

static signet_rc cert_pub(const uint8_t *der, size_t len, X509 **x, EVP_PKEY **pub)
{
    const uint8_t *p = der;
    *x = d2i_X509(NULL, &p, (long)len);
    if (!*x || p != der + len) {
        X509_free(*x);
        *x = NULL;
        return lfail("a certificate is not one DER X.509 certificate");
    }
    *pub = X509_get0_pubkey(*x);
    if (!*pub) {
        X509_free(*x);
        *x = NULL;
        return lfail("a certificate has no usable public key");
    }
    return SIGNET_OK;
}

/* lp(cert) | parent_alg: what the parent signs. */
static signet_rc node_tbs(const uint8_t *cert, size_t cert_len, uint32_t parent_alg, sb_wr *w)
{
    signet_rc rc = sbw_u32_le(w, (uint32_t)cert_len);
    rc = rc ? rc : sbw_put(w, cert, cert_len);
    return rc ? rc : sbw_u32_le(w, parent_alg);
}

/* Node i's signature by node i-1's key. */
static signet_rc check_node(const signet_apk_lineage *l, size_t i)
{
    const signet_apk_lineage_node *c = &l->v[i], *p = &l->v[i - 1];
    if (c->parent_alg != p->sig_alg)
        return lfail("a node's algorithm differs from the one its parent names");
    const apk_algo *a = apk_algo_find(c->parent_alg);
    if (!a)
        return lfail("a node names an unknown signature algorithm");
    X509 *x = NULL;
    EVP_PKEY *pub = NULL;
    sb_wr tbs;
    sbw_init(&tbs, LINEAGE_MAX_BYTES);
    signet_rc rc = cert_pub(p->cert, p->cert_len, &x, &pub);
    rc = rc ? rc : node_tbs(c->cert, c->cert_len, c->parent_alg, &tbs);
    rc = rc ? rc : apk_verify_sig(pub, a, tbs.p, tbs.len, c->sig, c->sig_len);
    if (rc)
        rc = signet_fail(SIGNET_E_VERIFY, "signing certificate lineage: signer #%zu's signature "
                                          "over signer #%zu does not verify", i, i + 1);
    sbw_free(&tbs);
    X509_free(x);
    return rc;
}

static signet_rc check_all(signet_apk_lineage *l)
{
    if (l->n == 0)
        return lfail("it has no signer");
    if (l->v[0].parent_alg != 0 || l->v[0].sig_len != 0)
        return lfail("the first signer carries a signature");
    for (size_t i = 0; i < l->n; i++) {
        X509 *x = NULL;
        EVP_PKEY *pub;
        signet_rc rc = cert_pub(l->v[i].cert, l->v[i].cert_len, &x, &pub);
        X509_free(x);
        if (rc)
            return rc;
        for (size_t k = 0; k < i; k++)
            if (l->v[k].cert_len == l->v[i].cert_len &&
                memcmp(l->v[k].cert, l->v[i].cert, l->v[i].cert_len) == 0)
                return lfail("a certificate appears twice");
        if (i > 0 && (rc = check_node(l, i)) != SIGNET_OK)
            return rc;
    }
    return SIGNET_OK;
}

signet_rc signet_apk_lineage_parse(const uint8_t *p, size_t len, signet_apk_lineage *l)
{
    memset(l, 0, sizeof *l);
    sb_rd r, node, sd, cert, sig;
    uint32_t version;
    sbr_init(&r, p, len);
    if (sbr_u32_le(&r, &version))
        return lfail("truncated");
    if (version != LINEAGE_VERSION)
        return signet_fail(SIGNET_E_UNSUPPORTED, "signing certificate lineage version %u is not "
                                                 "supported (only 1)", version);
    signet_rc rc = SIGNET_OK;
    while (rc == SIGNET_OK && sbr_left(&r)) {
        if (l->n == SIGNET_APK_LINEAGE_MAX) {
            rc = lfail("more than 32 signers");
            break;
        }
        signet_apk_lineage_node *n = &l->v[l->n];
        if (apk_lp(&r, &node) || apk_lp(&node, &sd) || apk_lp(&sd, &cert) ||
            sbr_u32_le(&sd, &n->parent_alg) || sbr_end(&sd) || sbr_u32_le(&node, &n->flags) ||
            sbr_u32_le(&node, &n->sig_alg) || apk_lp(&node, &sig) || sbr_end(&node)) {
            rc = lfail("a node is malformed or truncated");
            break;
        }
        n->cert_len = sbr_left(&cert);
        n->sig_len = sbr_left(&sig);
        n->cert = dup_bytes(sbr_cur(&cert), n->cert_len);
        n->sig = dup_bytes(sbr_cur(&sig), n->sig_len);
        l->n++;
        if (!n->cert || !n->sig)
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory for a lineage");
    }
    rc = rc ? rc : check_all(l);
    if (rc)
        signet_apk_lineage_free(l);
    return rc;
}

signet_rc signet_apk_lineage_read(const uint8_t *p, size_t len, signet_apk_lineage *l)
{
    memset(l, 0, sizeof *l);
    sb_rd r;
    uint32_t magic, version, n;
    const uint8_t *body;
    sbr_init(&r, p, len);
    if (sbr_u32_le(&r, &magic) || magic != SIGNET_APK_LINEAGE_MAGIC)
        return lfail("not a lineage file (no magic 0x3eff39d1); make one with `signet apk "
                     "lineage`");
    if (sbr_u32_le(&r, &version) || sbr_u32_le(&r, &n))
        return lfail("truncated header");
    if (version != LINEAGE_VERSION)
        return signet_fail(SIGNET_E_UNSUPPORTED, "lineage file version %u is not supported "
                                                 "(only 1)", version);
    if (sbr_ptr(&r, &body, n) || sbr_end(&r))
        return lfail("the length does not match the file");
    return signet_apk_lineage_parse(body, n, l);
}

signet_rc signet_apk_lineage_encode(const signet_apk_lineage *l, sb_wr *out)
{
    signet_rc rc = sbw_u32_le(out, LINEAGE_VERSION);
    for (size_t i = 0; rc == SIGNET_OK && i < l->n; i++) {
        const signet_apk_lineage_node *n = &l->v[i];
        size_t m_node, m_sd;
        rc = apk_lp_begin(out, &m_node);
        rc = rc ? rc : apk_lp_begin(out, &m_sd);
        rc = rc ? rc : node_tbs(n->cert, n->cert_len, n->parent_alg, out);
        if (rc)
            break;
        apk_lp_end(out, m_sd);
        rc = sbw_u32_le(out, n->flags);
        rc = rc ? rc : sbw_u32_le(out, n->sig_alg);
        rc = rc ? rc : sbw_u32_le(out, (uint32_t)n->sig_len);
        rc = rc ? rc : sbw_put(out, n->sig, n->sig_len);
        if (rc == SIGNET_OK)
            apk_lp_end(out, m_node);
    }
    return rc;
}

signet_rc signet_apk_lineage_write(const signet_apk_lineage *l, sb_wr *out)
{
    size_t mark;
    signet_rc rc = sbw_u32_le(out, SIGNET_APK_LINEAGE_MAGIC);
    rc = rc ? rc : sbw_u32_le(out, LINEAGE_VERSION);
    rc = rc ? rc : apk_lp_begin(out, &mark);
    rc = rc ? rc : signet_apk_lineage_encode(l, out);
    if (rc == SIGNET_OK)
        apk_lp_end(out, mark);
    return rc;
}

int signet_apk_lineage_find(const signet_apk_lineage *l, const uint8_t *cert, size_t cert_len)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].cert_len == cert_len && memcmp(l->v[i].cert, cert, cert_len) == 0)
            return (int)i;
    return -1;
}

void signet_apk_rotation_free(signet_apk_rotation *r) { sbw_free(&r->tbs); }

signet_rc signet_apk_lineage_rotation_tbs(signet_apk_lineage *l, const uint8_t *old_cert,
                                          size_t old_len, const uint8_t *new_cert, size_t new_len,
                                          uint32_t old_flags, signet_apk_rotation *r)
{
    memset(r, 0, sizeof *r);
    sbw_init(&r->tbs, LINEAGE_MAX_BYTES);
    if (l->n == SIGNET_APK_LINEAGE_MAX)
        return lfail("it already has 32 signers");
    if (l->n && signet_apk_lineage_find(l, old_cert, old_len) != (int)l->n - 1)
        return signet_fail(SIGNET_E_ARG, "the old signer must be the lineage's newest signer "
                                         "(see `signet apk lineage --print-certs`)");
    if (signet_apk_lineage_find(l, new_cert, new_len) >= 0 ||
        (old_len == new_len && memcmp(old_cert, new_cert, new_len) == 0))
        return signet_fail(SIGNET_E_ARG, "the new signer is already in the lineage");
    X509 *x = NULL;
    EVP_PKEY *pub = NULL;
    const apk_algo *a = NULL;
    signet_rc rc = cert_pub(old_cert, old_len, &x, &pub);
    rc = rc ? rc : apk_algo_for_key(pub, &a);
    X509_free(x);
    if (rc == SIGNET_OK) {
        X509 *y = NULL;
        EVP_PKEY *npub;
        rc = cert_pub(new_cert, new_len, &y, &npub);
        X509_free(y);
    }
    if (rc)
        return rc;
    r->alg = a->id;
    r->md_nid = a->md_nid;
    r->rsa = a->rsa;
    rc = node_tbs(new_cert, new_len, a->id, &r->tbs);
    unsigned dl = 0;
    if (rc == SIGNET_OK && !EVP_Digest(r->tbs.p, r->tbs.len, r->digest, &dl,
                                       EVP_get_digestbynid(a->md_nid), NULL))
        rc = signet_fail(SIGNET_E_CRYPTO, "hashing the lineage node failed");
    r->digest_len = dl;
    if (rc == SIGNET_OK && l->n == 0) {
        signet_apk_lineage_node *n = &l->v[0];
        n->cert = dup_bytes(old_cert, old_len);
        n->sig = dup_bytes(NULL, 0);
        if (!n->cert || !n->sig) {
            free(n->cert);
            free(n->sig);
            return signet_fail(SIGNET_E_NOMEM, "out of memory for a lineage");
        }
        n->cert_len = old_len;
        n->flags = old_flags;
        l->n = 1;
    }
    return rc;
}

signet_rc signet_apk_lineage_rotation_add(signet_apk_lineage *l, signet_apk_rotation *r,
                                          const uint8_t *new_cert, size_t new_len,
                                          uint32_t new_flags, const uint8_t *sig, size_t sig_len)
{
    if (l->n == 0 || l->n == SIGNET_APK_LINEAGE_MAX)
        return signet_fail(SIGNET_E_STATE, "no rotation begun on this lineage");
    signet_apk_lineage_node *n = &l->v[l->n];
    memset(n, 0, sizeof *n);
    n->cert = dup_bytes(new_cert, new_len);
    n->sig = dup_bytes(sig, sig_len);
    if (!n->cert || !n->sig) {
        free(n->cert);
        free(n->sig);
        return signet_fail(SIGNET_E_NOMEM, "out of memory for a lineage");
    }
    n->cert_len = new_len;
    n->sig_len = sig_len;
    n->flags = new_flags;
    n->parent_alg = r->alg;
    uint32_t prev = l->v[l->n - 1].sig_alg;
    l->v[l->n - 1].sig_alg = r->alg;
    l->n++;
    signet_rc rc = check_node(l, l->n - 1);
    if (rc) {
        l->n--;
        l->v[l->n - 1].sig_alg = prev;
        free(n->cert);
        free(n->sig);
        memset(n, 0, sizeof *n);
    }
    return rc;
}
