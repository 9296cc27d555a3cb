/* Device error codes: names as yubihsm-shell prints them, and what a person should do. */
#include "signet/proto.h"

const char *yh_err_name(uint8_t code)
{
    switch (code) {
    case YH_ERR_OK: return "success";
    case YH_ERR_INVALID_COMMAND: return "invalid command";
    case YH_ERR_INVALID_DATA: return "invalid data";
    case YH_ERR_INVALID_SESSION: return "invalid session";
    case YH_ERR_AUTHENTICATION_FAILED: return "authentication failed";
    case YH_ERR_SESSIONS_FULL: return "sessions full";
    case YH_ERR_SESSION_FAILED: return "session failed";
    case YH_ERR_STORAGE_FAILED: return "storage failed";
    case YH_ERR_WRONG_LENGTH: return "wrong length";
    case YH_ERR_INSUFFICIENT_PERMISSIONS: return "insufficient permissions";
    case YH_ERR_LOG_FULL: return "log full";
    case YH_ERR_OBJECT_NOT_FOUND: return "object not found";
    case YH_ERR_INVALID_ID: return "invalid id";
    case YH_ERR_SSH_CA_CONSTRAINT_VIOLATION: return "ssh-ca constraint violation";
    case YH_ERR_INVALID_OTP: return "invalid OTP";
    case YH_ERR_DEMO_MODE: return "demo mode";
    case YH_ERR_OBJECT_EXISTS: return "object exists";
    case YH_ERR_ALGORITHM_DISABLED: return "algorithm disabled";
    case YH_ERR_COMMAND_UNEXECUTED: return "command unexecuted";
    default: return "unknown error";
    }
}

const char *yh_err_advice(uint8_t code)
{
    switch (code) {
    case YH_ERR_INVALID_SESSION:
        return "the session expired or was closed; signet reopens sessions automatically, so retry";
    case YH_ERR_AUTHENTICATION_FAILED:
        return "check the authentication key id and its password or private key";
    case YH_ERR_SESSIONS_FULL:
        return "all 16 device sessions are in use; wait 30 s for idle ones to expire, or stop "
               "the programs holding them";
    case YH_ERR_STORAGE_FAILED:
        return "the HSM's object storage is full; delete unused objects (`signet hsm list`, "
               "`signet hsm delete`) or let signet evict on-demand keys";
    case YH_ERR_WRONG_LENGTH:
        return "the request has the wrong length for this command (a bug or a firmware mismatch)";
    case YH_ERR_INSUFFICIENT_PERMISSIONS:
        return "the authentication key or the object lacks a needed capability, or they share "
               "no domain; check with `signet hsm get-info`";
    case YH_ERR_LOG_FULL:
        return "the HSM audit log is full and force-audit is on; run `signet audit drain`";
    case YH_ERR_OBJECT_NOT_FOUND:
        return "no such object in the domains of this authentication key; list them with "
               "`signet hsm list`";
    case YH_ERR_OBJECT_EXISTS:
        return "an object of that type and id exists already; delete it first or pick another id";
    case YH_ERR_INVALID_ID:
        return "the object id is not valid for this command";
    case YH_ERR_ALGORITHM_DISABLED:
        return "this algorithm is disabled on the device";
    default:
        return "";
    }
}
