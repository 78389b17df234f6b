/* capture.h - reads packets from one or more capture files (or standard
 * input) through libpcap and hands them out merged in timestamp order.
 * Owns the pcap handles and the per-input statistics; does not decode. */
#ifndef RS_CAPTURE_H
#define RS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

#include "decode.h"

struct input {                  /* one capture file, in command-line order */
        const char *name;       /* as given; "-" is standard input */
        char format[8];         /* "pcap", "pcap-ns" or "pcapng" */
        int linktype;           /* DLT of the file */
        uint64_t packets;       /* records read */
        uint64_t tcp_packets;   /* records that decoded to a TCP segment */
        uint64_t errors[DEC_NRESULTS]; /* per decode result (errors from DEC_FRAGMENT on) */
        int truncated;          /* reading stopped early on a read error */
        char error[PCAP_ERRBUF_SIZE * 2]; /* why, when truncated */
        int64_t first_ts, last_ts; /* first/last record time, ns (0 when none) */
        uint64_t ts_backwards;  /* records stamped earlier than a record before them */
        uint64_t caplen_over_len; /* records whose captured length exceeds the wire length */
        /* private */
        pcap_t *pc;             /* open handle, or NULL */
        FILE *fp;               /* its stream */
        char *buf;              /* its stdio buffer */
        int64_t next_ts;        /* time of the record in hand */
        const struct pcap_pkthdr *hdr; /* record in hand (valid until next read) */
        const uint8_t *data;
        int done;               /* no more records */
        FILE *stream;           /* read once from here (stdin, or a caller's stream), or NULL */
        int live;               /* a live interface */
        int nano;               /* live: timestamps in ns (else µs) */
        uint64_t dropped;       /* live: dropped by the kernel (pcap_stats ps_drop) */
        uint64_t if_dropped;    /* live: dropped by the interface (ps_ifdrop) */
};

struct capture {
        struct input *in;       /* inputs, owned */
        size_t nin;
        size_t *heap;           /* indices of open inputs, min-heap on next_ts */
        size_t nheap;
        size_t *order;          /* inputs sorted by first record time */
        size_t nopened;         /* inputs of order[] opened so far */
        struct input *pending;  /* input of the packet handed out last */
};

/* A packet as handed out: valid until the next capture_next() call. */
struct packet {
        struct input *in;       /* where it came from */
        int64_t ts;             /* ns since the epoch */
        uint32_t caplen, len;   /* captured and wire length */
        const uint8_t *data;
        const struct pcap_pkthdr *hdr; /* libpcap's header (for pcap_dump) */
};

/* Open and check every file (header, link type).  On failure returns -1
 * with a one-line message "FILE: cause" in err.  Files are read again
 * lazily, so many rotated files never hold many buffers at once. */
int capture_open(struct capture *c, const char *const *files, size_t n,
                 char *err, size_t errlen);

/* One input read from an open stream (owned from now on, closed by
 * capture_close; stdin is never closed). */
int capture_open_stream(struct capture *c, FILE *fp, const char *name, char *err, size_t errlen);

/* Next packet in timestamp order: 1 and *pkt filled, 0 at the end. Read
 * errors end that input (marked truncated) and reading goes on. */
int capture_next(struct capture *c, struct packet *pkt);

/* Live capture on iface with a BPF filter (NULL: none).  Errors return -1
 * with a one-line reason in err and *usage set when the filter was at
 * fault (a usage error rather than an input one). */
int capture_open_live(struct capture *c, const char *iface, const char *filter, int snaplen,
                      char *err, size_t errlen, int *usage);
/* Next live packet: 1 with *pkt filled, 0 when the read timed out (about
 * 100 ms without a packet), -1 when the capture failed (reason in the
 * input's error). */
int capture_live_next(struct capture *c, struct packet *pkt);
/* Refresh the live input's drop counters. */
void capture_live_stats(struct capture *c);
pcap_t *capture_pcap(struct capture *c);

/* Number of inputs that ended with a read error. */
size_t capture_truncated(const struct capture *c);

void capture_close(struct capture *c);

#endif /* RS_CAPTURE_H */
