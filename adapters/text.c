/* placeholder: adapters/text.c is being written in this session */
#include "adapter.h"
static int text_create(const struct iocd_ini *ini, struct iocd_ini_section *section, const char *source, void **state, struct iocd_error *err) { (void)ini; (void)section; (void)source; *state = NULL; return iocd_error_set(err, "text adapter not yet built"); }
static enum iocd_reject text_decode(void *state, const struct iocd_message *msg, struct iocd_batch *out) { (void)state; (void)msg; (void)out; return IOCD_REJECT_MALFORMED; }
static void text_destroy(void *state) { (void)state; }
const struct iocd_adapter_ops iocd_adapter_text = { .name = "text", .create = text_create, .decode = text_decode, .destroy = text_destroy };
