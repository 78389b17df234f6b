/* main.c - command line and the packet loop: capture -> decode -> state
 * machine (with its connection table) -> report.  Owns the options, the
 * list of finished records and the exit code; analyses nothing itself. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"
#include "conn.h"
#include "decode.h"
#include "report.h"
#include "tcpsm.h"

/* Exit codes, documented in --help, README and the man page. */
#define EXIT_OK         0       /* analysed everything */
#define EXIT_INTERNAL   1       /* out of memory, write error */
#define EXIT_USAGE      2       /* bad option or argument */
#define EXIT_INPUT      3       /* an input cannot be opened or is not a usable capture */
#define EXIT_PARTIAL    4       /* an input ended with a read error; the report covers what was read */

enum fmt { FMT_TEXT, FMT_JSON };

struct opts {
        enum fmt format;
        int verbose;
        struct conn_limits lim;
        const char **files;
        size_t nfiles;
};

struct results {                /* finished records, in finishing order */
        struct conn *v;
        size_t n, cap;
        int nomem;
};

static void usage(FILE *out)
{
        fprintf(out,
"Usage: rstscope [options] FILE...\n"
"Passive TCP connection-lifecycle analyzer: every connection in a capture,\n"
"who closed it, how (FIN or RST) and when.\n"
"\n"
"Input:\n"
"  FILE...                 pcap or pcapng files, merged in time order; - is stdin\n"
"  -r FILE                 read FILE (as tcpdump -r); may be repeated\n"
"Output:\n"
"  -F, --format FMT        text (default) or json\n"
"  -v, --verbose           more columns in the text table\n"
"Tracking:\n"
"  --idle-timeout S        expire established connections idle S seconds (default %d)\n"
"  --halfopen-timeout S    expire unfinished handshakes after S seconds (default %d)\n"
"  --close-linger S        a packet S seconds after a close starts a new connection (default %d)\n"
"  --max-conns N           connections tracked at once (default %d)\n"
"Other:\n"
"  -h, --help              this help\n"
"  -V, --version           version\n"
"\n"
"Exit codes: 0 ok; 1 internal error; 2 usage error; 3 input cannot be read\n"
"(missing, not a capture, unsupported link type); 4 an input was truncated or\n"
"failed midway (the report covers what was read).\n",
                RS_IDLE_TIMEOUT_S, RS_HALFOPEN_TIMEOUT_S, RS_CLOSE_LINGER_S, RS_MAX_CONNS);
}

static int parse_seconds(const char *s, int64_t *ns)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || v < 0 || v > 1e9)
                return -1;
        *ns = (int64_t)(v * 1e9);
        return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
        enum { O_IDLE = 256, O_HALFOPEN, O_LINGER, O_MAXCONNS };
        static const struct option longopts[] = {
                { "format", required_argument, NULL, 'F' },
                { "verbose", no_argument, NULL, 'v' },
                { "idle-timeout", required_argument, NULL, O_IDLE },
                { "halfopen-timeout", required_argument, NULL, O_HALFOPEN },
                { "close-linger", required_argument, NULL, O_LINGER },
                { "max-conns", required_argument, NULL, O_MAXCONNS },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        int ch;

        o->files = calloc((size_t)argc + 1, sizeof *o->files);
        if (!o->files)
                return EXIT_INTERNAL;
        opterr = 0;             /* our own one-line messages */
        while ((ch = getopt_long(argc, argv, ":F:r:vhV", longopts, NULL)) != -1) {
                switch (ch) {
                case 'F':
                        if (strcmp(optarg, "text") == 0)
                                o->format = FMT_TEXT;
                        else if (strcmp(optarg, "json") == 0)
                                o->format = FMT_JSON;
                        else {
                                fprintf(stderr, "rstscope: unknown format '%s' (text, json)\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'r':
                        o->files[o->nfiles++] = optarg;
                        break;
                case 'v':
                        o->verbose++;
                        break;
                case O_IDLE:
                case O_HALFOPEN:
                case O_LINGER: {
                        int64_t *dst = ch == O_IDLE ? &o->lim.idle_ns :
                                       ch == O_HALFOPEN ? &o->lim.halfopen_ns : &o->lim.linger_ns;
                        if (parse_seconds(optarg, dst) < 0) {
                                fprintf(stderr, "rstscope: bad number of seconds '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                }
                case O_MAXCONNS: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (end == optarg || *end || v == 0 || v > 0xfffff000UL) {
                                fprintf(stderr, "rstscope: bad --max-conns '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        o->lim.max_conns = (uint32_t)v;
                        break;
                }
                case 'h':
                        usage(stdout);
                        free(o->files);
                        exit(EXIT_OK);
                case 'V':
                        printf("rstscope %s (%s)\n", RS_VERSION, pcap_lib_version());
                        free(o->files);
                        exit(EXIT_OK);
                case ':':
                        fprintf(stderr, "rstscope: option '%s' needs an argument (try 'rstscope --help')\n",
                                argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        if (optopt)
                                fprintf(stderr, "rstscope: unknown option '-%c' (try 'rstscope --help')\n",
                                        optopt);
                        else
                                fprintf(stderr, "rstscope: unknown option '%s' (try 'rstscope --help')\n",
                                        argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }
        for (int i = optind; i < argc; i++)
                o->files[o->nfiles++] = argv[i];
        if (o->nfiles == 0) {
                fprintf(stderr, "rstscope: no capture file given (try 'rstscope --help')\n");
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

static void on_finish(struct conn *c, void *ctx)
{
        struct results *r = ctx;

        if (r->n == r->cap) {
                size_t ncap = r->cap ? r->cap * 2 : 1024;
                struct conn *nv = realloc(r->v, ncap * sizeof *nv);
                if (!nv) {
                        r->nomem = 1;
                        return;
                }
                r->v = nv;
                r->cap = ncap;
        }
        r->v[r->n++] = *c;
}

static int by_id(const void *a, const void *b)
{
        const struct conn *x = a, *y = b;
        return x->id < y->id ? -1 : x->id > y->id;
}

int main(int argc, char **argv)
{
        struct opts o = { .format = FMT_TEXT, .lim = {
                .idle_ns = (int64_t)RS_IDLE_TIMEOUT_S * 1000000000,
                .halfopen_ns = (int64_t)RS_HALFOPEN_TIMEOUT_S * 1000000000,
                .linger_ns = (int64_t)RS_CLOSE_LINGER_S * 1000000000,
                .max_conns = RS_MAX_CONNS } };
        struct capture cap;
        struct results res = { 0 };
        struct tcpsm sm = { 0 };
        struct report rep = { 0 };
        struct packet pkt;
        struct segment seg;
        char err[PCAP_ERRBUF_SIZE + 512];
        int64_t now = INT64_MIN, swept = 0;
        int any = 0;
        int rc;

        if ((rc = parse_opts(argc, argv, &o)) != EXIT_OK) {
                free(o.files);
                return rc;
        }
        if (capture_open(&cap, o.files, o.nfiles, err, sizeof err) < 0) {
                fprintf(stderr, "rstscope: %s\n", err);
                capture_close(&cap);
                free(o.files);
                return strcmp(err, "out of memory") ? EXIT_INPUT : EXIT_INTERNAL;
        }
        sm.table = conn_table_create(&o.lim, on_finish, &res);
        if (!sm.table) {
                fprintf(stderr, "rstscope: out of memory\n");
                return EXIT_INTERNAL;
        }
        sm.linger_ns = o.lim.linger_ns;
        sm.idle_ns = o.lim.idle_ns;

        while (capture_next(&cap, &pkt)) {
                enum dec_result dr = decode_frame(pkt.in->linktype, pkt.data, pkt.caplen,
                                                  pkt.len, &seg);
                pkt.in->errors[dr]++;
                if (pkt.ts > now)
                        now = pkt.ts;
                if (rep.first == 0 || pkt.ts < rep.first)
                        rep.first = pkt.ts;
                if (dr != DEC_TCP)
                        continue;
                pkt.in->tcp_packets++;
                seg.ts = pkt.ts;
                /* the packet clock drives expiry, at most once a second */
                if (!any || now - swept >= 1000000000) {
                        any = 1;
                        conn_table_expire(sm.table, now);
                        swept = now;
                }
                tcpsm_on_segment(&sm, &seg);
        }
        conn_table_flush(sm.table);
        rep.last = now == INT64_MIN ? 0 : now;

        for (size_t i = 0; i < cap.nin; i++)
                if (cap.in[i].truncated)
                        fprintf(stderr, "rstscope: %s: capture ends early: %s\n",
                                cap.in[i].name, cap.in[i].error);
        if (res.nomem || sm.st.nomem)
                fprintf(stderr, "rstscope: warning: out of memory, some connections are missing\n");

        if (res.n)
                qsort(res.v, res.n, sizeof *res.v, by_id);
        rep.cap = &cap;
        rep.conns = res.v;
        rep.nconns = res.n;
        rep.st = &sm.st;
        rep.flags_only = sm.st.segments > 0 && sm.st.flagless == 0;
        rep.evicted = conn_table_evicted(sm.table);
        rep.verbose = o.verbose;
        if (o.format == FMT_JSON)
                rc = report_json(stdout, &rep) < 0 ? EXIT_INTERNAL : EXIT_OK;
        else
                report_text(stdout, &rep);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "rstscope: cannot write output: %s\n", strerror(errno));
                rc = EXIT_INTERNAL;
        }
        if (rc == EXIT_OK && (capture_truncated(&cap) || res.nomem || sm.st.nomem))
                rc = capture_truncated(&cap) ? EXIT_PARTIAL : EXIT_INTERNAL;

        conn_table_destroy(sm.table);
        capture_close(&cap);
        free(res.v);
        free(o.files);
        return rc;
}
