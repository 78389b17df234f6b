/* conn_table.h - private to the connection table (conn.c) and the state
 * machine (tcpsm.c), which alone know a live record's layout: one compact
 * entry (struct crec) per TCP connection, both directions of a 5-tuple
 * mapping to it, expired by idle time from intrusive lists ordered by last
 * activity, one list per timeout class the state machine assigns.  The
 * table owns every live record; a record leaving the table is handed to
 * the finish callback and is invalid after it returns.  The table does not
 * interpret TCP: what the fields mean is the state machine's, which also
 * turns a leaving record into the finished struct conn (record.h). */
#ifndef RS_CONN_TABLE_H
#define RS_CONN_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "decode.h"
#include "record.h"

/* ---- the table's record: compact, for millions at once ----
 *
 * Times are 32-bit offsets from the first packet (rounded to µs) in units
 * of 2^tshift µs, plus one (0 = never); tshift grows, coarsening every
 * offset of the record, when a connection outlives 2^32 units (71 min at
 * 1 µs).  What not every connection needs lives in extensions allocated
 * on first use: IPv6 addresses (32 bytes), the close details (a 68-byte
 * struct cclose, from the first FIN or RST until the record leaves) and
 * the rare ones (a record-sized struct cext: SYN retransmission times,
 * out-of-order data, counters of retransmissions, keep-alives, zero
 * windows, gaps, duplicates and sequence wraps, and what the peers said
 * after a close). */

enum crec_time {                /* crec.t[] */
        T_LAST, T_END, T_SYN, T_SYNACK, T_EST,
        T_DATA,                 /* + side: last new payload */
        T_N = T_DATA + 2
};

enum cclose_time {              /* cclose.t[] */
        C_FIN = 0, C_RST = 2,   /* + side: first FIN, first RST */
        C_IDLE_REF = 4,         /* last activity before the first FIN/RST */
        C_N = 5
};

/* cext.t[], each + side.  At a side's first FIN (RST) its own last payload
 * is its last payload (it sends none after) and the peer's is the peer's
 * last payload until the peer sends new data: then X_FIN_PEERLAST keeps
 * the value and X_AFTER_FIN of the peer is set. */
enum cext_time {
        X_FIN_PEERLAST = 0, X_RST_PEERLAST = 2, X_AFTER_FIN = 4, X_AFTER_RST = 6, X_N = 8
};

#define CS_DID_CLOSE    0x01
#define CS_DATA_INIT    0x02
#define CS_EST_INFERRED 0x04

struct cside {
        uint8_t state, prev_state;
        uint8_t once;           /* history letters recorded once (HIST_* bits) */
        uint8_t bits;           /* CS_* */
        uint8_t fin_cnt, wscale;
        uint16_t mss;
        uint32_t start_seq, last_seq, ack_seq;
        uint32_t data_seq;      /* payload seen contiguously up to here */
        uint32_t pkts;
};

#define CR_MIDSTREAM    0x01
#define CR_FLIPPED      0x02
#define CR_HIST_CUT     0x04

struct crec {                   /* 160 bytes */
        int64_t first;          /* first packet, ns (exact) */
        uint64_t id;
        uint32_t hnext;         /* hash chain, pool index; 0 = end */
        uint32_t lprev, lnext;  /* activity list, pool index; 0 = end (a record's own
                                   index is found through them, see rec_index) */
        uint32_t ext;           /* struct cext, 0 = none */
        uint32_t close;         /* struct cclose, 0 = none */
        uint32_t t[T_N];        /* enum crec_time offsets */
        uint32_t dup_hash;      /* last packet, at t[T_LAST] (duplicate check) */
        uint32_t ip4[2];        /* [CLIENT], [SERVER]; IPv6: ip4[0] indexes the addresses
                                   in a pool of 32-byte pairs */
        uint16_t port[2];
        uint8_t lclass, family, flags, reason, tshift, syn_count, hist_len;
        uint8_t mark_ack;       /* ACK flag of the first FIN/RST, bit 2 * (0 FIN, 1 RST) + side;
                                   bit 4 + side: that FIN crossed the peer's last payload
                                   (did not ack it) */
        uint8_t hist[(RS_HISTORY_MAX * 5 + 7) / 8];  /* letters, 5 bits each */
        struct cside s[2];
};

struct cclose {                 /* in a pool of its own */
        uint32_t t[C_N];        /* enum cclose_time offsets */
        uint32_t mark_seq[2][2], mark_ack[2][2];        /* [fin, rst][side] */
        uint32_t last_fin_seq[2], last_rst_seq[2];
};

struct cext {                   /* in a record-sized slot of the records' pool */
        uint32_t t[X_N];        /* enum cext_time offsets */
        uint32_t ooo_start[2], ooo_end[2];     /* one block beyond data_seq */
        uint16_t keepalives[2], probe_rexmits[2], zwins[2], gaps[2];   /* saturate */
        uint16_t seq_wraps[2], ack_wraps[2];    /* saturate */
        uint32_t dups;          /* capture duplicates dropped */
        uint32_t rexmits[2];    /* retransmitted payload segments (incl. probes) */
        uint32_t syn_dt[RS_MAX_SYN_TIMES];
};

/* A record's timeout class: which limit expires it. */
enum conn_class {
        CC_HALFOPEN = 0,        /* handshake not completed: conn_limits.halfopen_ns */
        CC_ESTABLISHED,         /* conn_limits.idle_ns */
        CC_CLOSED,              /* over (state machine's conn_over): conn_limits.linger_ns */
        CC_N
};

typedef void (*conn_finish_fn)(struct crec *r, void *ctx);

struct conn_table;

struct conn_table *conn_table_create(const struct conn_limits *lim,
                                     conn_finish_fn finish, void *ctx);
void conn_table_destroy(struct conn_table *t);

/* The live record of a 5-tuple (either direction), or NULL.  *dir is
 * set to CLIENT when seg was sent by its client. */
struct crec *conn_table_find(struct conn_table *t, const struct segment *seg, int *dir);

/* A hint, ahead of conn_table_find(seg): stage 0 asks for seg's hash
 * bucket to be brought into the cache, stage 1 (some segments later) for
 * the record at the head of that bucket.  Reads nothing else. */
void conn_table_prefetch(const struct conn_table *t, const struct segment *seg, int stage);

/* A new zeroed record for seg's 5-tuple with client = seg->src; NULL when
 * out of memory.  Call conn_table_remove first for a reused 5-tuple. */
struct crec *conn_table_insert(struct conn_table *t, const struct segment *seg);

/* Swap client and server of a record: right after conn_table_insert,
 * before a packet is applied (extensions are not swapped). */
void conn_swap_sides(struct conn_table *t, struct crec *r);

/* Hand r to the finish callback with reason and free it. */
void conn_table_remove(struct conn_table *t, struct crec *r, enum close_reason reason);

/* Mark r active at time now (an offset of r, crec_off) and file it under
 * timeout class cls. */
void conn_touch_off(struct conn_table *t, struct crec *r, uint32_t now, enum conn_class cls);

/* Expire what is idle past its class's timeout at time now: records of
 * CC_CLOSED leave with CLOSE_REASON_FIN (the finish callback tells FIN
 * from RST), the others with CLOSE_REASON_IDLE. */
void conn_table_expire(struct conn_table *t, int64_t now);

/* Finish every live connection: CC_CLOSED with CLOSE_REASON_FIN as above,
 * the others with CLOSE_REASON_EOF. */
void conn_table_flush(struct conn_table *t);

/* r's extension, allocated (zeroed) on first use; NULL when out of memory. */
struct cext *conn_ext(struct conn_table *t, struct crec *r);
/* r's extension or NULL, never allocating. */
struct cext *conn_ext_get(const struct conn_table *t, const struct crec *r);
/* The same for r's close details. */
struct cclose *conn_close(struct conn_table *t, struct crec *r);
struct cclose *conn_close_get(const struct conn_table *t, const struct crec *r);

/* The offset of time ts in r (rescaling r when it no longer fits). */
uint32_t crec_off(struct conn_table *t, struct crec *r, int64_t ts);

/* The time of offset off in r, ns (0 for 0). */
static inline int64_t crec_ns(const struct crec *r, uint32_t off)
{
        return off ? (ns_to_us(r->first) + ((int64_t)(off - 1) << r->tshift)) * 1000 : 0;
}

/* An endpoint of r (CLIENT or SERVER). */
void crec_endpoint(const struct conn_table *t, const struct crec *r, int side,
                   struct endpoint *e);

size_t conn_table_count(const struct conn_table *t);
size_t conn_table_peak(const struct conn_table *t);
uint64_t conn_table_evicted(const struct conn_table *t);

#endif /* RS_CONN_TABLE_H */
