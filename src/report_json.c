/* report_json.c - the JSON document (jansson).  The envelope is written
 * by hand and each connection is dumped as its own small object, one per
 * line, so the document never exists as one tree in memory.  Field names
 * are an interface: scripts rely on them (see the man page). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(16))

static const char *const close_keys[5] = {
        "client_fin", "client_rst", "server_fin", "server_rst", "none",
};

/* Seconds with microsecond precision, or null for "never". */
static json_t *jtime(int64_t ns)
{
        if (!ns)
                return json_null();
        return json_real((double)((ns + (ns >= 0 ? 500 : -500)) / 1000) / 1e6);
}

static json_t *jendpoint(int family, const struct endpoint *e)
{
        char ip[64];

        return json_pack("{s:s, s:i}", "ip", report_ip(family, e, ip, sizeof ip), "port", (int)e->port);
}

static json_t *jnum(double v)
{
        return isnan(v) ? json_null() : json_real(round(v * 1e6) / 1e6);
}

static const char *side_name(int s) { return s == CLIENT ? "client" : "server"; }

/* ---- per-connection records, written by hand ----
 *
 * A record is made for every connection, so it is formatted straight into
 * a caller's buffer with no allocation; the output is byte for byte what
 * jansson writes with JSON_FLAGS (the envelope above and below still uses
 * jansson).  A microsecond count is written as jansson writes the double
 * us / 1e6 with "%.16g": plain decimals, exponent form below 1e-4. */

/* Everything below is inlined into the two record functions, so the
 * writer's position stays in a register instead of memory. */
#define INLINE inline __attribute__((always_inline))

struct jb {
        char *p, *end;
        int full;               /* the buffer was too small */
        uint64_t sec;           /* the whole seconds put_usec wrote last, */
        uint8_t slen;           /*   and their digits: a record's times mostly */
        char stxt[23];          /*   share them */
};

#define JB_INIT(buf, len) { .p = (buf), .end = (buf) + (len), .sec = UINT64_MAX }

static INLINE void put_raw(struct jb *b, const char *s, size_t n)
{
        if ((size_t)(b->end - b->p) < n) {
                b->full = 1;
                return;
        }
        memcpy(b->p, s, n);
        b->p += n;
}

#define LIT(b, s) put_raw((b), (s), sizeof(s) - 1)

/* The first n bytes of s, an array of cap >= n bytes: the whole array is
 * copied when there is room for it (a copy of constant size once inlined;
 * what lands past n is overwritten by what follows, or lies past the
 * record's end). */
static INLINE void put_short(struct jb *b, const char *s, size_t cap, size_t n)
{
        if ((size_t)(b->end - b->p) >= cap) {
                memcpy(b->p, s, cap);
                b->p += n;
        } else {
                put_raw(b, s, n);
        }
}

static const char digits2[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";

/* The decimal digits of v, ending at end; returns where they start. */
static INLINE char *fmt_u64(char *end, uint64_t v)
{
        char *q = end;

        while (v >= 100) {
                q -= 2;
                memcpy(q, digits2 + (v % 100) * 2, 2);
                v /= 100;
        }
        if (v >= 10) {
                q -= 2;
                memcpy(q, digits2 + v * 2, 2);
        } else {
                *--q = (char)('0' + v);
        }
        return q;
}

static INLINE size_t ndigits(uint64_t v)
{
        size_t n = 1;

        for (; v >= 10000; v /= 10000)
                n += 4;
        return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* v in decimal, written in place (no copy: a record is mostly numbers) */
static INLINE void put_u64(struct jb *b, uint64_t v)
{
        size_t n = ndigits(v);

        if ((size_t)(b->end - b->p) < n) {
                b->full = 1;
                return;
        }
        fmt_u64(b->p + n, v);
        b->p += n;
}

/* Whole seconds of a time, from the record's last ones when the same. */
static INLINE void put_secs(struct jb *b, uint64_t s)
{
        if (s != b->sec) {
                char *q = fmt_u64(b->stxt + sizeof b->stxt, s);
                b->slen = (uint8_t)(b->stxt + sizeof b->stxt - q);
                memmove(b->stxt, q, b->slen);
                b->sec = s;
        }
        put_short(b, b->stxt, sizeof b->stxt, b->slen);
}

/* A string of rstscope's own (names, addresses, history letters): none
 * needs escaping, so it is copied as is. */
static INLINE void put_str(struct jb *b, const char *s)
{
        LIT(b, "\"");
        put_raw(b, s, strlen(s));
        LIT(b, "\"");
}

/* jansson's real: "%.16g", ".0" added to integers, exponent without '+'
 * or leading zeros.  Used only where the fast path below does not apply. */
static void put_real_slow(struct jb *b, double v)
{
        char t[40], *e;
        int n = snprintf(t, sizeof t - 2, "%.16g", v);

        if (n < 0 || (size_t)n >= sizeof t - 2) {
                LIT(b, "null");
                return;
        }
        if (!strchr(t, '.') && !strchr(t, 'e') && !strchr(t, 'n') && !strchr(t, 'i'))
                memcpy(t + n, ".0", 3);
        if ((e = strchr(t, 'e')) != NULL) {
                char *from = e + 1, *to = e + 1;
                if (*from == '-')
                        from++, to++;
                else if (*from == '+')
                        from++;
                while (*from == '0' && from[1])
                        from++;
                memmove(to, from, strlen(from) + 1);
        }
        put_raw(b, t, strlen(t));
}

static INLINE void put_usec(struct jb *b, int64_t us)
{
        uint64_t a = us < 0 ? -(uint64_t)us : (uint64_t)us;
        char t[8];

        if (a >= 10000000000000000ULL) {
                put_real_slow(b, (double)us / 1e6);
                return;
        }
        if (us < 0)
                LIT(b, "-");
        if (a == 0) {
                LIT(b, "0.0");
        } else if (a < 10) {            /* 1e-6 .. 9e-6 */
                put_u64(b, a);
                LIT(b, "e-6");
        } else if (a < 100) {           /* 1e-5 .. 9.9e-5 */
                put_u64(b, a / 10);
                if (a % 10) {
                        t[0] = '.';
                        t[1] = (char)('0' + a % 10);
                        put_raw(b, t, 2);
                }
                LIT(b, "e-5");
        } else {
                uint32_t frac = (uint32_t)(a % 1000000);
                int n = 7;

                put_secs(b, a / 1000000);
                if (!frac) {
                        LIT(b, ".0");
                        return;
                }
                t[0] = '.';                     /* six digits, trailing zeros cut */
                memcpy(t + 1, digits2 + frac / 10000 * 2, 2);
                memcpy(t + 3, digits2 + frac / 100 % 100 * 2, 2);
                memcpy(t + 5, digits2 + frac % 100 * 2, 2);
                while (t[n - 1] == '0')
                        n--;
                put_short(b, t, sizeof t, (size_t)n);
        }
}

/* Seconds with microsecond precision, or null for "never" (0). */
static INLINE void put_time(struct jb *b, int64_t ns)
{
        if (!ns)
                LIT(b, "null");
        else
                put_usec(b, ns_to_us(ns));
}

static INLINE void put_dur(struct jb *b, int64_t ns)
{
        put_usec(b, ns > INT64_MAX - 500 ? INT64_MAX / 1000 : (ns + 500) / 1000);
}

static INLINE void put_num(struct jb *b, double v)
{
        double r;

        if (isnan(v)) {
                LIT(b, "null");
                return;
        }
        r = round(v * 1e6);
        if (fabs(r) < 9e15)
                put_usec(b, (int64_t)r);
        else
                put_real_slow(b, r / 1e6);
}

static INLINE void put_bool(struct jb *b, int v)
{
        if (v)
                LIT(b, "true");
        else
                LIT(b, "false");
}

static INLINE void put_endpoint(struct jb *b, int family, const struct endpoint *e)
{
        char ip[64];

        LIT(b, "{\"ip\":");
        put_str(b, report_ip(family, e, ip, sizeof ip));
        LIT(b, ",\"port\":");
        put_u64(b, e->port);
        LIT(b, "}");
}

static INLINE void put_mark(struct jb *b, const struct pkt_mark *m)
{
        if (!m->ts) {
                LIT(b, "null");
                return;
        }
        LIT(b, "{\"at\":");
        put_time(b, m->ts);
        LIT(b, ",\"seq\":");
        put_u64(b, m->seq);
        LIT(b, ",\"ack\":");
        put_u64(b, m->ack);
        LIT(b, ",\"ack_flag\":");
        put_bool(b, (m->flags & TH_ACK) != 0);
        LIT(b, "}");
}

static INLINE void put_side(struct jb *b, const struct conn *c, int side)
{
        const struct side *s = &c->s[side];

        LIT(b, "{\"fin\":");
        put_mark(b, &s->fin);
        LIT(b, ",\"rst\":");
        put_mark(b, &s->rst);
        LIT(b, ",\"last_payload\":");
        put_time(b, s->last_data_ts);
        LIT(b, ",\"retransmits\":");
        put_u64(b, s->rexmits - s->probe_rexmits);
        LIT(b, ",\"keepalives\":");
        put_u64(b, s->keepalives);
        LIT(b, ",\"zero_windows\":");
        put_u64(b, s->zwins);
        LIT(b, ",\"state\":");
        put_str(b, tcpsm_state_name((enum tcp_state)s->state));
        LIT(b, "}");
}

/* The fields of a finding, without the braces. */
static INLINE void put_finding_fields(struct jb *b, const struct finding *f)
{
        LIT(b, "\"kind\":");
        put_str(b, detect_kind_name((enum finding_kind)f->kind));
        LIT(b, ",\"at\":");
        put_time(b, f->at);
        LIT(b, ",\"by\":");
        put_str(b, side_name(f->by));
        LIT(b, ",\"inferred\":");
        put_bool(b, f->inferred);
        switch ((enum finding_kind)f->kind) {
        case DET_CONNECT_TIMEOUT:
                LIT(b, ",\"give_up_min_s\":");
                put_num(b, f->a);
                LIT(b, ",\"give_up_s\":");
                put_num(b, f->b);
                LIT(b, ",\"schedule\":");
                put_str(b, detect_schedule_name((enum syn_schedule)f->sched));
                break;
        case DET_DATA_AFTER_PEER_FIN:
                LIT(b, ",\"idle_before_peer_fin_s\":");
                put_num(b, f->a);
                LIT(b, ",\"after_fin_s\":");
                put_num(b, f->b);
                LIT(b, ",\"answered_by_rst\":");
                put_bool(b, f->answered);
                break;
        case DET_DATA_AFTER_PEER_RST:
                LIT(b, ",\"after_rst_s\":");
                put_num(b, f->b);
                LIT(b, ",\"note\":\"seen at the resetting side; at the other side the data left"
                       " before the RST arrived\"");
                break;
        case DET_REQUEST_RESET:
                LIT(b, ",\"request_age_s\":");
                put_num(b, f->a);
                break;
        case DET_IDLE_CLOSE:
                LIT(b, ",\"idle_s\":");
                put_num(b, f->a);
                LIT(b, ",\"how\":");
                put_str(b, f->how == HOW_RST ? "rst" : "fin");
                break;
        case DET_REFUSED:
        case DET_NKINDS:
                break;
        }
}

static size_t jb_done(struct jb *b, char *buf)
{
        return b->full ? 0 : (size_t)(b->p - buf);
}

size_t report_json_conn(const struct conn *c, const struct det_result *d, int flags_only,
                        int with_type, char *buf, size_t len)
{
        struct jb b = JB_INIT(buf, len);
        struct close_info ci;
        char hist[RS_HISTORY_MAX + 4];
        int64_t rtt = tcpsm_rtt_ns(c);

        tcpsm_close_info(c, &ci);
        LIT(&b, "{\"id\":");
        put_u64(&b, c->id);
        LIT(&b, ",\"client\":");
        put_endpoint(&b, c->family, &c->cli);
        LIT(&b, ",\"server\":");
        put_endpoint(&b, c->family, &c->srv);
        LIT(&b, ",\"first\":");
        put_time(&b, c->first);
        LIT(&b, ",\"last\":");
        put_time(&b, c->last);
        LIT(&b, ",\"duration_s\":");
        put_dur(&b, c->end - c->first);
        LIT(&b, ",\"handshake\":");
        put_str(&b, tcpsm_handshake(c));
        LIT(&b, ",\"syn_count\":");
        put_u64(&b, c->syn_count);
        LIT(&b, ",\"syn_times\":[");
        if (c->syn_ts) {
                put_time(&b, c->syn_ts);
                for (int i = 0; i + 1 < c->syn_count && i < RS_MAX_SYN_TIMES; i++) {
                        LIT(&b, ",");
                        put_time(&b, c->syn_ts + (int64_t)c->syn_dt[i] * 1000);
                }
        }
        LIT(&b, "],\"synack\":");
        put_time(&b, c->synack_ts);
        LIT(&b, ",\"established\":");
        put_time(&b, c->est_ts);
        LIT(&b, ",\"rtt_s\":");
        if (rtt < 0)
                LIT(&b, "null");
        else
                put_dur(&b, rtt);
        LIT(&b, ",\"mss\":[");
        put_u64(&b, c->s[CLIENT].mss);
        LIT(&b, ",");
        put_u64(&b, c->s[SERVER].mss);
        LIT(&b, "],\"close\":{\"by\":");
        if (ci.by < 0)
                LIT(&b, "null");
        else
                put_str(&b, side_name(ci.by));
        LIT(&b, ",\"how\":");
        if (ci.how == HOW_NONE)
                LIT(&b, "null");
        else
                put_str(&b, ci.how == HOW_FIN ? "fin" : "rst");
        LIT(&b, ",\"at\":");
        put_time(&b, ci.at);
        LIT(&b, "},\"end\":");
        put_str(&b, tcpsm_reason_name((enum close_reason)c->reason));
        LIT(&b, ",\"client_pkts\":");
        put_u64(&b, c->s[CLIENT].pkts);
        LIT(&b, ",\"client_bytes\":");
        put_u64(&b, tcpsm_bytes(c, CLIENT));
        LIT(&b, ",\"server_pkts\":");
        put_u64(&b, c->s[SERVER].pkts);
        LIT(&b, ",\"server_bytes\":");
        put_u64(&b, tcpsm_bytes(c, SERVER));
        LIT(&b, ",\"duplicates\":");
        put_u64(&b, c->dups);
        LIT(&b, ",\"client_side\":");
        put_side(&b, c, CLIENT);
        LIT(&b, ",\"server_side\":");
        put_side(&b, c, SERVER);
        LIT(&b, ",\"state\":");
        put_str(&b, tcpsm_conn_state(c));
        LIT(&b, ",\"history\":");
        put_str(&b, tcpsm_history(c, flags_only, hist, sizeof hist));
        LIT(&b, ",\"syn_to_close_s\":");
        put_num(&b, d ? d->syn_to_close : NAN);
        LIT(&b, ",\"idle_before_close_s\":");
        put_num(&b, d ? d->idle_before_close : NAN);
        LIT(&b, ",\"findings\":[");
        for (int i = 0; d && i < d->n; i++) {
                if (i)
                        LIT(&b, ",");
                LIT(&b, "{");
                put_finding_fields(&b, &d->f[i]);
                LIT(&b, "}");
        }
        LIT(&b, "]");
        if (with_type)
                LIT(&b, ",\"type\":\"connection\"");
        LIT(&b, "}");
        return jb_done(&b, buf);
}

size_t report_json_finding(const struct conn *c, const struct finding *f, char *buf, size_t len)
{
        struct jb b = JB_INIT(buf, len);

        LIT(&b, "{");
        put_finding_fields(&b, f);
        LIT(&b, ",\"type\":\"finding\",\"id\":");
        put_u64(&b, c->id);
        LIT(&b, ",\"client\":");
        put_endpoint(&b, c->family, &c->cli);
        LIT(&b, ",\"server\":");
        put_endpoint(&b, c->family, &c->srv);
        LIT(&b, "}");
        return jb_done(&b, buf);
}

static json_t *jinputs(const struct report *r)
{
        json_t *a = json_array();

        for (size_t i = 0; i < r->cap->nin; i++) {
                const struct input *in = &r->cap->in[i];
                json_t *err = json_object();
                for (int k = DEC_FRAGMENT; k < DEC_NRESULTS; k++)
                        if (in->errors[k])
                                json_object_set_new(err, decode_result_name((enum dec_result)k),
                                                    json_integer((json_int_t)in->errors[k]));
                json_array_append_new(a, json_pack(
                        "{s:s, s:s, s:s, s:I, s:I, s:b, s:s?, s:o, s:I, s:I, s:o, s:o}",
                        "file", in->name, "format", in->format,
                        "linktype", decode_link_name(in->linktype),
                        "packets", (json_int_t)in->packets,
                        "tcp_packets", (json_int_t)in->tcp_packets,
                        "truncated", in->truncated,
                        "error", in->truncated ? in->error : NULL,
                        "errors", err,
                        "ts_backwards", (json_int_t)in->ts_backwards,
                        "caplen_over_len", (json_int_t)in->caplen_over_len,
                        "dropped", in->live ? json_integer((json_int_t)in->dropped) : json_null(),
                        "if_dropped", in->live ? json_integer((json_int_t)in->if_dropped) : json_null()));
        }
        return a;
}

static json_t *jsummary(const struct report *r)
{
        const struct summary *sum = r->sum;
        json_t *bs = json_object(), *bc = json_object(), *fk = json_object();

        for (size_t k = 0; k < SUM_NSTATES; k++)
                json_object_set_new(bs, summary_state_name(k), json_integer((json_int_t)sum->states[k]));
        for (int k = 0; k < 5; k++)
                json_object_set_new(bc, close_keys[k], json_integer((json_int_t)sum->closes[k]));
        for (int k = 0; k < DET_NKINDS; k++)
                json_object_set_new(fk, detect_kind_name((enum finding_kind)k),
                                    json_integer((json_int_t)sum->kind_conns[k]));
        return json_pack("{s:I, s:o, s:o, s:o, s:I}", "connections", (json_int_t)sum->nconns,
                         "by_state", bs, "by_close", bc, "findings", fk,
                         "duplicates", (json_int_t)r->st->duplicates);
}

static json_t *jserver(const struct report *r, int server)
{
        if (server < 0)
                return json_null();
        return jendpoint(r->sum->servers[server].family, &r->sum->servers[server].ep);
}

static const char *how_name(int how) { return how == HOW_RST ? "rst" : how == HOW_FIN ? "fin" : NULL; }

static json_t *jcluster(const struct report *r, const struct sum_cluster *k)
{
        json_t *likely = json_array(), *ex = json_array();

        for (size_t i = 0; i < k->nlikely; i++)
                json_array_append_new(likely, json_pack("{s:s, s:f, s:s}", "cause", k->likely[i]->what,
                                                        "seconds", k->likely[i]->seconds,
                                                        "source", k->likely[i]->source));
        for (size_t i = 0; i < k->nexamples; i++)
                json_array_append_new(ex, json_integer((json_int_t)k->ex[i].id));
        return json_pack("{s:s, s:s, s:s?, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
                         "measure", cluster_measure_name(k->measure),
                         "closing_side", side_name(k->side), "how", how_name(k->how),
                         "server", jserver(r, k->server), "count", (json_int_t)k->pk.count,
                         "share", jnum(k->group_n ? (double)k->pk.count / (double)k->group_n : 0),
                         "center_s", jnum(k->pk.center), "spread_s", jnum(k->pk.spread),
                         "min_s", jnum(k->pk.lo), "max_s", jnum(k->pk.hi),
                         "likely", likely, "remedy", k->remedy, "examples", ex);
}

static json_t *jclusters(const struct report *r)
{
        json_t *a = json_array();

        for (size_t i = 0; i < r->sum->nclusters; i++)
                json_array_append_new(a, jcluster(r, &r->sum->clusters[i]));
        return a;
}

static json_t *jdists(const struct report *r)
{
        json_t *a = json_array();

        for (size_t i = 0; i < r->sum->ndists; i++) {
                const struct sum_dist *d = &r->sum->dists[i];
                json_t *h = json_array();
                for (size_t b = 0; b < d->nbins; b++)
                        json_array_append_new(h, json_pack("{s:o, s:I}", "from_s", jnum(d->bin_edge[b]),
                                                           "count", (json_int_t)d->bin_count[b]));
                json_array_append_new(a, json_pack(
                        "{s:s, s:s, s:s?, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
                        "measure", cluster_measure_name(d->measure), "closing_side", side_name(d->side),
                        "how", how_name(d->how), "server", jserver(r, d->server),
                        "count", (json_int_t)d->s.n, "min_s", jnum(d->s.min), "p50_s", jnum(d->s.p50),
                        "p90_s", jnum(d->s.p90), "p99_s", jnum(d->s.p99), "max_s", jnum(d->s.max),
                        "histogram", h));
        }
        return a;
}

/* Dump one value after a key, or fail. */
static int put(FILE *out, const char *key, json_t *v)
{
        int rc;

        if (!v)
                return -1;
        if (key)
                fprintf(out, "\"%s\":", key);
        rc = json_dumpf(v, out, JSON_FLAGS | JSON_ENCODE_ANY);
        json_decref(v);
        return rc;
}

void report_json_open(FILE *out)
{
        fputs("{\"tool\":{\"name\":\"rstscope\",\"version\":\"" RS_VERSION "\"},"
              "\"connections\":[\n", out);
}

int report_json_close(FILE *out, const struct report *r)
{
        int rc = 0;

        fputs("\n],", out);
        rc |= put(out, "inputs", jinputs(r));
        fputc(',', out);
        rc |= put(out, "capture", json_pack("{s:o, s:o, s:b, s:o}", "first", jtime(r->first),
                                            "last", jtime(r->last), "flags_only", r->flags_only,
                                            "shard", r->shard_n ? json_pack("{s:i, s:i}", "i",
                                            (int)r->shard_i, "n", (int)r->shard_n) : json_null()));
        fputc(',', out);
        rc |= put(out, "summary", jsummary(r));
        fputc(',', out);
        rc |= put(out, "clusters", jclusters(r));
        fputc(',', out);
        rc |= put(out, "distributions", jdists(r));
        fputs("}\n", out);
        return rc ? -1 : 0;
}

int report_jsonl_end(FILE *out, const struct report *r)
{
        int rc = 0;

        for (size_t i = 0; i < r->sum->nclusters; i++) {
                json_t *o = jcluster(r, &r->sum->clusters[i]);
                json_object_set_new(o, "type", json_string("cluster"));
                rc |= put(out, NULL, o);
                fputc('\n', out);
        }
        {
                json_t *o = jsummary(r);
                json_object_set_new(o, "type", json_string("summary"));
                json_object_set_new(o, "flags_only", json_boolean(r->flags_only));
                rc |= put(out, NULL, o);
                fputc('\n', out);
        }
        return rc ? -1 : 0;
}
