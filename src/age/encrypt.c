/* Encryption: header with one stanza per recipient, the header MAC, then the
 * payload (see include/signet/age.h). */
#include <string.h>

#include "age_internal.h"
#include "signet/secmem.h"

/* Builds the complete header (through the MAC line) for fk. */
static signet_rc build_header(const age_recipients *r, const uint8_t fk[AGE_FILE_KEY_LEN],
                              sb_wr *hdr)
{
    uint8_t mac[AGE_KEY_LEN];
    signet_rc rc = sbw_str(hdr, AGE_INTRO);
    if (!rc && r->pass)
        rc = age_scrypt_wrap(r->pass, r->pass_len, r->work_factor, fk, hdr);
    for (size_t i = 0; i < r->n && !rc; i++)
        rc = age_stanza_wrap(&r->v[i], fk, hdr);
    if (!rc)
        rc = sbw_str(hdr, "---");
    if (!rc)
        rc = age_header_mac(fk, hdr->p, hdr->len, mac);
    if (!rc)
        rc = sbw_u8(hdr, ' ');
    if (!rc)
        rc = b64_encode(hdr, mac, sizeof mac, false);
    if (!rc)
        rc = sbw_u8(hdr, '\n');
    return rc;
}

signet_rc age_encrypt(const age_recipients *r, bool armor, age_read_fn rd, void *rctx,
                      age_write_fn wr, void *wctx)
{
    if (!r || (r->n == 0 && !r->pass))
        return signet_fail(SIGNET_E_ARG, "no recipients: give at least one recipient (-r), "
                                         "recipients file (-R) or a passphrase (-p)");
    for (size_t i = 1; i < r->n; i++)
        if ((r->v[i].type == AGE_KEY_PQ) != (r->v[0].type == AGE_KEY_PQ))
            return signet_fail(SIGNET_E_ARG, "post-quantum (age1pq1...) and classic recipients "
                                             "cannot share a file: the classic ones would undo "
                                             "the post-quantum protection (encrypt twice, or "
                                             "give every recipient a post-quantum key)");
    if (r->pass && r->n)
        return signet_fail(SIGNET_E_ARG, "a passphrase cannot be combined with recipients (the "
                                         "age format keeps an scrypt stanza alone): encrypt "
                                         "twice instead");
    uint8_t *fk = smem_alloc(AGE_FILE_KEY_LEN);
    if (!fk)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    sb_wr hdr;
    sbw_init(&hdr, AGE_MAX_HEADER);
    age_out out;
    age_out_init(&out, armor, wr, wctx);
    signet_rc rc = age_random(fk, AGE_FILE_KEY_LEN);
    if (!rc)
        rc = build_header(r, fk, &hdr);
    if (!rc)
        rc = age_out_write(&out, hdr.p, hdr.len);
    if (!rc)
        rc = age_payload_encrypt(fk, rd, rctx, &out);
    if (!rc)
        rc = age_out_finish(&out);
    sbw_free(&hdr);
    smem_free(fk);
    return rc;
}
