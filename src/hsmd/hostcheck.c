/* The Host header allowlist.  A web page the operator visits can make the browser
 * POST to 127.0.0.1:12345 under the page's own name once its DNS name is rebound to
 * loopback; the browser then sends that foreign name as Host.  Accepting only the
 * names we know closes that door.  Names and ports are compared exactly (after
 * lower-casing the name); a Host without a port means port 80, as in HTTP. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hsmd.h"

/* Normalises "name", "name:port", "[v6]" or "[v6]:port" into "name:port" (lower case,
 * IPv6 in brackets).  default_port is used when none is given.  False when the text
 * is not a plausible host. */
static bool normalise(const char *in, unsigned default_port, char out[HSMD_HOST_LEN])
{
    char name[HSMD_HOST_LEN];
    size_t n = 0;
    const char *p = in;
    if (*p == '[') {
        name[n++] = '[';
        for (p++; *p && *p != ']'; p++) {
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return false;
            if (n >= sizeof name - 2)
                return false;
            name[n++] = (char)tolower((unsigned char)*p);
        }
        if (*p != ']' || n == 1)
            return false;
        name[n++] = ']';
        p++;
    } else {
        for (; *p && *p != ':'; p++) {
            if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
                return false;
            if (n >= sizeof name - 1)
                return false;
            name[n++] = (char)tolower((unsigned char)*p);
        }
        if (n == 0)
            return false;
    }
    name[n] = 0;

    unsigned port = default_port;
    if (*p == ':') {
        p++;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 5 || p[digits])
            return false;
        port = 0;
        for (size_t i = 0; i < digits; i++)
            port = port * 10 + (unsigned)(p[i] - '0');
        if (port > 65535)
            return false;
    } else if (*p) {
        return false;
    }
    return snprintf(out, HSMD_HOST_LEN, "%s:%u", name, port) < HSMD_HOST_LEN;
}

static signet_rc add(struct hsmd_hostlist *hl, const char *host, unsigned port)
{
    if (hl->n == sizeof hl->entries / sizeof hl->entries[0])
        return signet_fail(SIGNET_E_ARG, "too many allowed hosts");
    if (!normalise(host, port, hl->entries[hl->n]))
        return signet_fail(SIGNET_E_ARG,
                           "--allow-host '%s' is not a host name, address or NAME:PORT", host);
    hl->n++;
    return SIGNET_OK;
}

signet_rc hsmd_hostlist_init(struct hsmd_hostlist *hl, const struct hsmd_endpoint *ep,
                             const char *const *extra, size_t n_extra)
{
    memset(hl, 0, sizeof *hl);
    signet_rc rc;
    if ((rc = add(hl, "localhost", ep->port)) || (rc = add(hl, "127.0.0.1", ep->port)) ||
        (rc = add(hl, "[::1]", ep->port)))
        return rc;
    /* A specific listening address is reachable under its own literal; an address
     * literal cannot be rebound, so allowing it costs nothing. */
    if (!ep->wildcard && !ep->loopback) {
        char lit[80];
        bool v6 = ep->addr.ss_family == AF_INET6;
        snprintf(lit, sizeof lit, "%s%s%s", v6 ? "[" : "", ep->host, v6 ? "]" : "");
        if ((rc = add(hl, lit, ep->port)))
            return rc;
    }
    for (size_t i = 0; i < n_extra; i++)
        if ((rc = add(hl, extra[i], ep->port)))
            return rc;
    return SIGNET_OK;
}

bool hsmd_host_allowed(const struct hsmd_hostlist *hl, const char *host_header)
{
    char norm[HSMD_HOST_LEN];
    if (!host_header || !normalise(host_header, 80, norm))
        return false;
    for (size_t i = 0; i < hl->n; i++)
        if (strcmp(norm, hl->entries[i]) == 0)
            return true;
    return false;
}
