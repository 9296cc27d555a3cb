/* The emulator's attestation CA for verifiers: the self-signed certificate of
 * attestation key 0 as PEM (hsm_device_ca_pem, `signet-hsm --print-ca`), also
 * written next to the state file as <state>.ca.pem at every start.  The file is
 * derived from the state (nothing is lost if it is), but it is still replaced
 * atomically so that a reader never sees half a certificate. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dev.h"

#define CA_SUFFIX ".ca.pem"

signet_rc hsm_device_ca_pem(hsm_device *dev, sb_wr *pem)
{
    pthread_mutex_lock(&dev->lock);
    const dev_identity *id = &dev->st->id;
    signet_rc rc = SIGNET_OK;
    X509 *x = NULL;
    BIO *bio = NULL;
    const unsigned char *p = id->cert;
    if (!id->present || !(x = d2i_X509(NULL, &p, (long)id->cert_len)) ||
        !(bio = BIO_new(BIO_s_mem())) || PEM_write_bio_X509(bio, x) != 1) {
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the device attestation certificate");
    } else {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        rc = n > 0 ? sbw_put(pem, data, (size_t)n)
                   : signet_fail(SIGNET_E_CRYPTO, "empty attestation certificate");
    }
    BIO_free(bio);
    X509_free(x);
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

signet_rc hsm_device_ca_der(hsm_device *dev, sb_wr *der)
{
    pthread_mutex_lock(&dev->lock);
    const dev_identity *id = &dev->st->id;
    signet_rc rc = id->present ? sbw_put(der, id->cert, id->cert_len)
                               : signet_fail(SIGNET_E_STATE, "the device has no attestation key");
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

static signet_rc write_all(int fd, const uint8_t *p, size_t n, const char *path)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return signet_fail(SIGNET_E_IO, "cannot write %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return SIGNET_OK;
}

signet_rc dev_write_ca_file(hsm_device *dev)
{
    if (!dev->state_path)
        return SIGNET_OK;
    char path[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(path, sizeof path, "%s" CA_SUFFIX, dev->state_path) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
        return signet_fail(SIGNET_E_ARG, "state file path is too long: %s", dev->state_path);
    sb_wr pem;
    sbw_init(&pem, 16384);
    signet_rc rc = hsm_device_ca_pem(dev, &pem);
    if (rc) {
        sbw_free(&pem);
        return rc;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        sbw_free(&pem);
        return signet_fail(SIGNET_E_IO, "cannot create a temporary file next to %s: %s", path,
                           strerror(e));
    }
    /* A certificate is public: readable like any certificate file. */
    if (fchmod(fd, 0644) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot set the mode of %s: %s", tmp, strerror(errno));
    if (!rc)
        rc = write_all(fd, pem.p, pem.len, tmp);
    sbw_free(&pem);
    if (!rc && fsync(fd) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = signet_fail(SIGNET_E_IO, "cannot close %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot replace %s: %s", path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return signet_wrap(rc, "writing the attestation CA certificate");
    }
    return dev_fsync_dir(path);
}
