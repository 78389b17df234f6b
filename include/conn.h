/* conn.h - the connection record and the connection table: one entry per
 * TCP connection, both directions of a 5-tuple mapping to it, expired by
 * idle time from intrusive lists ordered by last activity.  The table owns
 * every live struct conn; a record leaving the table is handed to the
 * finish callback and is invalid after it returns.  What the fields mean
 * is filled in by the state machine (tcpsm.c). */
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
        uint8_t flags;          /* TCP flags of that packet */
};

struct side {
        uint8_t state;          /* enum tcp_state */
        uint8_t prev_state;     /* state before the last change */
        uint8_t once;           /* history letters recorded once (HIST_* bits) */
        uint8_t did_close;      /* sent a FIN or RST */
        uint8_t fin_cnt;        /* FINs sent (saturates) */
        uint8_t data_init;      /* data_seq is set */
        uint8_t wscale;         /* window scale offered on SYN, 0xff none */
        uint8_t est_inferred;   /* (client) handshake completion seen only on a FIN/RST */
        uint16_t mss;           /* MSS offered on SYN, 0 none */
        uint32_t start_seq;     /* ISN (SYN seq), or first seq - 1 mid-stream */
        uint32_t last_seq;      /* highest seq + len (+SYN/FIN) sent */
        uint32_t ack_seq;       /* highest ack the peer sent for this side's data */
        uint32_t seq_wraps;     /* times last_seq wrapped past 2^32 */
        uint32_t ack_wraps;     /* times ack_seq wrapped */
        uint32_t data_seq;      /* payload seen contiguously up to here */
        uint32_t ooo_start;     /* one block of payload seen beyond data_seq */
        uint32_t ooo_end;       /* (ooo_start == ooo_end: none) */
        uint32_t last_syn_seq;  /* seq of the last SYN / SYN-ACK ('s'/'h' repeats) */
        uint32_t last_fin_seq;  /* seq+len of the last FIN ('f' repeats) */
        uint32_t last_rst_seq;  /* seq of the last RST ('r' repeats) */
        uint32_t pkts;          /* packets sent (capture duplicates excluded) */
        uint32_t rexmits;       /* retransmitted payload segments (incl. probes) */
        uint32_t keepalives;    /* TCP keep-alive probes */
        uint32_t probe_rexmits; /* 1-octet probes, counted in rexmits as Zeek does */
        uint32_t zwins;         /* zero-window advertisements */
        uint32_t gaps;          /* ranges acked but never seen (content gaps) */
        uint32_t rexmit_next;   /* log-scale thresholds for 't', 'w', 'g' */
        uint32_t zwin_next;
        uint32_t gap_next;
        uint64_t ip_bytes;      /* sum of IP lengths */
        int64_t last_data_ts;   /* last new payload, ns; 0 = none */
        struct pkt_mark fin;    /* first FIN */
        struct pkt_mark rst;    /* first RST */
        int64_t fin_mylast;     /* at the first FIN: this side's last payload, ns */
        int64_t fin_peerlast;   /*   and the peer's */
        int64_t rst_mylast;     /* at the first RST: this side's last payload, ns */
        int64_t rst_peerlast;   /*   and the peer's */
        int64_t after_peer_fin; /* first new payload after the peer's FIN, ns */
        int64_t after_peer_rst; /* first new payload after the peer's RST, ns */
        uint64_t dup_hash;      /* hash of the last packet (duplicate check) */
        int64_t dup_ts;         /* its time, ns */
};

struct conn {
        uint32_t self;          /* own pool index */
        uint32_t hnext;         /* hash chain, pool index; 0 = end */
        uint32_t lprev, lnext;  /* activity list, pool index; 0 = end */
        uint8_t lclass;         /* which activity list (timeout class) */
        uint8_t family;         /* 4 or 6 */
        uint8_t midstream;      /* capture started after the handshake */
        uint8_t flipped;        /* client is not the first packet's sender */
        uint8_t reason;         /* enum close_reason, set when it leaves */
        uint8_t hist_len;       /* letters in history */
        uint8_t hist_cut;       /* history longer than RS_HISTORY_MAX */
        uint8_t syn_count;      /* client SYNs incl. retransmissions (saturates) */
        uint64_t id;            /* 1, 2, ... in order of first packet */
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

typedef void (*conn_finish_fn)(struct conn *c, void *ctx);

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

/* The live connection of a 5-tuple (either direction), or NULL.  *dir is
 * set to CLIENT when seg was sent by its client. */
struct conn *conn_table_find(struct conn_table *t, const struct segment *seg, int *dir);

/* A new zeroed record for seg's 5-tuple with cli = seg->src; NULL when
 * out of memory.  Call conn_table_remove first for a reused 5-tuple. */
struct conn *conn_table_insert(struct conn_table *t, const struct segment *seg);

/* Swap client and server of a record (before any side state is used). */
void conn_swap_sides(struct conn *c);

/* Hand c to the finish callback with reason and free it. */
void conn_table_remove(struct conn_table *t, struct conn *c, enum close_reason reason);

/* Mark c active at time now and file it under its current timeout class. */
void conn_touch(struct conn_table *t, struct conn *c, int64_t now);

/* Expire what is idle past its timeout at time now. */
void conn_table_expire(struct conn_table *t, int64_t now);

/* Finish every live connection with CLOSE_REASON_EOF. */
void conn_table_flush(struct conn_table *t);

/* Same address and port. */
int conn_ep_eq(const struct endpoint *a, const struct endpoint *b);

/* Hash of a 5-tuple, the same from both directions (also for --shard). */
uint64_t conn_tuple_hash(const struct endpoint *a, const struct endpoint *b);

size_t conn_table_count(const struct conn_table *t);
size_t conn_table_peak(const struct conn_table *t);
uint64_t conn_table_evicted(const struct conn_table *t);

#endif /* RS_CONN_H */
