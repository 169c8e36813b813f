/* daemon/live/hub.h — the live feed hub: every observation, event, alert,
 * closed window and device-status change, in order, to whoever listens.
 *
 * Owns: the sequence numbers, a ring of the most recent items (for clients
 * that reconnect and catch up with Last-Event-ID) and the list of sinks
 * (MQTT republish, HTTP live-stream clients). Sinks are called
 * synchronously on the loop thread and must copy what they keep; a sink
 * never blocks (it buffers, bounded, or drops and counts). Loop thread
 * only. Data flows one way: the pipeline emits, sinks consume. */
#ifndef IOCD_LIVE_H
#define IOCD_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum iocd_live_kind {
    IOCD_LIVE_OBS,    /* key obs/SOURCE/DEVICE/METRIC */
    IOCD_LIVE_EVENT,  /* key event/SOURCE/KIND/DEVICE (device "-" when empty) */
    IOCD_LIVE_ALERT,  /* key alert/RULE/SOURCE/DEVICE */
    IOCD_LIVE_WINDOW, /* key window/RES/SOURCE/DEVICE/METRIC (RES like 1m, 1h) */
    IOCD_LIVE_STATUS, /* key status/SOURCE/DEVICE */
    /* The observations of one received message and device, as one
     * ioc.v1.Batch (protobuf only), key obs/SOURCE/DEVICE: for the MQTT
     * republish, not the live stream or the ring. */
    IOCD_LIVE_OBS_BATCH,
    /* The windows of one device and resolution closed together, as one
     * ioc.v1.WindowBatch (protobuf only), key window/RES/SOURCE/DEVICE: for
     * the MQTT republish only, like IOCD_LIVE_OBS_BATCH. */
    IOCD_LIVE_WINDOW_BATCH,
    IOCD_LIVE__COUNT,
};
/* The kinds a live-stream client can ask for (?types=), all by default. */
#define IOCD_LIVE_STREAM_KINDS ((1u << IOCD_LIVE_OBS_BATCH) - 1)

struct iocd_live_item {
    uint64_t seq;             /* 1, 2, 3 ... within this run (0: not a stream kind) */
    enum iocd_live_kind kind;
    const char *key;          /* the topic under [live] prefix; also what patterns match */
    const char *json;         /* one JSON object, no newline */
    size_t json_len;
    const void *pb;           /* ioc.v1 protobuf of the item; NULL when not built */
    size_t pb_len;
    bool retain;              /* MQTT: publish retained (device status) */
};

typedef void (*iocd_live_sink_fn)(void *ud, const struct iocd_live_item *it);

/* What a sink reads of an item: the producer builds only those forms that
 * some sink (or the catch-up ring) wants, and nothing at all when nobody
 * does. */
#define IOCD_LIVE_JSON 1u    /* it->json */
#define IOCD_LIVE_PB 2u      /* it->pb */
#define IOCD_LIVE_CATCHUP 4u /* clients of this sink catch up from the ring (JSON) */
#define IOCD_LIVE_ALL_KINDS ((1u << IOCD_LIVE__COUNT) - 1)
/* The ring keeps items this long after the last catch-up sink left, so a
 * client that reconnects within it catches up; past it, with no
 * live-stream client, items are not built for the ring. */
#define IOCD_LIVE_RING_GRACE_MS (5 * 60 * 1000)

struct iocd_live;

/* Keep the last `ring_items` items for catch-up (0: none). NULL on ENOMEM. */
struct iocd_live *iocd_live_new(size_t ring_items);
void iocd_live_free(struct iocd_live *l);
/* Identifies this run: items of an earlier run cannot be caught up on. */
uint64_t iocd_live_run_id(const struct iocd_live *l);
/* Add a sink for the kinds in `kinds` (bit per enum iocd_live_kind; it
 * may still be handed others and must ignore them) reading `forms`
 * (IOCD_LIVE_JSON | IOCD_LIVE_PB | IOCD_LIVE_CATCHUP); returns a handle > 0,
 * or 0 on ENOMEM. */
unsigned iocd_live_add_sink(struct iocd_live *l, iocd_live_sink_fn fn, void *ud, unsigned kinds,
                            unsigned forms);
/* The forms (IOCD_LIVE_JSON, IOCD_LIVE_PB) an item of `kind` must carry for
 * the sinks and the catch-up ring now; 0: nobody wants it, do not build or
 * emit it. */
unsigned iocd_live_needs(struct iocd_live *l, enum iocd_live_kind kind);
void iocd_live_remove_sink(struct iocd_live *l, unsigned handle);
/* Number each item, keep it in the ring and hand it to every sink. The
 * strings are copied into the ring; the caller keeps its own. */
void iocd_live_emit(struct iocd_live *l, enum iocd_live_kind kind, const char *key,
                    const char *json, size_t json_len, const void *pb, size_t pb_len,
                    bool retain);
/* Hand `fn` every item still in the ring with seq > after, oldest first.
 * Returns 0, or -1 when items after `after` have already left the ring
 * (the caller must resynchronise from the REST API). */
int iocd_live_replay(const struct iocd_live *l, uint64_t after, iocd_live_sink_fn fn, void *ud);
uint64_t iocd_live_last_seq(const struct iocd_live *l);
const char *iocd_live_kind_name(enum iocd_live_kind k); /* "obs", "event", ... */


#endif
