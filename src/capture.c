/* capture.c - opens capture files with libpcap, checks them, and merges
 * their records in timestamp order (rotated tcpdump -C/-G output read as
 * one capture).  Owns pcap handles, stdio buffers and input statistics;
 * knows nothing about what the packets contain beyond the link type. */
#define _GNU_SOURCE             /* fopencookie */
#include <errno.h>
#include <poll.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"

#define MAGIC_PCAP      0xa1b2c3d4u
#define MAGIC_PCAP_NS   0xa1b23c4du
#define MAGIC_PCAPNG    0x0a0d0d0au

/* ---- standard input: the magic is read first, then handed back ---- */

struct peek {                   /* stream that replays the bytes already read */
        FILE *src;
        unsigned char head[4];
        size_t nhead, pos;
};

static ssize_t peek_read(void *cookie, char *buf, size_t size)
{
        struct peek *pk = cookie;
        size_t n = 0;

        while (n < size && pk->pos < pk->nhead)
                buf[n++] = (char)pk->head[pk->pos++];
        if (n < size)
                n += fread(buf + n, 1, size - n, pk->src);
        if (n == 0 && ferror(pk->src))
                return -1;
        return (ssize_t)n;
}

static int peek_close(void *cookie)
{
        free(cookie);
        return 0;
}

/* Read the 4-byte magic of fp and return a stream positioned at the start
 * again (fp itself when it can seek). */
static FILE *magic_read(FILE *fp, int seekable, uint32_t *magic, size_t *got)
{
        unsigned char m[4];
        struct peek *pk;
        cookie_io_functions_t io = { .read = peek_read, .close = peek_close };
        FILE *out;

        *got = fread(m, 1, 4, fp);
        *magic = *got == 4 ? (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 |
                             (uint32_t)m[2] << 8 | m[3] : 0;
        if (seekable)
                return fseek(fp, 0, SEEK_SET) == 0 ? fp : NULL;
        pk = calloc(1, sizeof *pk);
        if (!pk)
                return NULL;
        pk->src = fp;
        memcpy(pk->head, m, *got);
        pk->nhead = *got;
        out = fopencookie(pk, "rb", io);
        if (!out)
                free(pk);
        return out;
}

static int magic_known(uint32_t m)
{
        uint32_t s = (m >> 24) | ((m >> 8) & 0xff00) | ((m << 8) & 0xff0000) | (m << 24);

        return m == MAGIC_PCAP || m == MAGIC_PCAP_NS || m == MAGIC_PCAPNG ||
               s == MAGIC_PCAP || s == MAGIC_PCAP_NS;
}

static const char *magic_format(uint32_t m)
{
        uint32_t s = (m >> 24) | ((m >> 8) & 0xff00) | ((m << 8) & 0xff0000) | (m << 24);

        if (m == MAGIC_PCAPNG)
                return "pcapng";
        if (m == MAGIC_PCAP_NS || s == MAGIC_PCAP_NS)
                return "pcap-ns";
        return "pcap";
}

static void input_release(struct input *in)
{
        if (in->pc)
                pcap_close(in->pc);     /* closes in->fp too */
        else if (in->fp && in->fp != stdin)
                fclose(in->fp);         /* a file, or the stream replaying stdin */
        in->pc = NULL;
        in->fp = NULL;
        free(in->buf);
        in->buf = NULL;
}

/* A record's time in ns, saturated: pcapng can carry any 64-bit time. */
static int64_t ts_ns(int64_t sec, int64_t frac, int64_t scale)
{
        const int64_t lim = INT64_MAX / 1000000000 - 1;

        if (sec > lim)
                return INT64_MAX / 2;
        if (sec < -lim)
                return -(INT64_MAX / 2);
        if (frac < 0 || frac > 1000000000)
                frac = frac < 0 ? 0 : 999999999;
        return sec * 1000000000 + frac * scale;
}

/* Read the next record of an open input into in->hdr/in->data. */
static void input_advance(struct input *in)
{
        struct pcap_pkthdr *h;
        const u_char *d;
        int rc = pcap_next_ex(in->pc, &h, &d);

        if (rc == 1) {
                in->hdr = h;
                in->data = d;
                in->next_ts = ts_ns(h->ts.tv_sec, h->ts.tv_usec, 1);
                return;
        }
        if (rc == PCAP_ERROR) {
                in->truncated = 1;
                snprintf(in->error, sizeof in->error, "%s", pcap_geterr(in->pc));
        }
        in->done = 1;
        input_release(in);
}

/* Open in (again) for reading; on failure err says why. */
static int input_open(struct input *in, char *err, size_t errlen)
{
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        uint32_t magic;
        size_t got;
        FILE *fp;

        if (in->stream)
                fp = in->stream;
        else if (!(fp = fopen(in->name, "rb"))) {
                snprintf(err, errlen, "%s: cannot open: %s", in->name, strerror(errno));
                return -1;
        }
        errno = 0;
        in->fp = magic_read(fp, fp != stdin, &magic, &got);
        if (!in->fp) {
                snprintf(err, errlen, "%s: cannot read: %s", in->name,
                         strerror(errno ? errno : EIO));
                if (fp != stdin)
                        fclose(fp);
                return -1;
        }
        if (got < 4 && ferror(fp)) {
                snprintf(err, errlen, "%s: cannot read: %s", in->name, strerror(errno));
                input_release(in);
                return -1;
        }
        if (got == 0) {
                snprintf(err, errlen, "%s: empty file, not a capture", in->name);
                input_release(in);
                return -1;
        }
        if (!magic_known(magic)) {
                snprintf(err, errlen, "%s: not a pcap or pcapng capture (unknown magic 0x%08x)",
                         in->name, got == 4 ? magic : 0);
                input_release(in);
                return -1;
        }
        snprintf(in->format, sizeof in->format, "%s", magic_format(magic));
        in->buf = malloc(RS_READ_BUFFER);
        if (in->buf)
                setvbuf(in->fp, in->buf, _IOFBF, RS_READ_BUFFER);
        /* only the reading thread reads it: with a worker thread running,
         * stdio would otherwise lock the FILE on each of libpcap's two
         * freads per packet (an atomic operation each, a sixth of the
         * reading thread's time) */
        __fsetlocking(in->fp, FSETLOCKING_BYCALLER);
        in->pc = pcap_fopen_offline_with_tstamp_precision(in->fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
        if (!in->pc) {
                snprintf(err, errlen, "%s: not a readable capture: %s", in->name, ebuf);
                input_release(in);
                return -1;
        }
        in->linktype = pcap_datalink(in->pc);
        if (!decode_link_supported(in->linktype)) {
                const char *nm = pcap_datalink_val_to_name(in->linktype);
                snprintf(err, errlen, "%s: unsupported link type %d (%s)", in->name,
                         in->linktype, nm ? nm : "unknown");
                input_release(in);
                return -1;
        }
        in->done = 0;
        input_advance(in);
        return 0;
}

/* ---- the merge heap, ordered by (next_ts, position in order[]) ---- */

static int heap_less(const struct capture *c, size_t a, size_t b)
{
        const struct input *x = &c->in[a], *y = &c->in[b];

        return x->next_ts != y->next_ts ? x->next_ts < y->next_ts : a < b;
}

static void heap_swap(size_t *h, size_t i, size_t j)
{
        size_t t = h[i];
        h[i] = h[j];
        h[j] = t;
}

static void heap_down(struct capture *c, size_t i)
{
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < c->nheap && heap_less(c, c->heap[l], c->heap[m]))
                        m = l;
                if (r < c->nheap && heap_less(c, c->heap[r], c->heap[m]))
                        m = r;
                if (m == i)
                        return;
                heap_swap(c->heap, i, m);
                i = m;
        }
}

static void heap_push(struct capture *c, size_t idx)
{
        size_t i = c->nheap++;

        c->heap[i] = idx;
        while (i > 0 && heap_less(c, c->heap[i], c->heap[(i - 1) / 2])) {
                heap_swap(c->heap, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
}

static void heap_pop(struct capture *c)
{
        c->heap[0] = c->heap[--c->nheap];
        heap_down(c, 0);
}

static struct capture *sort_ctx;        /* qsort has no context argument */

static int order_cmp(const void *a, const void *b)
{
        size_t x = *(const size_t *)a, y = *(const size_t *)b;
        int64_t tx = sort_ctx->in[x].first_ts, ty = sort_ctx->in[y].first_ts;

        if (tx != ty)
                return tx < ty ? -1 : 1;
        return x < y ? -1 : x > y;
}

/* Room for n inputs; c->nin = n. */
static int capture_alloc(struct capture *c, size_t n, char *err, size_t errlen)
{
        memset(c, 0, sizeof *c);
        c->in = calloc(n ? n : 1, sizeof *c->in);
        c->heap = calloc(n ? n : 1, sizeof *c->heap);
        c->order = calloc(n ? n : 1, sizeof *c->order);
        if (!c->in || !c->heap || !c->order) {
                snprintf(err, errlen, "out of memory");
                return -1;
        }
        c->nin = n;
        return 0;
}

int capture_open(struct capture *c, const char *const *files, size_t n,
                 char *err, size_t errlen)
{
        if (capture_alloc(c, n, err, errlen) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                struct input *in = &c->in[i];
                in->name = files[i];
                if (strcmp(files[i], "-") == 0)
                        in->stream = stdin;
                c->order[i] = i;
                if (input_open(in, err, errlen) < 0)
                        return -1;
                in->first_ts = in->done ? 0 : in->next_ts;
                if (!in->stream)        /* read again when its turn comes */
                        input_release(in);
        }
        sort_ctx = c;
        qsort(c->order, n, sizeof *c->order, order_cmp);
        sort_ctx = NULL;
        return 0;
}

int capture_open_stream(struct capture *c, FILE *fp, const char *name, char *err, size_t errlen)
{
        if (capture_alloc(c, 1, err, errlen) < 0) {
                fclose(fp);
                return -1;
        }
        c->in[0].name = name;
        c->in[0].stream = fp;
        if (input_open(&c->in[0], err, errlen) < 0)
                return -1;
        c->in[0].first_ts = c->in[0].done ? 0 : c->in[0].next_ts;
        return 0;
}

/* Open every input whose first record is due before the earliest record
 * in hand, so the merge stays exact while few files are open at once. */
static void capture_open_due(struct capture *c)
{
        while (c->nopened < c->nin) {
                size_t idx = c->order[c->nopened];
                struct input *in = &c->in[idx];

                if (c->nheap && in->first_ts > c->in[c->heap[0]].next_ts && !in->done)
                        break;
                c->nopened++;
                if (in->done)           /* empty or failed at the first record */
                        continue;
                if (!in->pc && input_open(in, in->error, sizeof in->error) < 0) {
                        in->truncated = 1;
                        in->done = 1;
                        continue;
                }
                if (!in->done)
                        heap_push(c, idx);
        }
}

int capture_next(struct capture *c, struct packet *pkt)
{
        struct input *in;

        if (c->pending) {               /* the previous packet's input, still on top */
                in = c->pending;
                c->pending = NULL;
                input_advance(in);
                if (in->done)
                        heap_pop(c);
                else if (c->nheap > 1)  /* one input: nothing to reorder */
                        heap_down(c, 0);
        }
        capture_open_due(c);
        if (c->nheap == 0)
                return 0;
        in = &c->in[c->heap[0]];
        pkt->in = in;
        pkt->ts = in->next_ts;
        pkt->caplen = in->hdr->caplen;
        pkt->len = in->hdr->len;
        pkt->data = in->data;
        pkt->hdr = in->hdr;
        in->packets++;
        in->caplen_over_len += pkt->caplen > pkt->len;
        in->ts_backwards += in->packets > 1 && pkt->ts < in->last_ts;
        if (in->packets == 1 || pkt->ts < in->first_ts)
                in->first_ts = pkt->ts;
        if (pkt->ts > in->last_ts || in->packets == 1)
                in->last_ts = pkt->ts;
        /* The record stays valid until the next read of this input, which
         * happens on the next call: advance lazily. */
        c->pending = in;
        return 1;
}

/* ---- live capture ---- */

/* "no such device": name the interfaces that exist. */
static void list_ifaces(char *err, size_t errlen)
{
        char ebuf[PCAP_ERRBUF_SIZE];
        pcap_if_t *all, *d;
        size_t n = strlen(err);

        if (pcap_findalldevs(&all, ebuf) != 0)
                return;
        n += (size_t)snprintf(err + n, n < errlen ? errlen - n : 0, " (interfaces:");
        for (d = all; d && n < errlen; d = d->next)
                n += (size_t)snprintf(err + n, errlen - n, " %s", d->name);
        if (n < errlen)
                snprintf(err + n, errlen - n, ")");
        pcap_freealldevs(all);
}

static int live_fail(pcap_t *pc, const char *iface, int rc, char *err, size_t errlen)
{
        switch (rc) {
        case PCAP_ERROR_PERM_DENIED:
        case PCAP_ERROR_PROMISC_PERM_DENIED:
                snprintf(err, errlen, "%s: no permission to capture: run as root or give the binary "
                         "CAP_NET_RAW (setcap cap_net_raw,cap_net_admin=eip rstscope)", iface);
                break;
        case PCAP_ERROR_NO_SUCH_DEVICE:
                snprintf(err, errlen, "%s: no such interface", iface);
                list_ifaces(err, errlen);
                break;
        default:
                snprintf(err, errlen, "%s: cannot capture: %s", iface, pcap_geterr(pc));
                break;
        }
        pcap_close(pc);
        return -1;
}

int capture_open_live(struct capture *c, const char *iface, const char *filter, int snaplen,
                      char *err, size_t errlen, int *usage)
{
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        struct bpf_program prog;
        struct input *in;
        pcap_t *pc;
        int rc;

        *usage = 0;
        if (capture_alloc(c, 1, err, errlen) < 0)
                return -1;
        in = &c->in[0];
        in->name = iface;
        in->live = 1;
        snprintf(in->format, sizeof in->format, "live");
        if (!(pc = pcap_create(iface, ebuf))) {
                snprintf(err, errlen, "%s: cannot capture: %s", iface, ebuf);
                return -1;
        }
        pcap_set_snaplen(pc, snaplen);
        pcap_set_timeout(pc, 100);
        pcap_set_immediate_mode(pc, 1);
        pcap_set_buffer_size(pc, 16 << 20);
        pcap_set_tstamp_precision(pc, PCAP_TSTAMP_PRECISION_NANO);
        rc = pcap_activate(pc);
        if (rc < 0)
                return live_fail(pc, iface, rc, err, errlen);
        in->linktype = pcap_datalink(pc);
        if (!decode_link_supported(in->linktype)) {
                const char *nm = pcap_datalink_val_to_name(in->linktype);
                snprintf(err, errlen, "%s: unsupported link type %d (%s)", iface, in->linktype,
                         nm ? nm : "unknown");
                pcap_close(pc);
                return -1;
        }
        if (filter && *filter) {
                if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
                        snprintf(err, errlen, "bad filter '%s': %s", filter, pcap_geterr(pc));
                        *usage = 1;
                        pcap_close(pc);
                        return -1;
                }
                rc = pcap_setfilter(pc, &prog);
                pcap_freecode(&prog);
                if (rc != 0) {
                        snprintf(err, errlen, "%s: cannot set the filter: %s", iface, pcap_geterr(pc));
                        pcap_close(pc);
                        return -1;
                }
        }
        /* non-blocking, waited for with poll(): libpcap's own wait does not
         * return on its timeout on Linux, and a signal must end the capture */
        if (pcap_setnonblock(pc, 1, ebuf) != 0 || pcap_get_selectable_fd(pc) < 0) {
                snprintf(err, errlen, "%s: cannot poll the capture: %s", iface, ebuf);
                pcap_close(pc);
                return -1;
        }
        in->pc = pc;
        in->nano = pcap_get_tstamp_precision(pc) == PCAP_TSTAMP_PRECISION_NANO;
        return 0;
}

int capture_live_next(struct capture *c, struct packet *pkt)
{
        struct input *in = &c->in[0];
        struct pcap_pkthdr *h;
        const u_char *d;
        int rc = pcap_next_ex(in->pc, &h, &d);

        if (rc == 0) {                  /* nothing yet: wait up to 100 ms (or a signal) */
                struct pollfd pfd = { .fd = pcap_get_selectable_fd(in->pc), .events = POLLIN };
                if (poll(&pfd, 1, 100) <= 0)
                        return 0;
                rc = pcap_next_ex(in->pc, &h, &d);
                if (rc == 0)
                        return 0;
        }
        if (rc != 1) {
                if (rc == PCAP_ERROR) {
                        in->truncated = 1;
                        snprintf(in->error, sizeof in->error, "%s", pcap_geterr(in->pc));
                }
                return -1;
        }
        pkt->in = in;
        pkt->ts = ts_ns(h->ts.tv_sec, h->ts.tv_usec, in->nano ? 1 : 1000);
        pkt->caplen = h->caplen;
        pkt->len = h->len;
        pkt->data = d;
        pkt->hdr = h;
        in->caplen_over_len += pkt->caplen > pkt->len;
        in->ts_backwards += in->packets > 0 && pkt->ts < in->last_ts;
        if (!in->packets || pkt->ts < in->first_ts)
                in->first_ts = pkt->ts;
        if (pkt->ts > in->last_ts)
                in->last_ts = pkt->ts;
        in->packets++;
        return 1;
}

void capture_live_stats(struct capture *c)
{
        struct pcap_stat st;

        if (c->nin && c->in[0].live && c->in[0].pc && pcap_stats(c->in[0].pc, &st) == 0) {
                c->in[0].dropped = st.ps_drop;
                c->in[0].if_dropped = st.ps_ifdrop;
        }
}

pcap_t *capture_pcap(struct capture *c)
{
        return c->nin ? c->in[0].pc : NULL;
}

size_t capture_truncated(const struct capture *c)
{
        size_t n = 0;

        for (size_t i = 0; i < c->nin; i++)
                n += c->in[i].truncated != 0;
        return n;
}

void capture_close(struct capture *c)
{
        for (size_t i = 0; i < c->nin; i++)
                input_release(&c->in[i]);
        free(c->in);
        free(c->heap);
        free(c->order);
        memset(c, 0, sizeof *c);
}
