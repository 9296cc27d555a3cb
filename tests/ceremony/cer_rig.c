/* Helpers for the ceremony tests: see cer_rig.h. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ceremony/cer_rig.h"
#include "common/hsmd_fixture.h"
#include "signet/proto.h"

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
}

static int age_person(struct rig *r, struct rig_person *p, const char *name)
{
    char cmd[2 * RIG_PATH];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->identity, sizeof p->identity, "%s/%s.key", r->dir, name);
    snprintf(cmd, sizeof cmd, "age-keygen -o '%s' 2>/dev/null && age-keygen -y '%s'", p->identity,
             p->identity);
    char *out = NULL;
    if (run_cmd(cmd, &out) != 0 || !out || strncmp(out, "age1", 4) != 0) {
        fprintf(stderr, "rig: age-keygen failed for %s\n", name);
        free(out);
        return -1;
    }
    chomp(out);
    snprintf(p->recipient, sizeof p->recipient, "%s", out);
    free(out);
    return 0;
}

static int ssh_person(struct rig *r, struct rig_person *p, const char *name)
{
    char cmd[2 * RIG_PATH], pub[RIG_PATH + 8];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->identity, sizeof p->identity, "%s/%s_ed25519", r->dir, name);
    snprintf(cmd, sizeof cmd, "ssh-keygen -q -t ed25519 -N '' -C %s@example -f '%s'", name,
             p->identity);
    if (run_cmd(cmd, NULL) != 0) {
        fprintf(stderr, "rig: ssh-keygen failed for %s\n", name);
        return -1;
    }
    snprintf(pub, sizeof pub, "%s.pub", p->identity);
    char *text = NULL;
    size_t len;
    if (test_read_file(pub, &text, &len) != 0)
        return -1;
    chomp(text);
    snprintf(p->recipient, sizeof p->recipient, "%s", text);
    free(text);
    return 0;
}

int rig_init(struct rig *r)
{
    memset(r, 0, sizeof *r);
    const char *tmp = getenv("TMPDIR");
    snprintf(r->dir, sizeof r->dir, "%s/signet-ceremony-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(r->dir)) {
        fprintf(stderr, "rig: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    static const char *const names[RIG_CUSTODIANS] = {"alice", "bob", "chen", "dana", "emil"};
    for (int i = 0; i < RIG_CUSTODIANS; i++)
        if ((i == 1 ? ssh_person(r, &r->custodian[i], names[i])
                    : age_person(r, &r->custodian[i], names[i])) != 0)
            return -1;
    if (age_person(r, &r->admin, "frank") || age_person(r, &r->operator_, "gita") ||
        age_person(r, &r->auditor, "hugo"))
        return -1;
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void rig_cleanup(struct rig *r)
{
    if (r->dir[0])
        nftw(r->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    r->dir[0] = 0;
}

int rig_write_plan(const struct rig *r, const char *path, const char *primary, const char *backup)
{
    char text[16384];
    int n = snprintf(text, sizeof text,
                     "# test plan\nproject signet test ceremony\nprimary %s\nbackup  %s\n"
                     "threshold 3\nlog-name test.example/signet-audit\n",
                     primary, backup);
    for (int i = 0; i < RIG_CUSTODIANS; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "custodian %s %s\n", r->custodian[i].name,
                      r->custodian[i].recipient);
    n += snprintf(text + n, sizeof text - (size_t)n, "admin %s %s\noperator %s %s\nauditor %s %s\n",
                  r->admin.name, r->admin.recipient, r->operator_.name, r->operator_.recipient,
                  r->auditor.name, r->auditor.recipient);
    return test_write_file(path, text, (size_t)n);
}

int rig_signet(const char *env, const char *args, const char *in, char **out, char **err)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s' %s", env ? env : "", test_bin("signet"), args);
    char *e = NULL;
    int rc = run_cmd_full(cmd, in, in ? strlen(in) : 0, out, NULL, &e, 0);
    if (rc != 0 && e)
        fprintf(stderr, "---- signet %s (exit %d) ----\n%s", args, rc, e);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

char *rig_age_decrypt(const char *identity, const char *file)
{
    char cmd[3 * RIG_PATH];
    snprintf(cmd, sizeof cmd, "age -d -i '%s' '%s'", identity, file);
    char *out = NULL;
    if (run_cmd(cmd, &out) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

char *rig_manifest_value(const char *manifest_path, const char *key)
{
    char *text = NULL;
    size_t len;
    if (test_read_file(manifest_path, &text, &len) != 0)
        return NULL;
    size_t klen = strlen(key);
    char *res = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            res = strdup(line + klen + 1);
            break;
        }
    free(text);
    return res;
}

int rig_login_password(const char *url, uint16_t id, const char *password, hsm_conn **c,
                       hsm_session **s)
{
    *s = NULL;
    signet_rc rc = hsm_conn_open(url, c);
    if (rc == SIGNET_OK)
        rc = hsm_session_open(*c, id, password, s);
    return rc;
}

int rig_login_pem(const char *url, uint16_t id, const char *pem, hsm_conn **c, hsm_session **s)
{
    *s = NULL;
    *c = NULL;
    BIO *b = BIO_new_mem_buf(pem, (int)strlen(pem));
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!k)
        return SIGNET_E_PARSE;
    signet_rc rc = hsm_conn_open(url, c);
    if (rc == SIGNET_OK)
        rc = hsm_session_open_asym(*c, id, k, s);
    EVP_PKEY_free(k);
    return rc;
}

void rig_logout(hsm_conn *c, hsm_session *s)
{
    hsm_session_close(s);
    hsm_conn_close(c);
}

int rig_consume_log(hsm_session *s)
{
    hsm_log log;
    memset(&log, 0, sizeof log);
    signet_rc rc = hsm_get_log_entries(s, &log);
    if (rc == SIGNET_OK && log.n)
        rc = hsm_set_log_index(s, log.entries[log.n - 1].number);
    return rc;
}

#define MARKER_ID 0x0042

int rig_mark_device(const char *url, uint16_t *last_number, uint8_t last_digest[16])
{
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    signet_rc rc = rig_login_password(url, 1, "password", &c, &s);
    hsm_object_attrs a = {.id = MARKER_ID, .label = "marker", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_GET_OPAQUE),
                          .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    if (rc == SIGNET_OK)
        rc = hsm_put_opaque(s, &a, (const uint8_t *)"untouched", 9, &id);
    hsm_log log;
    memset(&log, 0, sizeof log);
    if (rc == SIGNET_OK)
        rc = hsm_get_log_entries(s, &log);
    if (rc == SIGNET_OK && log.n) {
        *last_number = log.entries[log.n - 1].number;
        memcpy(last_digest, log.entries[log.n - 1].digest, 16);
    }
    rig_logout(c, s);
    return rc;
}

bool rig_device_untouched(const char *url, uint16_t last_number, const uint8_t last_digest[16])
{
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    signet_rc rc = rig_login_password(url, 1, "password", &c, &s);
    yh_object_info oi;
    if (rc == SIGNET_OK)
        rc = hsm_get_object_info(s, MARKER_ID, YH_TYPE_OPAQUE, &oi);
    hsm_log log;
    memset(&log, 0, sizeof log);
    if (rc == SIGNET_OK)
        rc = hsm_get_log_entries(s, &log);
    bool same = rc == SIGNET_OK && log.n && log.entries[log.n - 1].number == last_number &&
                memcmp(log.entries[log.n - 1].digest, last_digest, 16) == 0;
    rig_logout(c, s);
    return same;
}

int rig_file_sha256_hex(const char *path, char out[65])
{
    char *data = NULL;
    size_t len;
    if (test_read_file(path, &data, &len) != 0)
        return -1;
    uint8_t h[32];
    int ok = EVP_Digest(data, len, h, NULL, EVP_sha256(), NULL) == 1;
    free(data);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    return ok ? 0 : -1;
}

bool rig_file_contains(const char *path, const char *needle)
{
    char *data = NULL;
    size_t len;
    if (test_read_file(path, &data, &len) != 0)
        return false;
    bool found = memmem(data, len, needle, strlen(needle)) != NULL;
    free(data);
    return found;
}
