/* daemon/live/pb_obs.h — an ioc.v1.Batch of Observations in protobuf, by hand.
 *
 * Owns: nothing. The bytes protobuf_c_message_pack writes for an
 * Ioc__V1__Batch whose `observations` are obs[0..n) and which has no
 * events, without protobuf-c's descriptor walk: republish packs one for
 * every incoming message. */
#ifndef IOCD_PB_OBS_H
#define IOCD_PB_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ioc/v1/ioc.pb-c.h"

/* False when an observation carries what only protobuf-c knows how to
 * repack (unknown fields kept from a decoded message, a NULL label):
 * the caller packs that batch with protobuf-c. */
bool iocd_pb_obs_batch_supported(Ioc__V1__Observation *const *obs, size_t n);
/* Packs the batch into `out` (`cap` bytes) and returns its size; when that
 * is more than cap, nothing is written: call again with that much room. */
size_t iocd_pb_obs_batch_pack(Ioc__V1__Observation *const *obs, size_t n, uint8_t *out,
                              size_t cap);

#endif
