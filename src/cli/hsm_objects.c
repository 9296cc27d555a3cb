/* `signet hsm` commands that inspect the device and its objects: info, list,
 * get-info, get-public-key, delete, storage, random, echo.  Options and help are
 * in the table (cmd_hsm.c); the dispatcher opens and closes the session. */
#include <stdlib.h>
#include <string.h>

#include "hsm_cmds.h"
#include "signet/secmem.h"

signet_rc hsm_cmd_info(struct cli_ctx *c, void *args)
{
    (void)args;
    char serial[64], version[64], url[256];
    hsm_devinfo di;
    signet_rc rc = cli_connector_url(c->g, url, sizeof url);
    if (rc == SIGNET_OK)
        rc = hsm_conn_status(c->conn, serial, sizeof serial, version, sizeof version);
    if (rc == SIGNET_OK)
        rc = hsm_device_info(c->conn, &di);
    if (rc)
        return rc;
    printf("connector: %s\n", url);
    printf("connector-status: OK\n");
    printf("connector-version: %s\n", version[0] ? version : "unknown");
    printf("firmware: %u.%u.%u\n", di.major, di.minor, di.patch);
    printf("serial: %u\n", di.serial);
    printf("log: %u/%u entries used\n", di.log_used, di.log_total);
    printf("algorithms:");
    for (size_t i = 0; i < di.n_algorithms; i++)
        printf(" %s", yh_algo_name(di.algorithms[i]));
    printf("\n");
    return SIGNET_OK;
}

signet_rc hsm_cmd_list(struct cli_ctx *c, void *args)
{
    const struct hsm_list_args *a = args;
    hsm_object_ref refs[YH_MAX_OBJECTS];
    size_t n = 0;
    signet_rc rc = hsm_list_objects(c->sess, &a->f, refs, YH_MAX_OBJECTS, &n);
    if (n > YH_MAX_OBJECTS)
        n = YH_MAX_OBJECTS;
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        yh_object_info oi;
        rc = hsm_get_object_info(c->sess, refs[i].id, refs[i].type, &oi);
        if (rc)
            break;
        printf("id=0x%04x type=%s algorithm=%s sequence=%u domains=%s label=%s\n", oi.id,
               yh_type_name(oi.type), yh_algo_name(oi.algorithm), oi.sequence,
               hsm_fmt_domains(oi.domains), hsm_fmt_label(oi.label));
    }
    if (rc == SIGNET_OK)
        cli_progress(c->g, "%zu object%s", n, n == 1 ? "" : "s");
    return rc;
}

signet_rc hsm_cmd_get_info(struct cli_ctx *c, void *args)
{
    const struct hsm_obj_args *a = args;
    yh_object_info oi;
    signet_rc rc = hsm_get_object_info(c->sess, a->id, a->type, &oi);
    if (rc)
        return rc;
    printf("id: 0x%04x\n", oi.id);
    printf("type: %s\n", yh_type_name(oi.type));
    printf("algorithm: %s\n", yh_algo_name(oi.algorithm));
    printf("label: %s\n", hsm_fmt_label(oi.label));
    printf("length: %u\n", oi.len);
    printf("domains: %s\n", hsm_fmt_domains(oi.domains));
    printf("sequence: %u\n", oi.sequence);
    printf("origin: %s\n", hsm_fmt_origin(oi.origin));
    printf("capabilities: %s\n", hsm_fmt_caps(oi.capabilities));
    printf("delegated-capabilities: %s\n", hsm_fmt_caps(oi.delegated_capabilities));
    return SIGNET_OK;
}

signet_rc hsm_cmd_get_public_key(struct cli_ctx *c, void *args)
{
    const struct hsm_obj_args *a = args;
    EVP_PKEY *pk = NULL;
    signet_rc rc = hsm_get_public_key(c->sess, a->id, &pk, NULL);
    if (rc == SIGNET_OK)
        rc = hsm_write_public_pem(pk, a->out);
    EVP_PKEY_free(pk);
    return rc;
}

signet_rc hsm_cmd_delete(struct cli_ctx *c, void *args)
{
    const struct hsm_obj_args *a = args;
    signet_rc rc = hsm_delete_object(c->sess, a->id, a->type);
    if (rc == SIGNET_OK)
        cli_progress(c->g, "deleted %s 0x%04x", yh_type_name(a->type), a->id);
    return rc;
}

signet_rc hsm_cmd_storage(struct cli_ctx *c, void *args)
{
    (void)args;
    hsm_storage st;
    signet_rc rc = hsm_storage_info(c->sess, &st);
    if (rc == SIGNET_OK) {
        printf("records: %u free of %u\n", st.free_records, st.total_records);
        printf("pages: %u free of %u (%u bytes each)\n", st.free_pages, st.total_pages,
               st.page_size);
    }
    return rc;
}

signet_rc hsm_cmd_random(struct cli_ctx *c, void *args)
{
    const struct hsm_random_args *a = args;
    if (a->n < 1 || a->n > 65536)
        return signet_fail(SIGNET_E_ARG, "N is a number of bytes from 1 to 65536, not %u", a->n);
    signet_rc rc = cli_ctx_open(c);
    if (rc)
        return rc;
    uint8_t *buf = malloc(a->n);
    sb_wr hex;
    sbw_init(&hex, 2 * (size_t)a->n + 1);
    rc = buf ? hsm_get_pseudo_random(c->sess, a->n, buf) : signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK)
        rc = hex_encode(&hex, buf, a->n);
    if (rc == SIGNET_OK)
        printf("%.*s\n", (int)hex.len, (const char *)hex.p);
    sbw_free(&hex);
    free(buf);
    return rc;
}

signet_rc hsm_cmd_echo(struct cli_ctx *c, void *args)
{
    const struct hsm_echo_args *a = args;
    const char *text = a->text ? a->text : "signet";
    size_t len = strlen(text);
    if (len > 2048)
        return signet_fail(SIGNET_E_ARG, "echo sends at most 2048 bytes");
    signet_rc rc = cli_ctx_open(c);
    if (rc)
        return rc;
    sb_wr out;
    sbw_init(&out, YH_MAX_FRAME);
    rc = hsm_echo(c->sess, (const uint8_t *)text, len, &out);
    if (rc == SIGNET_OK)
        printf("%.*s\n", (int)out.len, (const char *)out.p);
    sbw_free(&out);
    return rc;
}
