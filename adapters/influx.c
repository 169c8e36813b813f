/* placeholder: adapters/influx.c is being written in this session */
#include "adapter.h"
static int influx_create(const struct iocd_ini *ini, struct iocd_ini_section *section, const char *source, void **state, struct iocd_error *err) { (void)ini; (void)section; (void)source; *state = NULL; return iocd_error_set(err, "influx adapter not yet built"); }
static enum iocd_reject influx_decode(void *state, const struct iocd_message *msg, struct iocd_batch *out) { (void)state; (void)msg; (void)out; return IOCD_REJECT_MALFORMED; }
static void influx_destroy(void *state) { (void)state; }
const struct iocd_adapter_ops iocd_adapter_influx = { .name = "influx", .create = influx_create, .decode = influx_decode, .destroy = influx_destroy };
