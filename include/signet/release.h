/* Whole-release signing (docs/release.md): the target-files package's META files,
 * the mapping from AOSP development keys to release keys of the key store, and the
 * plan that says what will be signed with which key.
 *
 * Everything here works on bytes in memory (no I/O): the CLI reads the zip and the
 * files, this module parses and decides.  Every parser of outside bytes is strict:
 * an unknown attribute, a duplicate, a missing field or a control character is an
 * error naming the file and line. */
#ifndef SIGNET_RELEASE_H
#define SIGNET_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

/* Largest META text file accepted (apkcerts.txt of a full build is ~200 KiB). */
#define SIGNET_META_MAX_BYTES (16u << 20)

/* ---- META/apkcerts.txt ------------------------------------------------------ */
/* name="Settings.apk" certificate="DIR/platform.x509.pem" private_key="DIR/platform.pk8"
 * [compressed="gz"] [partition="system"], or certificate="PRESIGNED"|"EXTERNAL" with
 * private_key="". */
typedef struct {
    char *name;        /* file name of the APK (no directory) */
    char *key;         /* development key path without suffix, or PRESIGNED / EXTERNAL */
    char *compressed;  /* "gz" or NULL */
    char *partition;   /* "system", ... or NULL */
    unsigned line;
} signet_apkcert;

/* ---- META/apexkeys.txt ------------------------------------------------------ */
/* name="com.android.foo.apex" public_key="K.avbpubkey" private_key="K.pem"
 * container_certificate="C.x509.pem" container_private_key="C.pk8"
 * [partition="system"] [sign_tool="..."] */
typedef struct {
    char *name;          /* "com.android.foo.apex" */
    char *payload_key;   /* private_key as written ("K.pem") or PRESIGNED */
    char *payload_pub;   /* public_key as written */
    char *container_key; /* container key path without suffix, or PRESIGNED */
    char *partition;     /* or NULL */
    char *sign_tool;     /* or NULL */
    unsigned line;
} signet_apexkey;

/* ---- META/misc_info.txt ----------------------------------------------------- */
typedef struct {
    char *key;
    char *value;
} signet_kv;

typedef struct {
    signet_apkcert *apks;
    size_t n_apks;
    signet_apexkey *apexes;
    size_t n_apexes;
    signet_kv *misc;
    size_t n_misc;
} signet_tf_meta;

void signet_tf_meta_init(signet_tf_meta *m);
void signet_tf_meta_free(signet_tf_meta *m);
/* Each parser appends to m; a second entry with the same name is an error. */
signet_rc signet_apkcerts_parse(const char *text, size_t len, signet_tf_meta *m);
signet_rc signet_apexkeys_parse(const char *text, size_t len, signet_tf_meta *m);
signet_rc signet_misc_info_parse(const char *text, size_t len, signet_tf_meta *m);
const char *signet_misc_get(const signet_tf_meta *m, const char *key);
const signet_apkcert *signet_apkcert_find(const signet_tf_meta *m, const char *name);
const signet_apexkey *signet_apexkey_find(const signet_tf_meta *m, const char *name);

/* ---- key mapping ------------------------------------------------------------ */
/* Development key -> release key name.  Rules, first match wins:
 *   1. an explicit mapping of the full development key path (--key-mapping or file);
 *   2. an explicit mapping of its last component ("platform=platform-release");
 *   3. AOSP's defaults, only for keys in the development key directory (the
 *      directory of misc_info's default_system_dev_certificate, else
 *      build/make/target/product/security): testkey and devkey -> releasekey;
 *      platform, shared, media, networkstack, bluetooth, sdk_sandbox, nfc -> the
 *      same name;
 *   4. APEX keys: the container key -> "<apex>.container", the payload key ->
 *      "<apex>.payload" (apex = the file name without .apex);
 *   5. AVB keys of misc_info -> "avb_<device>".
 * Anything else is unmapped: an error (fail closed). */
typedef struct {
    char *from;
    char *to;
} signet_keymapping;

typedef struct {
    signet_keymapping *v;
    size_t n;
    char *devkey_dir;   /* NULL: from misc_info or the AOSP default */
    char *device;       /* for rule 5; NULL: AVB keys need an explicit mapping */
} signet_release_mapping;

void signet_release_mapping_init(signet_release_mapping *m);
void signet_release_mapping_free(signet_release_mapping *m);
/* "FROM=TO" (from --key-mapping).  TO must be a valid release key name (it may be
 * longer than the HSM's 40-byte label: see signet_release_store_name). */
signet_rc signet_release_mapping_add(signet_release_mapping *m, const char *spec);
/* A mapping file: "FROM = TO" or "FROM=TO" lines, '#' comments, blank lines. */
signet_rc signet_release_mapping_parse(signet_release_mapping *m, const char *text, size_t len,
                                       const char *fname);

/* The key store name of a release key.  Names of up to 40 characters (the HSM's
 * label) are used as they are; a longer name keeps its first characters and its
 * last component and gets 8 hex digits of the SHA-256 of the full name in between,
 * 40 characters in all ("com.android.ondevicepersonaliz-1a2b3c4d.container").  The
 * plan shows both. */
signet_rc signet_release_store_name(const char *name, char out[41]);

/* ---- the plan --------------------------------------------------------------- */
typedef enum {
    SIGNET_RPLAN_APK,   /* an APK (or .apk.gz) */
    SIGNET_RPLAN_APEX,  /* an APEX (or .capex): payload and container */
    SIGNET_RPLAN_AVB,   /* a partition's AVB key in misc_info */
} signet_rplan_kind;

typedef enum {
    SIGNET_RPLAN_SIGN,
    SIGNET_RPLAN_PRESIGNED,
    SIGNET_RPLAN_EXTERNAL,
} signet_rplan_action;

typedef struct {
    signet_rplan_kind kind;
    signet_rplan_action action;
    char *member;      /* path in the zip; for AVB the partition name */
    char *dev_key;     /* APK key / APEX container key / AVB key path; "-" when none */
    char *key;         /* logical release key name ("-" when not signed) */
    char *dev_payload; /* APEX payload key, else NULL */
    char *payload;     /* APEX release payload key, else NULL */
    char *algorithm;   /* AVB: SHA256_RSA4096 ..., else NULL */
    bool gz;           /* APK stored gzip-compressed (.apk.gz) */
} signet_rplan_item;

typedef struct {
    char *name;        /* logical name (what the mapping says) */
    char store[41];    /* key store name (== name unless longer than 40) */
    char role[32];     /* apk, apex, apex-payload, avb, ota */
    bool present;      /* in the key store (set by the caller) */
} signet_rplan_key;

typedef struct {
    char target_sha256[65];   /* of the target-files zip, hex */
    char *target_name;        /* its file name */
    char *device;             /* or NULL */
    char *ota_key;            /* release key of the OTA package / otacerts.zip */
    signet_rplan_item *items;
    size_t n_items;
    signet_rplan_key *keys;
    size_t n_keys;
} signet_rplan;

void signet_rplan_init(signet_rplan *p);
void signet_rplan_free(signet_rplan *p);

/* Builds the plan from the META files and the list of zip member names.  Fails
 * closed: an APK or APEX in the package without an apkcerts/apexkeys entry, a
 * development key without a mapping, an APEX with only one of its keys PRESIGNED,
 * compressed APKs other than gz: each is an error naming the member and what to do.
 * Every error is collected into `errors` (one per line) before failing, so one run
 * shows all of them. */
signet_rc signet_rplan_build(const signet_tf_meta *meta, const char *const *members,
                            size_t n_members, const signet_release_mapping *map,
                            const char *ota_key, signet_rplan *out, sb_wr *errors);

/* The plan file (docs/release.md): "signet-release-plan 1", then one record per
 * line.  format/parse are exact inverses; parse is strict. */
signet_rc signet_rplan_format(const signet_rplan *p, sb_wr *out);
signet_rc signet_rplan_parse(const char *text, size_t len, signet_rplan *out);
/* The release key of an APK found inside an APEX payload (`where` names it in
 * messages): apkcerts.txt names it by file name, as releasetools' ApexApkSigner
 * looks it up, and it is mapped as plan_apk maps any APK.  *key is malloc'd, NULL
 * when apkcerts.txt says PRESIGNED or EXTERNAL (left as it is); an APK missing from
 * apkcerts.txt or a development key without a mapping is an error. */
signet_rc signet_rplan_inner_apk(const signet_tf_meta *meta, const signet_release_mapping *map,
                                 const char *where, const char *name, char **key);
const signet_rplan_item *signet_rplan_find(const signet_rplan *p, signet_rplan_kind kind,
                                         const char *member);
const signet_rplan_key *signet_rplan_key_find(const signet_rplan *p, const char *name);

/* Differences between a previous plan and this one, one line each into out:
 *   "+ apk MEMBER KEY" / "- apk MEMBER" (app added or removed: expected),
 *   "! apk MEMBER: KEY -> KEY" (mapping changed), "! key NAME: new release key",
 *   "! apk MEMBER: PRESIGNED -> signed" ...  (unexpected).
 * *unexpected = number of '!' lines. */
signet_rc signet_rplan_diff(const signet_rplan *old, const signet_rplan *cur, sb_wr *out,
                           size_t *expected, size_t *unexpected);

const char *signet_rplan_kind_name(signet_rplan_kind k);

/* ---- the target-files zip ------------------------------------------------------ */
#include "signet/zip.h"
typedef struct {
    signet_zip z;          /* over the caller's bytes */
    char **names;          /* member names, NUL-terminated, zip order */
    size_t n;
    signet_tf_meta meta;   /* apkcerts, apexkeys (when present), misc_info */
} signet_tf;
/* Parses the zip and its META files; data must outlive tf. */
signet_rc signet_tf_open(const uint8_t *data, size_t len, signet_tf *tf);
void signet_tf_free(signet_tf *tf);

/* ---- signing ------------------------------------------------------------------ */
#include <stdio.h>
#include "signet/keystore.h"
struct signet_signer;
/* An APEX payload's file system, unpacked and rebuilt by the caller (the engine does
 * no I/O): e2fsprogs for ext4, erofs-utils for EROFS, as releasetools' deapexer and
 * apexer do with their own builds of those tools. */
typedef struct signet_release_fs signet_release_fs;
typedef struct signet_release_fs_ops {
    /* Unpacks the file system img (the payload without its AVB footer, len bytes);
     * *apks: the *.apk files in it, paths relative to its root, sorted, valid until
     * close. */
    signet_rc (*open)(void *ctx, const char *member, const uint8_t *img, size_t len,
                      signet_release_fs **fs, const char *const **apks, size_t *n_apks);
    signet_rc (*read)(signet_release_fs *fs, const char *path, sb_wr *out);
    signet_rc (*write)(signet_release_fs *fs, const char *path, const uint8_t *p, size_t n);
    /* The same type of file system with the same parameters (block size, UUID, hash
     * seed, compression, fixed timestamps), built from the tree as changed. */
    signet_rc (*rebuild)(signet_release_fs *fs, sb_wr *out);
    void (*close)(signet_release_fs *fs);
} signet_release_fs_ops;

/* A signed member waiting for its binding record (written once the output package is
 * durable): the member's input as its signature records name it, the member as
 * written, the leaves of its sign/reuse records; after_prev: also covers the binding
 * just before it (an APEX container over its payload). */
typedef struct {
    char *name;
    uint8_t in_sha256[32], out_sha256[32];
    uint64_t covers[9];
    size_t n_covers;
    bool after_prev;
} signet_release_member;
typedef struct {
    struct signet_signer *signer;   /* the one signing path (one device session) */
    signet_keystore *ks;            /* the signer's key store */
    const char *dev_cert_dir;       /* where DEV_KEY.x509.pem files are, or NULL */
    const char *avb_helper;         /* --signing_helper_with_files for misc_info, or NULL */
    const signet_tf_meta *meta;             /* apkcerts.txt for APKs inside APEX payloads */
    const signet_release_mapping *map;      /* and the mapping of their keys */
    const struct signet_release_fs_ops *fs; /* payload file systems; NULL refuses APEXes */
    void *fs_ctx;
    FILE *progress;                 /* progress lines, or NULL */
    /* Counters, updated as the work goes. */
    size_t done;
    uint64_t bytes;
    unsigned device_ops;            /* signatures the device made for this package */
    unsigned cache_hits;            /* signatures of this package from the signing cache */
    signet_release_member *members; /* filled by signet_release_sign_artifacts */
    size_t n_members, cap_members;
    /* The signed members, kept from signet_release_sign_artifacts for signet_release_sign. */
    struct rl_signed *signed_v;
    size_t n_signed, cap_signed;
    bool artifacts_signed;
} signet_release_job;
void signet_release_job_free(signet_release_job *j);
/* The binding records of a signed package, once `out` (SHA-256 out_sha256) is durable:
 * one per signed member ("IN!/MEMBER" -> "OUT!/MEMBER"), then one for the package
 * covering them, so that `signet audit prove OUT` proves the package. */
signet_rc signet_release_bind(signet_release_job *j, const char *in, const uint8_t in_sha256[32],
                              const char *out, const uint8_t out_sha256[32]);

/* One package of a run: its job (signer, key store, fs ops, meta and mapping set),
 * its zip and its plan. */
typedef struct {
    signet_release_job *j;
    const signet_tf *tf;
    const signet_rplan *p;
} signet_release_pkg;
/* Signs the APKs and APEXes of every package (artifacts.c): in stages (every APK,
 * including those inside APEX payloads; the payloads' vbmeta; the containers; the
 * .capex containers), each stage's requests across all packages in the order of
 * signet_batch_order (each key loaded once) in groups of one key through
 * signet_apk_jobs_sign / signet_sign_batch; a request with the same key and bytes as
 * an earlier one goes after the others, to the signing cache.  Every package's j must
 * share one signer.  The signed members stay in each j for signet_release_sign. */
signet_rc signet_release_sign_artifacts(signet_release_pkg *v, size_t n, FILE *progress);

/* Writes tf as plan p says into out (a complete zip): the members signed by
 * signet_release_sign_artifacts (called here for this package alone when the job
 * was not part of a run), configuration files rewritten, the rest copied.  Every
 * signature has its record before this returns; the caller writes out durably
 * (temporary file, rename) only on success. */
signet_rc signet_release_sign(signet_release_job *j, const signet_tf *tf, const signet_rplan *p,
                              sb_wr *out);
/* Verification of a signed package against the plan (rows printed to out). */
typedef struct {
    signet_keystore *ks;
    FILE *out;
    /* To check the APKs inside APEX payloads (NULL fs: not looked into): the payload
     * file systems, apkcerts.txt and the mapping that give each its key. */
    const struct signet_release_fs_ops *fs;
    void *fs_ctx;
    const signet_tf_meta *meta;
    const signet_release_mapping *map;
    size_t checked, failed;
} signet_release_check;
signet_rc signet_release_verify(signet_release_check *c, const signet_tf *tf,
                                const signet_rplan *p);
/* The name of AOSP's public development certificate ("testkey", "platform",
 * "shared", "media") with this SHA-256 fingerprint of its DER, or NULL. */
const char *signet_release_aosp_test_key(const uint8_t sha256[32]);

/* Device signatures the plan needs at most (2 per APK, 3 per APEX), without looking
 * at the members (APKs inside APEX payloads are not counted: see below). */
size_t signet_release_device_estimate(const signet_rplan *p);

/* ---- the estimate of a run over several packages (estimate.c) ------------------ *
 * Before a run signs anything: the signatures each artifact needs (an APK 2, v2 and
 * v3, plus v1 below min SDK 24; an APEX 1 for its payload plus its container's; a
 * .capex also its original_apex's container; APKs inside APEX payloads counted as
 * APKs), and which are predicted cache hits: an artifact with the same bytes and the
 * same keys as one counted earlier in the run (an APEX only when no APK inside it is
 * new).  Hits left in the cache by earlier runs are not predicted. */
typedef struct {
    char *what;          /* member, MEMBER!/PATH (inside a payload), MEMBER!original_apex */
    size_t pkg;          /* the caller's package index */
    char key[41];        /* store name: the APK's key, the APEX's container key */
    char payload[41];    /* APEX: the payload key's store name; else "" */
    uint8_t sha256[32];  /* of the APK (uncompressed) / the APEX container as given */
    unsigned sigs;       /* signatures it needs */
    bool inner;          /* an APK inside an APEX payload */
    bool hit;            /* predicted cache hit */
} signet_release_est_item;
typedef struct {
    signet_release_est_item *v;
    size_t n, cap;
} signet_release_estimate;
typedef struct {
    size_t apks, inner_apks, apexes;
    size_t signatures;       /* every signature the package's artifacts need */
    size_t predicted_hits;   /* of those, predicted from the signing cache */
} signet_release_est_sum;
/* Adds package `pkg` (its plan p; j->fs, fs_ctx, meta and map to look inside APEX
 * payloads) to the run's estimate e; s: this package's sums. */
signet_rc signet_release_estimate_add(signet_release_estimate *e, const signet_release_job *j,
                                      size_t pkg, const signet_tf *tf, const signet_rplan *p,
                                      signet_release_est_sum *s);
void signet_release_estimate_free(signet_release_estimate *e);

#endif
