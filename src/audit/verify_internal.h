/* The verifier's state, shared by the files that each check one part of a trail
 * (verify.c reads the leaves; the others pair, link and check what was read). */
#ifndef SIGNET_AUDIT_VERIFY_INTERNAL_H
#define SIGNET_AUDIT_VERIFY_INTERNAL_H

#include "report_internal.h"

typedef struct {
    uint64_t seq, index, line;
    uint16_t target, sess, number;
    uint8_t cmd, result, used;
} ventry;

typedef struct {
    uint32_t serial;
    char fname[64];            /* device-S.log */
    ventry *e;
    size_t n, cap;
    yh_log_entry last;
    uint64_t last_seq;
    bool have;
    yh_log_entry *anchor;
    size_t n_anchor;
    bool anchor_loaded;
    uint64_t restart_index;    /* leaf of the newest restart at entry 1 so far (0: none) */
} vdev;

enum { KEY_OTHER = 1, KEY_GENERATED, KEY_IMPORTED, KEY_DELETED };

typedef struct {
    uint64_t index, line, seq, tree_size;
    uint32_t serial;
    uint16_t key_id, auth;
    uint8_t type, command;
    bool no_log;               /* sign: by a device without a log (log=none) */
    int slot;
    uint8_t root[SIGNET_HASH_LEN];
    /* sign, reuse: SHA-256 of the signed data and of the signature, and the artifact's
     * (first 16 bytes: enough to tell records apart, half the memory) */
    uint8_t data16[16], sig16[16], art16[16];
    bool has_art;
    uint64_t original;         /* reuse: leaf of the original sign record */
    uint8_t event;             /* key: KEY_* */
    bool rsig_ok;              /* service: signed by a record key of the trust anchors */
    size_t cover_off;          /* bind: its covered leaves in vstate.covers */
    uint32_t n_covers;
} vrec;

typedef struct {
    const char *dir;
    signet_report *rep;
    /* leaves */
    uint8_t *hashes;
    uint32_t *where;   /* file number << 0 ... kept simple: the line of each leaf */
    uint8_t *file_of;
    uint8_t *seen;
    uint64_t cap, max_plus1;
    char files[64][64];
    size_t n_files;
    /* devices and records */
    vdev *devs;
    size_t n_devs;
    vrec *recs;
    size_t n_recs, cap_recs;
    merkle_tree *tree;
    uint64_t *covers;          /* the covered leaves of every bind record, one after another */
    size_t n_cover, cap_cover;
    uint64_t *cp_sizes;        /* sizes of the checkpoints that verified, in file order */
    size_t n_cp_sizes;
    signet_rkeys rkeys;        /* record keys of the trust anchors (n 0: none) */
    struct vack {
        char hash[17];
        char ack[200];
    } *acks;                   /* valid acknowledgements */
    size_t n_acks;
    /* changes of log key in validly signed service records (event log-key), in order:
     * checkpoints after each are verified with its key */
    struct vlogkey {
        uint64_t index, line;
        char vkey[256];
    } *logkeys;
    size_t n_logkeys;
} vstate;

/* The log keys in force over time (verify_checkpoints.c): k (log.vkey's), then each
 * validly signed change of log key; report: a finding for a change that cannot be
 * used (once per verification). */
void vlogkeys_fill(vstate *v, const signet_vkey *k, trail_logkeys *keys, bool report);

/* Signed records (verify_acks.c): checks the signature of an ack or service record
 * (the newest record read) by a record key; a bad one is a finding.  Valid acks are
 * kept, and vapply_acks marks the incidents they name as acknowledged (nothing else
 * can be); a valid service record is marked rsig_ok (only those explain resets). */
signet_rc vsigned_record(vstate *v, const char *line, const signet_record *r, uint64_t lineno);
void vapply_acks(vstate *v);

/* Every check either completes or fails with SIGNET_E_NOMEM (or another error that
 * stops verification): a check never skips work it could not allocate for, so an
 * out-of-memory verifier never reports fewer findings than there are. */

/* Leaves (verify_leaves.c): reads one leaf file (d NULL: records.log), hashing every
 * leaf and handing device lines and records to the checks below. */
signet_rc vread_leaf_file(vstate *v, const char *name, vdev *d);
/* Every index from 0 to the largest present exactly once; *tree_ok when so, and then
 * v->tree holds every leaf. */
signet_rc vcheck_leaves(vstate *v, bool *tree_ok);

/* Device chains (verify_device.c). */
vdev *vdev_of(vstate *v, uint32_t serial);
ventry *vfind_entry(vdev *d, uint64_t seq);
signet_rc vload_anchor(vstate *v, vdev *d, const char *fname);
signet_rc vdevice_line(vstate *v, vdev *d, const char *fname, uint64_t lineno, const devline *dl);

/* Records paired with device entries both ways (verify_pairing.c). */
signet_rc vpair_records(vstate *v);

/* Checkpoints (verify_checkpoints.c): signed, consistent, matching the trail. */
signet_rc vcheck_checkpoints(vstate *v, const signet_vkey *k, bool tree_ok);

/* Freshness (verify_fresh.c) and expectations (verify_expect.c). */
signet_rc vcheck_known(vstate *v, const signet_vkey *k, const char *path, bool tree_ok);
void vcheck_live(vstate *v, const hsm_log *live, uint32_t serial);
signet_rc vcheck_expect(vstate *v, const char *path);

/* The record with this leaf index (records are kept in leaf order); NULL if none. */
vrec *vrec_at(vstate *v, uint64_t index);
/* Reuse and bind records point at earlier records: check every pointer. */
void check_links(vstate *v);

#endif
