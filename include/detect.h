/* detect.h - the detectors: per-connection findings (refused, connect
 * timeouts, keep-alive reuse races, data after RST, reset requests, idle
 * closes) and the intervals that feed the distributions.  They read a
 * finished record and emit facts; they never print and own no memory. */
#ifndef RS_DETECT_H
#define RS_DETECT_H

#include <stdint.h>

#include "record.h"

enum finding_kind {
        DET_REFUSED = 0,                /* SYN answered by RST */
        DET_CONNECT_TIMEOUT,            /* SYNs never answered, attempt abandoned */
        DET_DATA_AFTER_PEER_FIN,        /* new request after the peer's FIN (reuse race) */
        DET_DATA_AFTER_PEER_RST,        /* payload after the peer's RST */
        DET_REQUEST_RESET,              /* server reset a request it never answered */
        DET_IDLE_CLOSE,                 /* closed after being idle */
        DET_NKINDS
};

/* Linux SYN retransmission schedules (Documentation/networking/ip-sysctl.rst:
 * tcp_syn_retries, tcp_syn_linear_timeouts). */
enum syn_schedule { SCHED_UNKNOWN = 0, SCHED_CLASSIC, SCHED_LINEAR };

struct finding {
        uint8_t kind;                   /* enum finding_kind */
        int8_t by;                      /* CLIENT or SERVER: who did it */
        uint8_t inferred;               /* from seq/ack numbers, not seen directly */
        uint8_t how;                    /* idle_close: HOW_FIN or HOW_RST */
        int64_t at;                     /* ns */
        double a, b;                    /* per kind, see below; NAN = unknown */
        /* connect_timeout: a = give-up lower bound s, b = upper bound s,
         *                  sched = enum syn_schedule
         * data_after_peer_fin: a = idle before the peer's FIN s, b = delay
         *                  from the FIN to the data s, answered = peer RST after
         * data_after_peer_rst: b = delay from the RST to the data s
         * request_reset:   a = age of the request when reset s
         * idle_close:      a = idle s */
        uint8_t sched;
        uint8_t answered;
};

#define DET_MAX 6

struct det_opts {
        double min_idle_s;              /* idle_close threshold, see RS_MIN_IDLE_S */
        int64_t capture_end;            /* last packet time, ns (abandonment) */
};

struct det_result {
        struct finding f[DET_MAX];
        int n;
        double syn_to_close;            /* first SYN to first FIN/RST, s; NAN unknown */
        double idle_before_close;       /* last payload to first FIN/RST, s; NAN unknown */
};

void detect_conn(const struct conn *c, const struct det_opts *o, struct det_result *r);

const char *detect_kind_name(enum finding_kind k);
/* A finding's measure (a or b, by kind; the summary's histogram of the
 * kind), NAN when none. */
double detect_kind_value(const struct finding *f);
const char *detect_schedule_name(enum syn_schedule s);

/* Give-up bounds of an unanswered attempt with SYNs at offsets off[0..n-1]
 * (s, off[0] = 0): lower = last SYN, upper = the next retransmission the
 * matching schedule would have sent.  Returns the schedule. */
enum syn_schedule detect_give_up(const double *off, int n, double *lo, double *hi);

#endif /* RS_DETECT_H */
