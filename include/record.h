/* record.h - the finished connection record: what the state machine
 * (tcpsm.c) hands out when a connection leaves its table, with every
 * verdict on it (handshake, close, end, conn_state, history, RTT, bytes)
 * computed once, there.  Detectors, summary, writers and metrics read its
 * fields; none of them recomputes a verdict.  Each enum has one name
 * table (record.c), checked against the enum at compile time. */
#ifndef RS_RECORD_H
#define RS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "decode.h"

/* A table indexed by an enum (designated initializers) has an entry for
 * its last value: checked at compile time after the table. */
#define TABLE_COVERS(table, n) \
        _Static_assert(sizeof(table) / sizeof((table)[0]) == (n), #table " covers its enum")

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
        ST_N
};

/* Why a record left the table (the JSON "end"). */
enum close_reason {
        CLOSE_REASON_FIN = 0,   /* both sides sent FIN, then linger passed */
        CLOSE_REASON_RST,       /* a RST, then linger passed */
        CLOSE_REASON_IDLE,      /* idle past its timeout */
        CLOSE_REASON_REUSE,     /* a new connection took over its 5-tuple */
        CLOSE_REASON_EVICT,     /* table full */
        CLOSE_REASON_EOF,       /* open at end of capture */
        CLOSE_REASON_N
};

/* How far the handshake got. */
enum handshake {
        HS_COMPLETE = 0,        /* the client acked the SYN-ACK (or must have) */
        HS_MIDSTREAM,           /* the capture started after the handshake */
        HS_NO_ACK,              /* SYN-ACK sent, never acked */
        HS_REFUSED,             /* SYN answered by RST */
        HS_UNANSWERED,          /* SYNs only */
        HS_N
};

/* Zeek's conn_state, in the order reports list them. */
enum zeek_state {
        ZS_S0 = 0, ZS_S1, ZS_SF, ZS_REJ, ZS_S2, ZS_S3, ZS_RSTO, ZS_RSTR, ZS_RSTOS0, ZS_RSTRH,
        ZS_SH, ZS_SHR, ZS_OTH,
        ZS_N
};

enum close_how { HOW_NONE = 0, HOW_FIN, HOW_RST };

/* Who sent the connection's first FIN or RST, and which. */
enum close_kind {
        CLOSE_CLIENT_FIN = 0, CLOSE_CLIENT_RST, CLOSE_SERVER_FIN, CLOSE_SERVER_RST,
        CLOSE_NONE,
        CLOSE_N
};

static inline int close_by(enum close_kind k) { return k < CLOSE_NONE ? (int)k / 2 : -1; }
static inline enum close_how close_how_of(enum close_kind k)
{
        return k >= CLOSE_NONE ? HOW_NONE : k % 2 ? HOW_RST : HOW_FIN;
}

/* Names (the JSON values); "?" out of range. */
const char *tcp_state_name(enum tcp_state s);
const char *close_reason_name(enum close_reason r);
const char *handshake_name(enum handshake h);
const char *zeek_state_name(enum zeek_state z);

/* ns to the nearest µs, halves away from zero (no overflow). */
static inline int64_t ns_to_us(int64_t ns)
{
        if (ns >= 0 && ns <= INT64_MAX - 500)   /* packet times: unsigned, cheaper */
                return (int64_t)(((uint64_t)ns + 500) / 1000);
        return ns / 1000 + (ns % 1000 >= 500) - (ns % 1000 <= -500);
}

struct pkt_mark {               /* first FIN or RST sent by a side */
        int64_t ts;             /* packet time, ns; 0 = none */
        uint32_t seq, ack;
        uint8_t flags;          /* TH_ACK when that packet had it (other flags not kept) */
};

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
        uint64_t bytes;         /* verdict: payload bytes from sequence space */
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
        uint8_t reason;         /* enum close_reason: why the record ended */
        uint8_t syn_count;      /* client SYNs incl. retransmissions (saturates) */
        uint8_t flags_only;     /* judged a SYN/FIN/RST-only capture when it ended */
        uint8_t handshake;      /* verdict: enum handshake */
        uint8_t zstate;         /* verdict: enum zeek_state */
        uint8_t close;          /* verdict: enum close_kind (first FIN/RST) */
        struct endpoint cli;    /* client: sender of the first SYN */
        struct endpoint srv;
        int64_t first, last;    /* first and last packet, ns */
        int64_t end;            /* last packet that counts for the duration, ns */
        int64_t syn_ts;         /* first client SYN, ns; 0 = none */
        int64_t synack_ts;      /* first server SYN-ACK, ns */
        int64_t est_ts;         /* handshake completed (client ACK of SYN-ACK), ns */
        int64_t idle_ref;       /* last activity before the first FIN/RST, ns */
        int64_t close_at;       /* verdict: time of the first FIN/RST, ns; 0 = none */
        int64_t rtt_ns;         /* verdict: last SYN before the SYN-ACK to the handshake
                                   ACK, ns; -1 unknown */
        uint32_t syn_dt[RS_MAX_SYN_TIMES]; /* client SYN times after the first, µs */
        uint32_t dups;          /* capture duplicates dropped */
        /* verdict: Zeek history letters ('-' when none, '+' when cut; in a
         * SYN/FIN/RST-only capture without the gap letters every FIN
         * would add), NUL-terminated */
        char history[RS_HISTORY_MAX + 2];
        struct side s[2];       /* [CLIENT], [SERVER] */
};

#endif /* RS_RECORD_H */
