/* tcpsm.h - the TCP state machine: applies each decoded segment to its
 * connection (creating one, or a new one when the 5-tuple is reused),
 * tracks each side's state, sequence space, counts and Zeek-style history,
 * and derives the per-connection verdicts (conn_state, handshake, close).
 * Owns nothing but its statistics; the table owns the records. */
#ifndef RS_TCPSM_H
#define RS_TCPSM_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "decode.h"

struct tcpsm_stats {
        uint64_t segments;      /* segments applied */
        uint64_t duplicates;    /* capture duplicates dropped */
        uint64_t flagless;      /* segments with none of SYN/FIN/RST */
        uint64_t reused;        /* connections started on a reused 5-tuple */
        uint64_t nomem;         /* segments lost to allocation failure */
};

struct tcpsm {
        struct conn_table *table;
        int64_t linger_ns;      /* see RS_CLOSE_LINGER_S */
        struct tcpsm_stats st;
        void (*finish)(struct conn *c, void *ctx);      /* each connection leaving */
        void *ctx;
};

/* A state machine with its own table; finish (may be NULL) gets every
 * connection as it leaves.  -1 when out of memory. */
int tcpsm_init(struct tcpsm *sm, const struct conn_limits *lim,
               void (*finish)(struct conn *c, void *ctx), void *ctx);
void tcpsm_free(struct tcpsm *sm);

/* Apply one segment (seg->ts set). */
void tcpsm_on_segment(struct tcpsm *sm, const struct segment *seg);

/* The full record of a table record (as the finish callback gets it). */
void tcpsm_expand(const struct conn_table *t, const struct crec *r, struct conn *c);

/* ---- verdicts on a record ---- */

enum close_how { HOW_NONE = 0, HOW_FIN, HOW_RST };

struct close_info {
        int by;                 /* CLIENT, SERVER, or -1 */
        enum close_how how;
        int64_t at;             /* ns; 0 when not closed */
};

void tcpsm_close_info(const struct conn *c, struct close_info *ci);
/* 0 client FIN, 1 client RST, 2 server FIN, 3 server RST, 4 not closed */
size_t tcpsm_close_index(const struct conn *c);
const char *tcpsm_conn_state(const struct conn *c);   /* Zeek conn_state */
const char *tcpsm_handshake(const struct conn *c);    /* complete, refused, ... */
uint64_t tcpsm_bytes(const struct conn *c, int side); /* payload bytes from seq space */
int64_t tcpsm_rtt_ns(const struct conn *c);          /* SYN to handshake ACK, -1 unknown */
/* History letters ('-' when none, '+' when cut); flags_only drops gap
 * letters, which a SYN/FIN/RST-only capture produces on every FIN. */
const char *tcpsm_history(const struct conn *c, int flags_only, char *buf, size_t len);
const char *tcpsm_state_name(enum tcp_state s);
const char *tcpsm_reason_name(enum close_reason r);

#endif /* RS_TCPSM_H */
