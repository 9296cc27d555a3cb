/* Untrusted bytes from the connector or the network: frames, object info, log
 * entries, capability and domain text, session messages in both directions and
 * wrap blobs.  Each decoder sees the same input; none may crash, leak or read
 * out of bounds, whatever it accepts. */
#include <stdlib.h>
#include <string.h>

#include "signet/proto.h"

static const uint8_t HOST_CH[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const uint8_t CARD_CH[8] = {8, 9, 10, 11, 12, 13, 14, 15};

/* The channel of the factory password with fixed challenges, session 0: the
 * seed corpus holds frames made for it, so the fuzzer starts past the MAC. */
static const yh_channel *fixed_channel(void)
{
    static yh_channel ch;
    static int ready;
    if (!ready) {
        yh_static_keys k;
        if (yh_derive_password_keys("password", 8, &k) != SIGNET_OK ||
            yh_channel_derive(&k, HOST_CH, CARD_CH, 0, &ch) != SIGNET_OK)
            abort();
        ready = 1;
    }
    return &ch;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t cmd;
    const uint8_t *body;
    size_t blen;
    (void)yh_frame_decode(data, size, &cmd, &body, &blen);

    sb_rd r;
    sbr_init(&r, data, size);
    yh_object_info oi;
    if (yh_object_info_decode(&r, &oi) == SIGNET_OK && strlen(oi.label) > YH_LABEL_LEN)
        abort();

    if (size >= YH_LOG_ENTRY_LEN) {
        yh_log_entry e;
        uint8_t again[YH_LOG_ENTRY_LEN];
        yh_log_entry_decode(data, &e);
        yh_log_entry_encode(&e, again);
        if (memcmp(again, data, YH_LOG_ENTRY_LEN) != 0)
            abort(); /* the codec must be a bijection */
        (void)yh_log_entry_verify(&e, data + size - YH_LOG_DIGEST_LEN);
    }

    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    uint64_t caps;
    if (yh_caps_parse(text, &caps) == SIGNET_OK) {
        /* Whatever parses formats and parses back to the same mask. */
        char buf[2048];
        sb_wr w;
        sbw_init_fixed(&w, buf, sizeof buf - 1);
        uint64_t back = 0;
        if (yh_caps_format(caps, &w) != SIGNET_OK)
            abort();
        buf[w.len] = '\0';
        if (yh_caps_parse(buf, &back) != SIGNET_OK || back != caps)
            abort();
    }
    uint16_t domains;
    (void)yh_domains_parse(text, &domains);
    free(text);

    sb_wr out;
    sbw_init(&out, YH_MAX_FRAME);
    yh_channel dev = *fixed_channel(), host = *fixed_channel();
    (void)yh_channel_unwrap_command(&dev, data, size, &out);
    sbw_reset(&out);
    (void)yh_channel_unwrap_response(&host, data, size, &out);
    sbw_reset(&out);
    (void)yh_channel_check_auth(&dev, data, size, HOST_CH, CARD_CH);
    (void)yh_ccm_open(fixed_channel()->s_enc, YH_KEY_LEN, data, size, &out);
    sbw_free(&out);
    return 0;
}
