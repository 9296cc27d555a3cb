/* The three roles a ceremony creates, with least-privilege capability sets.  The
 * reasoning for every bit is in docs/ceremony.md ("Roles"); in short:
 *   operator  signs, and makes release keys born on the device (generate, export
 *             and import wrapped, evict); reads the log because the signing path
 *             drains it; nothing that changes who may do what.
 *   admin     manages credentials, deletes keys, may reset (decommission); cannot
 *             sign, cannot touch the wrap key or the audit options.
 *   auditor   reads and drains the log; nothing else.
 * Nobody can put, generate, export or delete a wrap key: a new wrap key needs the
 * custodians and a new ceremony. */
#include "ceremony_internal.h"
#include "signet/proto.h"

#define OPERATOR_CAPS                                                                          \
    (YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS) | YH_CAP(YH_CAP_SIGN_ECDSA) |           \
     YH_CAP(YH_CAP_SIGN_EDDSA) | YH_CAP(YH_CAP_GENERATE_ASYMMETRIC_KEY) |                        \
     YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_IMPORT_WRAPPED) |                             \
     YH_CAP(YH_CAP_DELETE_ASYMMETRIC_KEY) | YH_CAP(YH_CAP_SIGN_ATTESTATION_CERTIFICATE) |        \
     YH_CAP(YH_CAP_GET_LOG_ENTRIES) | YH_CAP(YH_CAP_GET_OPTION) |                                \
     YH_CAP(YH_CAP_CHANGE_AUTHENTICATION_KEY))
/* What keys the operator generates may carry: signing and a wrapped backup copy. */
#define OPERATOR_DELEGATED                                                                     \
    (YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS) | YH_CAP(YH_CAP_SIGN_ECDSA) |           \
     YH_CAP(YH_CAP_SIGN_EDDSA) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP))

#define AUDITOR_CAPS (YH_CAP(YH_CAP_GET_LOG_ENTRIES))

#define ADMIN_CAPS                                                                             \
    (YH_CAP(YH_CAP_PUT_AUTHENTICATION_KEY) | YH_CAP(YH_CAP_DELETE_AUTHENTICATION_KEY) |         \
     YH_CAP(YH_CAP_CHANGE_AUTHENTICATION_KEY) | YH_CAP(YH_CAP_DELETE_ASYMMETRIC_KEY) |           \
     YH_CAP(YH_CAP_RESET_DEVICE) | YH_CAP(YH_CAP_GET_LOG_ENTRIES) | YH_CAP(YH_CAP_GET_OPTION))
/* The admin may hand any of the three roles to a new holder, and nothing more. */
#define ADMIN_DELEGATED (ADMIN_CAPS | OPERATOR_CAPS | OPERATOR_DELEGATED | AUDITOR_CAPS)

static const signet_role_def ROLES[SIGNET_ROLE__COUNT] = {
    [SIGNET_ROLE_ADMIN] = {"admin", 0x0002, true, ADMIN_CAPS, ADMIN_DELEGATED, "signet admin"},
    [SIGNET_ROLE_OPERATOR] = {"operator", 0x0003, false, OPERATOR_CAPS, OPERATOR_DELEGATED,
                              "signet operator"},
    [SIGNET_ROLE_AUDITOR] = {"auditor", 0x0004, true, AUDITOR_CAPS, 0, "signet auditor"},
};

const signet_role_def *signet_role_get(signet_role r)
{
    return (unsigned)r < SIGNET_ROLE__COUNT ? &ROLES[r] : NULL;
}
