/* daemon/config/diff.h — what a reload would change: two loaded
 * configurations compared (docs/reload.md).
 *
 * Owns: the comparison of the running configuration with a newly loaded
 * one, and the maps it produces (struct iocd_config_diff): which [adapter]
 * and [alert] sections are kept, changed, added or removed, matched by
 * name. Keys that only a restart can change are named in the refusal; a
 * key is live when the code reads it through the configuration pointer on
 * every use (the list is iocd_config_live_keys in diff.c, with the reason
 * each one is safe). Pure: applies nothing. */
#ifndef IOCD_CONFIG_DIFF_H
#define IOCD_CONFIG_DIFF_H

#include <stdbool.h>

#include "daemon/base/error.h"
#include "daemon/config/config.h"

enum iocd_diff_kind {
    IOCD_DIFF_SAME,    /* identical: its state carries over */
    IOCD_DIFF_CHANGED, /* same name, new definition */
    IOCD_DIFF_ADDED,
};

struct iocd_config_diff {
    /* By index in the new configuration: where it was in the old one
     * (-1: added) and how it changed. Owned. */
    int *adapter_from;
    enum iocd_diff_kind *adapter_kind;
    int *rule_from;
    enum iocd_diff_kind *rule_kind;
    /* A changed rule whose matching, statistic and window stayed the same:
     * its alerts and windows carry over, the new levels apply from the next
     * evaluation. Otherwise they are cleared and the rule starts afresh. */
    bool *rule_keeps_state;
    int adapters_added, adapters_removed, adapters_changed;
    int rules_added, rules_removed, rules_changed;
    bool mqtt_changed; /* any [mqtt] key */
    bool log_changed;  /* any [log] key */
    bool http_changed; /* any live [http] key */
};

/* Compare `cur` (running) with `next`. 0 with *d filled (free it with
 * iocd_config_diff_free), or -1 with err naming every key that only a
 * restart can change ("[store] path, [http] listen") or the adapter
 * change that cannot apply live (its resolutions, or the [aqi] feed). */
int iocd_config_diff(const struct iocd_config *cur, const struct iocd_config *next,
                     struct iocd_config_diff *d, struct iocd_error *err);
void iocd_config_diff_free(struct iocd_config_diff *d);
/* True when a reload can change `section`.`key` in place. */
bool iocd_config_key_is_live(const char *section, const char *key);

#endif
