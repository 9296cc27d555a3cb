/* The pieces of signet-hsm that judge untrusted text: the Host allowlist and the
 * --listen parser, driven directly with the awkward inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "hsmd/hsmd.h"

static void endpoint(const char *spec, struct hsmd_endpoint *ep)
{
    if (hsmd_endpoint_parse(spec, ep) != SIGNET_OK)
        fail_msg("%s: %s", spec, signet_errmsg());
}

static void listen_parse(void **state)
{
    struct hsmd_endpoint ep;
    endpoint("127.0.0.1:12345", &ep);
    assert_string_equal(ep.host, "127.0.0.1");
    assert_int_equal(ep.port, 12345);
    assert_true(ep.loopback);
    endpoint("127.1.2.3:0", &ep);
    assert_true(ep.loopback);
    assert_int_equal(ep.port, 0);
    endpoint("localhost:80", &ep);
    assert_string_equal(ep.host, "127.0.0.1");
    endpoint("[::1]:443", &ep);
    assert_string_equal(ep.host, "::1");
    assert_true(ep.loopback);
    endpoint("0.0.0.0:1", &ep);
    assert_false(ep.loopback);
    assert_true(ep.wildcard);
    endpoint("[::]:1", &ep);
    assert_false(ep.loopback);
    assert_true(ep.wildcard);
    endpoint("192.0.2.7:1", &ep);
    assert_false(ep.loopback);
    assert_false(ep.wildcard);

    const char *bad[] = {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536",
                         "127.0.0.1:-1", "127.0.0.1:+1", "127.0.0.1:1x", "::1:80", "[::1]80",
                         "[::1", "hsm.example:80", "256.0.0.1:1",
                         "[127.0.0.1]:1" /* not an IPv6 address */};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (hsmd_endpoint_parse(bad[i], &ep) != SIGNET_E_ARG)
            fail_msg("accepted --listen %s", bad[i]);
        assert_non_null(strstr(signet_errmsg(), "--listen"));
    }
}

static void hostlist(void **state)
{
    struct hsmd_endpoint ep;
    endpoint("127.0.0.1:12345", &ep);
    struct hsmd_hostlist hl;
    const char *extra[] = {"Signer.Example", "proxy.example:8443", "[2001:db8::1]"};
    assert_int_equal(hsmd_hostlist_init(&hl, &ep, extra, 3), SIGNET_OK);

    const char *good[] = {"localhost:12345", "LOCALHOST:12345", "127.0.0.1:12345",
                          "[::1]:12345", "signer.example:12345", "proxy.example:8443",
                          "[2001:DB8::1]:12345"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!hsmd_host_allowed(&hl, good[i]))
            fail_msg("refused %s", good[i]);

    const char *bad[] = {NULL, "", "localhost", "localhost:", "localhost:80", "localhost:12346",
                         "localhost:012345", "localhost:123450", "localhost:0x3039",
                         "localhost.:12345", "localhost:12345 ", " localhost:12345",
                         "evil.example:12345", "127.0.0.1.evil.example:12345", "::1:12345",
                         "[::1", "[::1]x", "[]:12345", "[::g]:12345", "proxy.example:12345",
                         "local\x01host:12345", "user@localhost:12345", "localhost:12345/x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (hsmd_host_allowed(&hl, bad[i]))
            fail_msg("allowed %s", bad[i] ? bad[i] : "(no Host)");

    char longname[600];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_false(hsmd_host_allowed(&hl, longname));

    /* A bad --allow-host is an error, not an empty entry that matches nothing. */
    const char *junk[] = {"bad host"};
    assert_int_equal(hsmd_hostlist_init(&hl, &ep, junk, 1), SIGNET_E_ARG);
}

/* On port 80 a client may leave the port out of Host. */
static void port_80(void **state)
{
    struct hsmd_endpoint ep;
    endpoint("127.0.0.1:80", &ep);
    struct hsmd_hostlist hl;
    assert_int_equal(hsmd_hostlist_init(&hl, &ep, NULL, 0), SIGNET_OK);
    assert_true(hsmd_host_allowed(&hl, "localhost"));
    assert_true(hsmd_host_allowed(&hl, "localhost:80"));
    assert_false(hsmd_host_allowed(&hl, "localhost:8080"));
}

/* A specific remote address is allowed under its own literal (it cannot be
 * rebound); a wildcard address adds nothing. */
static void listening_address_literal(void **state)
{
    struct hsmd_endpoint ep;
    struct hsmd_hostlist hl;
    endpoint("192.0.2.7:9000", &ep);
    assert_int_equal(hsmd_hostlist_init(&hl, &ep, NULL, 0), SIGNET_OK);
    assert_true(hsmd_host_allowed(&hl, "192.0.2.7:9000"));
    endpoint("0.0.0.0:9000", &ep);
    assert_int_equal(hsmd_hostlist_init(&hl, &ep, NULL, 0), SIGNET_OK);
    assert_false(hsmd_host_allowed(&hl, "0.0.0.0:9000"));
    assert_true(hsmd_host_allowed(&hl, "127.0.0.1:9000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listen_parse),
        cmocka_unit_test(hostlist),
        cmocka_unit_test(port_80),
        cmocka_unit_test(listening_address_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
