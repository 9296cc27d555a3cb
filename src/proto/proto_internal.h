/* Helpers shared by the files of the protocol module only. */
#ifndef SIGNET_PROTO_INTERNAL_H
#define SIGNET_PROTO_INTERNAL_H

#include "signet/proto.h"

/* Zero MAC chain, counter 1, the given session id; keys untouched. */
void yh_channel_reset_state(yh_channel *ch, uint8_t session_id);

#endif
