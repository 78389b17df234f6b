/* config.h - every tunable of rstscope in one place: units, defaults and
 * the command-line flag that overrides each.  Build-time overrides work with
 * -DNAME=value because every value is wrapped in #ifndef. */
#ifndef RS_CONFIG_H
#define RS_CONFIG_H

#include <stdint.h>

/* ---- things you may reasonably want to change ---- */

#ifndef RS_IDLE_TIMEOUT_S
#  define RS_IDLE_TIMEOUT_S     7200  /* an established connection silent this long is
                                         expired and reported as open, s; --idle-timeout */
#endif
#ifndef RS_HALFOPEN_TIMEOUT_S
#  define RS_HALFOPEN_TIMEOUT_S 180   /* a connection whose handshake never completed is
                                         expired after this much silence, s (covers the
                                         127 s classic SYN retry span); --halfopen-timeout */
#endif
#ifndef RS_CLOSE_LINGER_S
#  define RS_CLOSE_LINGER_S     5     /* after a RST, or FINs from both sides, a packet
                                         arriving this much later starts a new connection
                                         on the same 5-tuple, s; --close-linger */
#endif
#ifndef RS_MAX_CONNS
#  define RS_MAX_CONNS          4000000 /* tracked connections at once; at the cap the
                                           oldest idle ones are expired; --max-conns */
#endif

#ifndef RS_MIN_IDLE_S
#  define RS_MIN_IDLE_S         0.5   /* a close after this much idle is an idle_close
                                         finding, s; --min-idle */
#endif
#ifndef RS_CLUSTER_MIN_COUNT
#  define RS_CLUSTER_MIN_COUNT  3     /* smallest cluster, connections; --cluster-min */
#endif

#ifndef RS_SNAPLEN
#  define RS_SNAPLEN            160   /* live: bytes kept of each packet (link, IP and TCP
                                         headers with options); --snaplen */
#endif
#ifndef RS_LIVE_FILTER                /* live: SYN, FIN or RST, IPv4 and IPv6 (no extension
                                         headers); -f to change, --full for all TCP */
#  define RS_LIVE_FILTER "(tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0) or " \
                         "(ip6 and ip6[6] == 6 and ip6[53] & 0x07 != 0)"
#endif

/* ---- obscure ---- */

#ifndef RS_CLUSTER_MIN_SHARE
#  define RS_CLUSTER_MIN_SHARE  0.2   /* smallest cluster share of its group */
#endif
#ifndef RS_CLUSTER_MIN_CENTER_S
#  define RS_CLUSTER_MIN_CENTER_S 0.5 /* shorter intervals are not reported as clusters, s */
#endif
#ifndef RS_CLUSTER_MAX_SERVERS
#  define RS_CLUSTER_MAX_SERVERS 32   /* server endpoints with their own distributions */
#endif

#ifndef RS_TABLE_MIN_BUCKETS
#  define RS_TABLE_MIN_BUCKETS  1024  /* initial hash buckets, power of two */
#endif
#ifndef RS_EVICT_PERCENT
#  define RS_EVICT_PERCENT      1     /* share of the table expired at once at the cap, % */
#endif
#ifndef RS_SWEEP_NS
#  define RS_SWEEP_NS           1000000000 /* connections idle past their timeout are
                                              looked for at most this often (packet
                                              time; live, also the wall clock), ns;
                                              no flag */
#endif
#ifndef RS_DUP_WINDOW_NS
#  define RS_DUP_WINDOW_NS      1000000 /* an identical IP packet on the same connection
                                           within this time is a capture duplicate, ns */
#endif
#ifndef RS_SEQ_TOO_FAR
#  define RS_SEQ_TOO_FAR        1048576 /* a SYN or RST whose seq jumps further than
                                           this from the side's highest seq does not
                                           move it, nor does an ack of 0 jumping
                                           further ahead, bytes; no flag */
#endif
#ifndef RS_RST_ACK_TRUST
#  define RS_RST_ACK_TRUST      (1 << 30) /* a RST's ack is taken as the peer's bytes
                                             received when less than this ahead of
                                             the peer's acked seq, bytes; no flag */
#endif
#ifndef RS_MAX_SYN_TIMES
#  define RS_MAX_SYN_TIMES      8     /* client SYN times kept per connection */
#endif
#ifndef RS_SYN_SLACK_S
#  define RS_SYN_SLACK_S        0.25  /* connect timeouts: a SYN retransmission matches a
                                         schedule point p within this slack plus
                                         RS_SYN_SLACK_SHARE * p, s; no flag */
#endif
#ifndef RS_SYN_SLACK_SHARE
#  define RS_SYN_SLACK_SHARE    0.1   /* the part of that slack proportional to the
                                         point's offset, share of p; no flag */
#endif
#ifndef RS_HISTORY_MAX
#  define RS_HISTORY_MAX        24    /* history letters kept; more are cut, marked '+' */
#endif
#ifndef RS_MAX_ENCAP_DEPTH
#  define RS_MAX_ENCAP_DEPTH    4     /* nested tunnels/labels decoded before giving up */
#endif
#ifndef RS_SPOOL_MEM
#  define RS_SPOOL_MEM          (16 << 20) /* output records kept in memory before they
                                               are sorted into a temporary file, bytes
                                               (bench: 4 MiB made 4x the runs and a 2.7x
                                               slower flags-10M, 32 MiB 18 MiB more RSS) */
#endif
#ifndef RS_SPOOL_FANIN
#  define RS_SPOOL_FANIN        256   /* output: temporary-file runs merged at once (more
                                         are merged in passes first), runs; no flag */
#endif
#ifndef RS_SPOOL_MERGE_MEM
#  define RS_SPOOL_MERGE_MEM    (2 << 20) /* output: read buffers of one merge, shared by
                                             its runs (each 8 KiB to 256 KiB), bytes;
                                             no flag */
#endif
#ifndef RS_WRITE_BUFFER
#  define RS_WRITE_BUFFER       (1 << 20) /* stdio buffer of the report (offline), bytes */
#endif
#ifndef RS_READ_BUFFER
#  define RS_READ_BUFFER        (1 << 20) /* stdio buffer per input file, bytes */
#endif
#ifndef RS_WORKER_BATCH
#  define RS_WORKER_BATCH       4096  /* decoded segments handed to the worker thread
                                         at once (a wake-up costs more than many
                                         segments) */
#endif
#ifndef RS_WORKER_BATCHES
#  define RS_WORKER_BATCHES     8     /* batches in flight each way (segments: each
                                         ~352 KiB; 4 were 7% slower on full-10M, 22%
                                         on flags-10M; 16 no faster) */
#endif

#ifndef RS_RECORD_BATCH
#  define RS_RECORD_BATCH       128   /* finished connections handed back to the
                                         reading thread at once (RS_WORKER_BATCHES
                                         batches, each ~96 KiB) */
#endif

/* RS_NO_SHORTCUTS (defined or not, no value): build without the fast paths
 * (decode.c's Ethernet/IP-to-TCP shortcut, tcpsm.c's one-step path for
 * in-order segments), so every packet goes through the general code;
 * tests/shortcuts-same.sh checks that the output is the same. */

#ifndef RS_PREFETCH_AHEAD
#  define RS_PREFETCH_AHEAD     16    /* the worker asks for a segment's hash bucket
                                         this many segments ahead, and for its
                                         record half as many ahead */
#endif

/* The connection table's limits at run time: the values above, or what
 * the flags set (main.c); read by the table, through the state machine. */
struct conn_limits {
        int64_t idle_ns;        /* established connections, RS_IDLE_TIMEOUT_S */
        int64_t halfopen_ns;    /* handshake not completed, RS_HALFOPEN_TIMEOUT_S */
        int64_t linger_ns;      /* over (RST, or FIN from both), RS_CLOSE_LINGER_S */
        uint32_t max_conns;     /* RS_MAX_CONNS */
};

#endif /* RS_CONFIG_H */
