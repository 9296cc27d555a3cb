/* The listening address: parsing, the loopback rule, binding.  See hsmd.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsmd.h"

static bool parse_port(const char *s, uint16_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

signet_rc hsmd_endpoint_parse(const char *spec, struct hsmd_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    const char *colon, *host_start = spec;
    size_t host_len;
    bool bracketed = spec[0] == '[';
    if (bracketed) {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':')
            return signet_fail(SIGNET_E_ARG,
                               "--listen '%s': write an IPv6 address as [ADDR]:PORT", spec);
        host_start = spec + 1;
        host_len = (size_t)(close - host_start);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon)
            return signet_fail(SIGNET_E_ARG, "--listen '%s': expected ADDR:PORT, e.g. %s", spec,
                               HSMD_DEFAULT_LISTEN);
        host_len = (size_t)(colon - spec);
        if (memchr(spec, ':', host_len))
            return signet_fail(SIGNET_E_ARG,
                               "--listen '%s': write an IPv6 address as [ADDR]:PORT", spec);
    }
    if (host_len == 0 || host_len >= sizeof ep->host)
        return signet_fail(SIGNET_E_ARG, "--listen '%s': the address is empty or too long", spec);
    memcpy(ep->host, host_start, host_len);
    ep->host[host_len] = 0;
    if (!parse_port(colon + 1, &ep->port))
        return signet_fail(SIGNET_E_ARG, "--listen '%s': the port must be a number 0..65535 "
                                         "(0 picks a free port)", spec);
    /* "localhost" is the one name accepted: it is what people type, and it cannot
     * resolve to anything but loopback here because we do not resolve it. */
    if (strcmp(ep->host, "localhost") == 0)
        strcpy(ep->host, "127.0.0.1");

    struct sockaddr_in *v4 = (struct sockaddr_in *)&ep->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ep->addr;
    if (!bracketed && inet_pton(AF_INET, ep->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(ep->port);
        ep->addr_len = sizeof *v4;
        uint32_t a = ntohl(v4->sin_addr.s_addr);
        ep->loopback = (a >> 24) == 127;
        ep->wildcard = a == INADDR_ANY;
    } else if (inet_pton(AF_INET6, ep->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(ep->port);
        ep->addr_len = sizeof *v6;
        ep->loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
        ep->wildcard = IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
    } else {
        return signet_fail(SIGNET_E_ARG,
                           bracketed ? "--listen '%s': '%s' in brackets is not an IPv6 address"
                                     : "--listen '%s': '%s' is not a numeric IPv4 or IPv6 address",
                           spec, ep->host);
    }
    return SIGNET_OK;
}

signet_rc hsmd_listen(struct hsmd_endpoint *ep, int *fd_out)
{
    int fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot create a socket: %s", strerror(errno));
    int one = 1;
    /* A restarted daemon must get its port back while old connections sit in TIME_WAIT. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ep->addr.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ep->addr, ep->addr_len) != 0) {
        int e = errno;
        close(fd);
        return signet_fail(SIGNET_E_IO, "cannot listen on %s port %u: %s%s", ep->host, ep->port,
                           strerror(e),
                           e == EADDRINUSE ? " (another signet-hsm or yubihsm-connector is "
                                             "running there: stop it or pick another --listen)"
                                           : "");
    }
    if (listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return signet_fail(SIGNET_E_IO, "cannot listen on %s: %s", ep->host, strerror(e));
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
        int e = errno;
        close(fd);
        return signet_fail(SIGNET_E_IO, "cannot read the bound port: %s", strerror(e));
    }
    ep->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                 : ((struct sockaddr_in *)&bound)->sin_port);
    *fd_out = fd;
    return SIGNET_OK;
}

void hsmd_endpoint_url(const struct hsmd_endpoint *ep, char *out, size_t outlen)
{
    bool v6 = ep->addr.ss_family == AF_INET6;
    snprintf(out, outlen, "http://%s%s%s:%u", v6 ? "[" : "", ep->host, v6 ? "]" : "", ep->port);
}
