/* record.c - the names of the finished record's enums (record.h): one
 * table per enum, each checked against the enum's size at compile time
 * (and for holes by check_record's unit test). */
#include "record.h"

static const char *const tcp_state_names[] = {
        [ST_CLOSED] = "CLOSED",
        [ST_SYN_SENT] = "SYN_SENT",
        [ST_SYN_RECEIVED] = "SYN_RECEIVED",
        [ST_PARTIAL] = "PARTIAL",
        [ST_ESTABLISHED] = "ESTABLISHED",
        [ST_FIN_WAIT] = "FIN_WAIT",
        [ST_RESET] = "RESET",
};
TABLE_COVERS(tcp_state_names, ST_N);

static const char *const close_reason_names[] = {
        [CLOSE_REASON_FIN] = "closed",
        [CLOSE_REASON_RST] = "reset",
        [CLOSE_REASON_IDLE] = "idle_timeout",
        [CLOSE_REASON_REUSE] = "reused",
        [CLOSE_REASON_EVICT] = "evicted",
        [CLOSE_REASON_EOF] = "open_at_end",
};
TABLE_COVERS(close_reason_names, CLOSE_REASON_N);

static const char *const handshake_names[] = {
        [HS_COMPLETE] = "complete",
        [HS_MIDSTREAM] = "midstream",
        [HS_NO_ACK] = "no_ack",
        [HS_REFUSED] = "refused",
        [HS_UNANSWERED] = "unanswered",
};
TABLE_COVERS(handshake_names, HS_N);

static const char *const zeek_state_names[] = {
        [ZS_S0] = "S0", [ZS_S1] = "S1", [ZS_SF] = "SF", [ZS_REJ] = "REJ", [ZS_S2] = "S2",
        [ZS_S3] = "S3", [ZS_RSTO] = "RSTO", [ZS_RSTR] = "RSTR", [ZS_RSTOS0] = "RSTOS0",
        [ZS_RSTRH] = "RSTRH", [ZS_SH] = "SH", [ZS_SHR] = "SHR", [ZS_OTH] = "OTH",
};
TABLE_COVERS(zeek_state_names, ZS_N);

#define NAME(table, v) ((size_t)(v) < sizeof(table) / sizeof((table)[0]) && (table)[v] ? (table)[v] : "?")

const char *tcp_state_name(enum tcp_state s) { return NAME(tcp_state_names, s); }
const char *close_reason_name(enum close_reason r) { return NAME(close_reason_names, r); }
const char *handshake_name(enum handshake h) { return NAME(handshake_names, h); }
const char *zeek_state_name(enum zeek_state z) { return NAME(zeek_state_names, z); }
