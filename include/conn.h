/* conn.h - the connection records and the connection table: one compact
 * entry (struct crec) per TCP connection, both directions of a 5-tuple
 * mapping to it, expired by idle time from intrusive lists ordered by last
 * activity.  The table owns every live record; a record leaving the table
 * is handed to the finish callback and is invalid after it returns.  What
 * the fields mean is filled in by the state machine (tcpsm.c), which also
 * turns a leaving record into the full struct conn the detectors read. */
#ifndef RS_CONN_H
#define RS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "decode.h"

#define CLIENT 0
#define SERVER 1

/* Per-endpoint state: what this side has sent, as seen on the wire.  The
 * names follow RFC 9293 where a passive observer can tell them apart. */
enum tcp_state {
        ST_CLOSED = 0,          /* nothing sent yet (RFC: CLOSED/LISTEN) */
        ST_SYN_SENT,            /* sent a SYN */
        ST_SYN_RECEIVED,        /* sent a SYN-ACK */
        ST_PARTIAL,             /* sent data without a SYN seen (mid-stream) */
        ST_ESTABLISHED,         /* handshake done from this side */
        ST_FIN_WAIT,            /* sent a FIN (RFC: FIN-WAIT-1/2, CLOSING, LAST-ACK) */
        ST_RESET,               /* sent a RST */
};

/* Why a record left the table. */
enum close_reason {
        CLOSE_REASON_FIN = 0,   /* both sides sent FIN, then linger passed */
        CLOSE_REASON_RST,       /* a RST, then linger passed */
        CLOSE_REASON_IDLE,      /* idle past its timeout */
        CLOSE_REASON_REUSE,     /* a new connection took over its 5-tuple */
        CLOSE_REASON_EVICT,     /* table full */
        CLOSE_REASON_EOF,       /* open at end of capture */
};

struct pkt_mark {               /* first FIN or RST sent by a side */
        int64_t ts;             /* packet time, ns; 0 = none */
        uint32_t seq, ack;
        uint8_t flags;          /* TH_ACK when that packet had it (other flags not kept) */
};

/* ---- the finished record: what the detectors and reports read ----
 *
 * A struct conn is made from the table's compact record (struct crec
 * below) when a connection leaves the table; it exists only for the
 * finish callback. */

struct side {
        uint8_t state;          /* enum tcp_state */
        uint8_t prev_state;     /* state before the last change */
        uint8_t did_close;      /* sent a FIN or RST */
        uint8_t fin_cnt;        /* FINs sent (saturates) */
        uint8_t wscale;         /* window scale offered on SYN, 0xff none */
        uint8_t est_inferred;   /* (client) handshake completion seen only on a FIN/RST */
        uint16_t mss;           /* MSS offered on SYN, 0 none */
        uint32_t start_seq;     /* ISN (SYN seq), or first seq - 1 mid-stream */
        uint32_t last_seq;      /* highest seq + len (+SYN/FIN) sent */
        uint32_t ack_seq;       /* highest ack the peer sent for this side's data */
        uint32_t seq_wraps;     /* times last_seq wrapped past 2^32 */
        uint32_t ack_wraps;     /* times ack_seq wrapped */
        uint32_t last_fin_seq;  /* seq+len of the last FIN */
        uint32_t pkts;          /* packets sent (capture duplicates excluded) */
        uint32_t rexmits;       /* retransmitted payload segments (incl. probes) */
        uint32_t keepalives;    /* TCP keep-alive probes */
        uint32_t probe_rexmits; /* 1-octet probes, counted in rexmits as Zeek does */
        uint32_t zwins;         /* zero-window advertisements */
        uint32_t gaps;          /* ranges acked but never seen (content gaps) */
        int64_t last_data_ts;   /* last new payload, ns; 0 = none */
        struct pkt_mark fin;    /* first FIN */
        struct pkt_mark rst;    /* first RST */
        int64_t fin_mylast;     /* at the first FIN: this side's last payload, ns */
        int64_t fin_peerlast;   /*   and the peer's */
        int64_t rst_mylast;     /* at the first RST: this side's last payload, ns */
        int64_t rst_peerlast;   /*   and the peer's */
        int64_t after_peer_fin; /* first new payload after the peer's FIN, ns */
        int64_t after_peer_rst; /* first new payload after the peer's RST, ns */
};

struct conn {
        uint64_t id;            /* 1, 2, ... in order of first packet */
        uint8_t family;         /* 4 or 6 */
        uint8_t midstream;      /* capture started after the handshake */
        uint8_t flipped;        /* client is not the first packet's sender */
        uint8_t reason;         /* enum close_reason */
        uint8_t hist_len;       /* letters in history */
        uint8_t hist_cut;       /* history longer than RS_HISTORY_MAX */
        uint8_t syn_count;      /* client SYNs incl. retransmissions (saturates) */
        struct endpoint cli;    /* client: sender of the first SYN */
        struct endpoint srv;
        int64_t first, last;    /* first and last packet, ns */
        int64_t end;            /* last packet that counts for the duration, ns */
        int64_t syn_ts;         /* first client SYN, ns; 0 = none */
        int64_t synack_ts;      /* first server SYN-ACK, ns */
        int64_t est_ts;         /* handshake completed (client ACK of SYN-ACK), ns */
        int64_t idle_ref;       /* last activity before the first FIN/RST, ns */
        uint32_t syn_dt[RS_MAX_SYN_TIMES]; /* client SYN times after the first, µs */
        uint32_t dups;          /* capture duplicates dropped */
        char history[RS_HISTORY_MAX]; /* Zeek history letters, not NUL-terminated */
        struct side s[2];       /* [CLIENT], [SERVER] */
};

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
        uint8_t mark_ack;       /* ACK flag of the first FIN/RST, bit 2 * (0 FIN, 1 RST) + side */
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

typedef void (*conn_finish_fn)(struct crec *r, void *ctx);

struct conn_table;

struct conn_limits {
        int64_t idle_ns;        /* established connections */
        int64_t halfopen_ns;    /* handshake not completed */
        int64_t linger_ns;      /* closed (RST, or FIN from both) */
        uint32_t max_conns;
};

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

/* Mark r active at time now and file it under its current timeout class. */
void conn_touch(struct conn_table *t, struct crec *r, int64_t now);
/* The same with now already an offset of r (crec_off). */
void conn_touch_off(struct conn_table *t, struct crec *r, uint32_t now);

/* Expire what is idle past its timeout at time now. */
void conn_table_expire(struct conn_table *t, int64_t now);

/* Finish every live connection with CLOSE_REASON_EOF. */
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
/* ns to the nearest µs, halves away from zero (no overflow). */
static inline int64_t ns_to_us(int64_t ns)
{
        if (ns >= 0 && ns <= INT64_MAX - 500)   /* packet times: unsigned, cheaper */
                return (int64_t)(((uint64_t)ns + 500) / 1000);
        return ns / 1000 + (ns % 1000 >= 500) - (ns % 1000 <= -500);
}

/* The time of offset off in r, ns (0 for 0). */
static inline int64_t crec_ns(const struct crec *r, uint32_t off)
{
        return off ? (ns_to_us(r->first) + ((int64_t)(off - 1) << r->tshift)) * 1000 : 0;
}

/* An endpoint of r (CLIENT or SERVER). */
void crec_endpoint(const struct conn_table *t, const struct crec *r, int side,
                   struct endpoint *e);

/* Same address and port. */
int conn_ep_eq(const struct endpoint *a, const struct endpoint *b);

/* Hash of a 5-tuple, the same from both directions (also for --shard). */
uint64_t conn_tuple_hash(const struct endpoint *a, const struct endpoint *b);

size_t conn_table_count(const struct conn_table *t);
size_t conn_table_peak(const struct conn_table *t);
uint64_t conn_table_evicted(const struct conn_table *t);

#endif /* RS_CONN_H */
