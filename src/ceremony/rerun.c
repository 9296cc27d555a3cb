/* A provisioning rerun after an attempt that deleted the factory key: that
 * attempt's admin credential (OUT/failed-attempts/N/credentials/admin-NAME.age,
 * encrypted to the admin holder) is the only way in short of a physical reset.
 * Given the admin holder's age identity, the rerun decrypts it in locked memory,
 * logs in as admin and lets the reset step wipe the device; without it, the error
 * names the file and the option. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "ceremony_internal.h"
#include "signet/secmem.h"

/* The admin credential file of attempt n ("failed-attempts/3/credentials/admin-carol.age"):
 * the admin holder is read from the attempt's own copy of the plan.  False when that
 * attempt wrote none. */
static bool attempt_admin_file(const char *out_dir, unsigned n, char *rel, size_t cap)
{
    char path[CER_PATH_MAX + 64], cred[CER_REL_MAX];
    snprintf(path, sizeof path, "%s/%s/%u/plan.txt", out_dir, CER_ATTEMPTS_DIR, n);
    signet_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return false;
    bool found = false;
    if (signet_plan_load(path, plan, NULL) == SIGNET_OK) {
        cer_cred_file(SIGNET_ROLE_ADMIN, plan->holders[SIGNET_ROLE_ADMIN].name, cred, sizeof cred);
        snprintf(rel, cap, "%s/%u/%s", CER_ATTEMPTS_DIR, n, cred);
        snprintf(path, sizeof path, "%s/%s", out_dir, rel);
        found = access(path, R_OK) == 0;
    }
    signet_err_clear();
    free(plan);
    return found;
}

/* The number of the newest failed attempt (0: none). */
static unsigned newest_attempt(const char *out_dir)
{
    unsigned n = 0;
    for (;;) {
        char dir[CER_PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/%s/%u", out_dir, CER_ATTEMPTS_DIR, n + 1);
        DIR *d = opendir(dir);
        if (!d)
            return n;
        closedir(d);
        n++;
    }
}

bool cer_attempt_admin_credential(const char *out_dir, char *rel, size_t cap)
{
    for (unsigned n = newest_attempt(out_dir); n > 0; n--)
        if (attempt_admin_file(out_dir, n, rel, cap))
            return true;
    return false;
}

/* Decrypts one credential file with the identities and reads its private key. */
static signet_rc decrypt_key(const age_identities *ids, const char *path, EVP_PKEY **key)
{
    *key = NULL;
    sb_wr file, pem;
    sbw_init(&file, 64 * 1024);
    sbw_init_secure(&pem, 16 * 1024);
    signet_rc rc = cer_read_file(path, 64 * 1024, &file);
    if (rc == SIGNET_OK)
        rc = age_decrypt_mem(ids, file.p, file.len, &pem);
    if (rc == SIGNET_OK) {
        BIO *b = BIO_new_mem_buf(pem.p, (int)pem.len);
        *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!*key)
            rc = signet_fail(SIGNET_E_PARSE, "%s does not hold an admin private key", path);
    }
    sbw_free(&file);
    sbw_free(&pem);
    return rc;
}

signet_rc cer_dev_login_attempt_admin(cer_device *d, const char *out_dir, const char *identity,
                                      char *used, size_t cap)
{
    used[0] = 0;
    age_identities *ids = NULL;
    signet_rc rc = age_identities_new(&ids);
    if (rc == SIGNET_OK && (rc = age_identities_add_file(ids, identity)))
        rc = signet_wrap(rc, "the admin identity %s", identity);
    const signet_role_def *admin = signet_role_get(SIGNET_ROLE_ADMIN);
    char any[CER_PATH_MAX] = "", not_mine[CER_PATH_MAX] = "";
    /* Newest first: the attempt that deleted the factory key is usually the last
     * one that wrote credentials; older ones' keys are simply refused. */
    for (unsigned n = newest_attempt(out_dir); rc == SIGNET_OK && n > 0; n--) {
        char rel[CER_PATH_MAX], path[2 * CER_PATH_MAX];
        if (!attempt_admin_file(out_dir, n, rel, sizeof rel))
            continue;
        if (!any[0])
            snprintf(any, sizeof any, "%s", rel);
        snprintf(path, sizeof path, "%s/%s", out_dir, rel);
        EVP_PKEY *key = NULL;
        rc = decrypt_key(ids, path, &key);
        if (rc == SIGNET_OK) {
            rc = cer_dev_login(d, admin->auth_id, NULL, key);
            EVP_PKEY_free(key);
            if (rc == SIGNET_OK) {
                snprintf(used, cap, "%s", rel);
                break;
            }
        } else if (rc == SIGNET_E_AUTH && !not_mine[0]) {
            snprintf(not_mine, sizeof not_mine, "%s", rel);
        }
        /* Not for this identity, or another attempt's key: try an older one. */
        if (rc == SIGNET_E_AUTH || rc == SIGNET_E_NOTFOUND) {
            signet_err_clear();
            rc = SIGNET_OK;
        }
    }
    age_identities_free(ids);
    if (rc || used[0])
        return rc;
    if (not_mine[0])
        return signet_fail(SIGNET_E_AUTH, "the %s (serial %u) does not accept the factory key, "
                                          "and %s is not encrypted to the identity %s: give the "
                                          "identity of that attempt's admin holder",
                           d->role, d->serial, not_mine, identity);
    return signet_fail(SIGNET_E_AUTH, "the %s (serial %u) accepts neither the factory key nor %s: "
                                      "reset it physically (docs/ceremony.md, \"Resetting a "
                                      "device\") and run the same command again",
                       d->role, d->serial,
                       any[0] ? "the admin credential of any earlier attempt in this directory"
                              : "an admin credential (no earlier attempt here left one)");
}
