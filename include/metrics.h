/* metrics.h - live capture's Prometheus endpoint: it owns counters and
 * histograms of finished connections, the capture counters and the HTTP
 * daemon that serves them, but judges nothing (detect.c does) and reads
 * no packets. */
#ifndef RS_METRICS_H
#define RS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "detect.h"

#define METRICS_MAX_PORTS 64            /* server ports with their own label value */

/* Labels stay low-cardinality: server_port is the server's port as a
 * string (the first METRICS_MAX_PORTS distinct ones; later ones "other"),
 * close_by client|server|none and close_how fin|rst|none (who sent the
 * first FIN/RST, and which), side client|server and how fin|rst (the same,
 * for the histograms of closed connections), kind a detect_kind_name().
 * A labelled series appears once it is non-zero.  Output is sorted:
 * server_port numerically with "other" last, other labels alphabetically,
 * le ascending.  Every function may be called from any thread. */

struct metrics;

struct metrics *metrics_create(void);
/* Serve GET /metrics (Prometheus text exposition format 0.0.4) on addr:port
 * ("127.0.0.1:9101", "[::1]:9101", ":9101" = all addresses) from libmicrohttpd's own thread.
 * Returns 0, or -1 with a one-line reason in err. */
int metrics_serve(struct metrics *m, const char *addr_port, char *err, size_t errlen);
/* A connection finished (called from the capture thread). */
void metrics_conn(struct metrics *m, const struct conn *c, const struct det_result *d);
/* Capture counters, refreshed by the capture thread now and then. */
void metrics_capture(struct metrics *m, uint64_t packets, uint64_t tcp_packets,
                     uint64_t dropped, uint64_t if_dropped, uint64_t open_conns);
/* The exposition text (malloc'd, NUL-terminated; caller frees), also what /metrics serves. */
char *metrics_render(struct metrics *m);
void metrics_destroy(struct metrics *m);   /* stops the server */

#endif /* RS_METRICS_H */
