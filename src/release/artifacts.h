/* Internal to artifacts.c (the stages of a run, the APK stages) and artifacts_apex.c
 * (the APEX payload and container stages). */
#ifndef SIGNET_RELEASE_ARTIFACTS_H
#define SIGNET_RELEASE_ARTIFACTS_H

#include "release_internal.h"
#include "signet/apk.h"
#include "signet/avb.h"
#include "signet/progress.h"
#include "signet/sign.h"

#define RL_MEMBER_MAX ((size_t)0xffffffffu)

/* An APK to sign: a package's own, one inside an APEX payload, an APEX container. */
struct rl_art {
    signet_release_job *j;  /* its package's job (counters) */
    char *what;             /* artifact path of its records */
    char key[41];           /* key store name */
    sb_wr in, out;          /* the APK as signed / signed */
    signet_apk_sign_info info;
    bool dup;               /* same key and bytes as an earlier one of its stage */
};

/* An APEX (or a .capex's original_apex) between the stages. */
struct rl_apex {
    signet_release_job *j;
    char *member;           /* zip member */
    char *what;             /* member, or MEMBER!original_apex */
    char cstore[41], pstore[41];
    bool capex;
    sb_wr in;               /* the APEX container as given */
    signet_zip z;
    bool parsed;
    sb_wr payload, rebuilt, pub, newpay, di, aligned;
    signet_release_fs *fs;
    const char *const *inner;
    size_t n_inner;
    struct rl_art **arts;      /* the signed APKs inside, by index of inner (NULL: kept) */
    signet_avb_resign r;
    uint8_t psha[32], sig[1024];
    size_t sig_len;
    uint64_t pleaf;
    bool preused;
    struct rl_art *cont, *cap; /* the container; the .capex container */
};

struct rl_run {
    signet_signer *s;
    signet_keystore *ks;
    signet_progress pr;
    struct rl_art **arts;
    size_t n_arts, cap_arts;
    struct rl_apex **apexes;
    size_t n_apexes, cap_apexes;
};

void rl_sha256(const uint8_t *p, size_t n, uint8_t out[32]);
/* A new APK to sign, kept in r->arts (freed with the run). */
signet_rc rl_art_new(struct rl_run *r, signet_release_job *j, const char *what, const char *key,
                     struct rl_art **out);
/* dup[i]: request i repeats an earlier one's key and bytes (signed after the others,
 * so that the signing cache answers it). */
void rl_mark_dups(const char *const *keys, const uint8_t (*sha)[32], size_t n, bool *dup);
/* The indexes of pass `pass` (0: first of their kind, 1: repeats) in the order of
 * signet_batch_order; *m of them. */
signet_rc rl_order_pass(signet_signer *s, const char *const *keys, const bool *dup, size_t n,
                        int pass, size_t *out, size_t *m);
/* One progress line for a finished request. */
void rl_step(struct rl_run *r, const char *what, const char *key, size_t bytes);

/* artifacts_apex.c: stage 2 (payloads) and the containers of stages 3 and 4. */
signet_rc rl_payload_begin(struct rl_run *r, struct rl_apex *x);
signet_rc rl_sign_payloads(struct rl_run *r);
signet_rc rl_container(struct rl_run *r, struct rl_apex *x);
signet_rc rl_capex(struct rl_run *r, struct rl_apex *x);

#endif
