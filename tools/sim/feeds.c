/*
 * tools/sim/feeds.c: iocd-sim's feed table. One row per feed: its name (for
 * --feeds, --NAME, --interval-NAME and the topic), what it counts, device
 * ids, default count and interval, --help text, and the model's functions.
 * The order is part of the output: a device's PRNG stream is derived from
 * its row's index, so rows are only ever appended.
 */
#include "sim.h"

const struct subsystem SUBSYSTEMS[SIM_NSUB] = {
    { "air", "air-quality stations", "GL-AQ", 2, "data", 8, 10.0,
      "seconds between messages of one station",
      "JSON on <prefix>/air/<id>/data",
      air_emit, NULL, NULL, NULL, NULL },
    { "traffic", "traffic counters", "GL-TC", 3, "count", 40, 5.0,
      "seconds between messages of one counter",
      "JSON on <prefix>/traffic/<id>/count",
      traffic_emit, NULL, NULL, NULL, NULL },
    { "water", "water-level gauges", "GL-WL", 2, "level", 6, 30.0,
      "seconds between messages of one gauge",
      "JSON on <prefix>/water/<id>/level",
      water_emit, NULL, NULL, NULL, NULL },
    { "weather", "weather stations", "GL-WS", 2, "senml", 3, 60.0,
      "seconds between messages of one station",
      "SenML JSON on <prefix>/weather/<id>/senml",
      weather_emit, NULL, weather_init, NULL, NULL },
    { "rain", "rain gauges", "GL-RG", 2, "intensity", 6, 60.0,
      "seconds between messages of one gauge",
      "a bare number (mm/h) on <prefix>/rain/<id>/intensity",
      rain_emit, NULL, rain_init, NULL, NULL },
    { "violations", "traffic cameras", "GL-CAM", 3, "event", 24, 480.0,
      "mean seconds between violations at one camera",
      "JSON events on <prefix>/violations/<id>/event",
      violation_emit, NULL, violation_init, NULL, NULL },
    { "lighting", "street-light cabinets", "GL-LC", 3, "", 20, 30.0,
      "seconds between DDATA of one cabinet",
      "Sparkplug B, one device per cabinet:\n"
      "spBv1.0/pleiku-lighting/{NBIRTH,NDEATH}/GL-LC-EDGE1,\n"
      "spBv1.0/pleiku-lighting/{DBIRTH,DDATA}/GL-LC-EDGE1/<id>",
      lighting_emit, lighting_devices, lighting_init, NULL, NULL },
    { "bus", "buses", "gateway", 1, "lp", 12, 10.0,
      "seconds between messages of one gateway",
      "InfluxDB line protocol, one line per bus, on\n"
      "<prefix>/bus/gateway<N>/lp (up to 50 buses a gateway)",
      bus_emit, bus_devices, bus_init, NULL, bus_registry },
    { "fire", "fire-alarm panels", "GL-FA", 3, "alarm", 15, 9000.0,
      "mean seconds between events of one panel",
      "JSON events on <prefix>/fire/<id>/alarm",
      fire_emit, NULL, fire_init, NULL, fire_registry },
    { "reports", "city-app report sources", "app", 0, "event", 1, 120.0,
      "mean seconds between new reports of one source",
      "JSON events on <prefix>/reports/app/event (app2, ...)",
      reports_emit, NULL, reports_init, reports_destroy, NULL },
    { "parking", "off-street car parks", "GL-PK", 2, "notify", 6, 30.0,
      "seconds between notifications",
      "FIWARE NGSI-v2 notifications (up to 50 car parks each)\n"
      "on <prefix>/parking/ngsi/notify",
      parking_emit, parking_devices, parking_init, NULL, parking_registry },
};
