/* daemon/aggregate/dedup.h — the recent horizon of (series, observation time) keys.
 *
 * Owns: a bounded set of the last `capacity` keys seen, oldest evicted
 * first. A message the broker redelivers after a reconnect carries the
 * same series and observation time, so it is recognised and counted once.
 * Memory: about 28 bytes per key (capacity 1,000,000 ≈ 28 MiB: 12 in
 * the ring, 8-byte index entries at most half full), grown as keys
 * arrive. A device that sends two different values with the
 * same timestamp has the second one dropped as a duplicate: that is the
 * rule, documented for integrators. Loop thread only. */
#ifndef IOCD_DEDUP_H
#define IOCD_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iocd_dedup;

/* NULL when capacity is 0 (deduplication off) or out of memory; a
 * capacity above 2^31 keys is taken as 2^31. */
struct iocd_dedup *iocd_dedup_new(size_t capacity);
void iocd_dedup_free(struct iocd_dedup *d);
/* Start loading the index slot of (series, t_ms), so that a later
 * iocd_dedup_check of it does not wait on memory. */
void iocd_dedup_prefetch(const struct iocd_dedup *d, uint32_t series, int64_t t_ms);
/* Start loading the index slots of the `n` keys the next `n` checks of new
 * keys would evict (none while the horizon is not full). */
void iocd_dedup_prefetch_evictions(const struct iocd_dedup *d, size_t n);
/* True if (series, t) is in the horizon; otherwise remembers it and
 * returns false. Out of memory: returns false without remembering. */
bool iocd_dedup_check(struct iocd_dedup *d, uint32_t series, int64_t t_ms);
size_t iocd_dedup_size(const struct iocd_dedup *d);

#endif
