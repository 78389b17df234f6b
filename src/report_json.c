/* report_json.c - the JSON document and the JSON Lines records.  Each
 * connection (and each JSON Lines finding) is formatted by hand straight
 * into the caller's buffer, one per line, byte for byte what jansson would
 * write, so the document never exists as one tree in memory; the opening
 * is a literal, and the sections after the records (inputs, capture,
 * summary, clusters, distributions) are built and dumped with jansson.
 * Field names are an interface: scripts rely on them (see the man page). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(16))

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

/* ---- per-connection records, written by hand ----
 *
 * A record is made for every connection, so it is formatted straight into
 * a caller's buffer with no allocation; the output is byte for byte what
 * jansson writes with JSON_FLAGS (the envelope above and below still uses
 * jansson).  A microsecond count is written as jansson writes the double
 * us / 1e6 with "%.16g": plain decimals, exponent form below 1e-4.
 *
 * The writers below take a cursor and return it advanced, and check no
 * room: the record writer checks before each field that FIELD_MAX bytes
 * are left, and no field (its key and value together) writes more than
 * that, counting the fixed-size copies that may write past what they
 * keep.  Each writer's comment gives its most.  They are inlined into the
 * two record functions, so the cursor stays in a register. */
#define INLINE inline __attribute__((always_inline))

#define FIELD_MAX 160

#define ROOM(p) do { if ((size_t)(end - (p)) < FIELD_MAX) return 0; } while (0)

/* The text of the whole seconds last written: a record's times mostly
 * share them. */
struct secs {
        uint64_t sec;
        uint8_t len;
        char txt[23];
};

#define SECS_INIT { .sec = UINT64_MAX }

/* A literal: its length. */
#define LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

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

/* v in decimal, 32-bit arithmetic (sequence numbers, ports, counts and
 * seconds all fit): at most 10 bytes. */
static INLINE char *put_u32(char *p, uint32_t v)
{
        static const uint32_t pow10[10] = {
                1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
        };
        unsigned t;
        size_t n;
        char *q;

        if (v < 10) {
                *p = (char)('0' + v);
                return p + 1;
        }
        if (v < 100) {
                memcpy(p, digits2 + v * 2, 2);
                return p + 2;
        }
        t = ((32 - (unsigned)__builtin_clz(v)) * 1233) >> 12;  /* log10 of the top bit */
        n = t + (v >= pow10[t]);
        q = p + n;
        while (v >= 100) {
                uint32_t r = v % 100;
                v /= 100;
                q -= 2;
                memcpy(q, digits2 + r * 2, 2);
        }
        if (v >= 10)
                memcpy(q - 2, digits2 + v * 2, 2);
        else
                q[-1] = (char)('0' + v);
        return p + n;
}

/* v in decimal: at most 20 bytes.  Most counts are below 100. */
static INLINE char *put_u64(char *p, uint64_t v)
{
        size_t n;

        if (v <= UINT32_MAX)
                return put_u32(p, (uint32_t)v);
        n = ndigits(v);
        fmt_u64(p + n, v);
        return p + n;
}

/* Whole seconds: at most 23 bytes (copied whole).  Durations (mostly
 * under 10 s) do not replace the text of a time's seconds. */
static INLINE char *put_secs(char *p, struct secs *sc, uint64_t s)
{
        if (s < 10) {
                *p = (char)('0' + s);
                return p + 1;
        }
        if (s != sc->sec) {
                char t[48] = "";
                char *q = fmt_u64(t + 24, s);
                sc->len = (uint8_t)(t + 24 - q);
                memcpy(sc->txt, q, sizeof sc->txt);
                sc->sec = s;
        }
        memcpy(p, sc->txt, sizeof sc->txt);
        return p + sc->len;
}

/* A string of rstscope's own (names, history letters; none longer than
 * 46 bytes): none needs escaping, so it is copied as is. */
static INLINE char *put_str(char *p, const char *s)
{
        size_t n = strlen(s);

        *p++ = '"';
        memcpy(p, s, n);
        p[n] = '"';
        return p + n + 1;
}

/* jansson's real: "%.16g", ".0" added to integers, exponent without '+'
 * or leading zeros: at most 26 bytes.  Used only where the fast path
 * below does not apply. */
static char *put_real_slow(char *p, double v)
{
        char t[40], *e;
        int n = snprintf(t, sizeof t - 2, "%.16g", v);
        size_t len;

        if (n < 0 || (size_t)n >= sizeof t - 2)
                return LIT(p, "null");
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
        len = strlen(t);
        memcpy(p, t, len);
        return p + len;
}

/* us / 1e6 as jansson writes it: at most 32 bytes. */
static INLINE char *put_usec(char *p, struct secs *sc, int64_t us)
{
        uint64_t a = us < 0 ? -(uint64_t)us : (uint64_t)us;
        uint32_t frac;
        char t[8];
        int n = 7;

        if (a >= 10000000000000000ULL)
                return put_real_slow(p, (double)us / 1e6);
        if (us < 0)
                *p++ = '-';
        if (a == 0)
                return LIT(p, "0.0");
        if (a < 10) {                   /* 1e-6 .. 9e-6 */
                *p++ = (char)('0' + a);
                return LIT(p, "e-6");
        }
        if (a < 100) {                  /* 1e-5 .. 9.9e-5 */
                *p++ = (char)('0' + a / 10);
                if (a % 10) {
                        p[0] = '.';
                        p[1] = (char)('0' + a % 10);
                        p += 2;
                }
                return LIT(p, "e-5");
        }
        frac = (uint32_t)(a % 1000000);
        p = put_secs(p, sc, a / 1000000);
        if (!frac)
                return LIT(p, ".0");
        t[0] = '.';                     /* six digits, trailing zeros cut */
        memcpy(t + 1, digits2 + frac / 10000 * 2, 2);
        memcpy(t + 3, digits2 + frac / 100 % 100 * 2, 2);
        memcpy(t + 5, digits2 + frac % 100 * 2, 2);
        while (t[n - 1] == '0')
                n--;
        memcpy(p, t, sizeof t);
        return p + n;
}

/* Seconds with microsecond precision, or null for "never" (0): at most 32
 * bytes. */
static INLINE char *put_time(char *p, struct secs *sc, int64_t ns)
{
        return ns ? put_usec(p, sc, ns_to_us(ns)) : LIT(p, "null");
}

static INLINE char *put_dur(char *p, struct secs *sc, int64_t ns)
{
        return put_usec(p, sc, ns > INT64_MAX - 500 ? INT64_MAX / 1000 : (ns + 500) / 1000);
}

/* A measure in seconds, or null: at most 32 bytes. */
static INLINE char *put_num(char *p, struct secs *sc, double v)
{
        double r;

        if (isnan(v))
                return LIT(p, "null");
        r = round(v * 1e6);
        if (fabs(r) < 9e15)
                return put_usec(p, sc, (int64_t)r);
        return put_real_slow(p, r / 1e6);
}

static INLINE char *put_bool(char *p, int v)
{
        return v ? LIT(p, "true") : LIT(p, "false");
}

/* At most 8 + 46 + 9 + 5 + 1 = 69 bytes. */
static INLINE char *put_endpoint(char *p, int family, const struct endpoint *e)
{
        p = LIT(p, "{\"ip\":\"");
        p = report_ip_put(p, family, e);
        p = LIT(p, "\",\"port\":");
        p = put_u64(p, e->port);
        return LIT(p, "}");
}

/* "id":N,"client":{...},"server":{...} of both record kinds; NULL when it
 * does not fit before end.  Before the check: at most 5 + 20 + 10 + 69 =
 * 104 bytes; after it 10 + 69 = 79. */
static INLINE char *put_ids(char *p, const char *end, const struct conn *c)
{
        p = LIT(p, "\"id\":");
        p = put_u64(p, c->id);
        p = LIT(p, ",\"client\":");
        p = put_endpoint(p, c->family, &c->cli);
        ROOM(p);
        p = LIT(p, ",\"server\":");
        return put_endpoint(p, c->family, &c->srv);
}

/* At most 6 + 32 + 7 + 10 + 7 + 10 + 12 + 5 + 1 = 90 bytes. */
static INLINE char *put_mark(char *p, struct secs *sc, const struct pkt_mark *m)
{
        if (!m->ts)
                return LIT(p, "null");
        p = LIT(p, "{\"at\":");
        p = put_time(p, sc, m->ts);
        p = LIT(p, ",\"seq\":");
        p = put_u64(p, m->seq);
        p = LIT(p, ",\"ack\":");
        p = put_u64(p, m->ack);
        p = LIT(p, ",\"ack_flag\":");
        p = put_bool(p, (m->flags & TH_ACK) != 0);
        return LIT(p, "}");
}

/* A side's object; NULL when it does not fit before end. */
static INLINE char *put_side(char *p, const char *end, struct secs *sc, const struct conn *c,
                             int side)
{
        const struct side *s = &c->s[side];

        ROOM(p);
        p = LIT(p, "{\"fin\":");
        p = put_mark(p, sc, &s->fin);
        ROOM(p);
        p = LIT(p, ",\"rst\":");
        p = put_mark(p, sc, &s->rst);
        ROOM(p);
        p = LIT(p, ",\"last_payload\":");
        p = put_time(p, sc, s->last_data_ts);
        ROOM(p);
        p = LIT(p, ",\"retransmits\":");
        p = put_u64(p, s->rexmits - s->probe_rexmits);
        p = LIT(p, ",\"keepalives\":");
        p = put_u64(p, s->keepalives);
        ROOM(p);
        p = LIT(p, ",\"zero_windows\":");
        p = put_u64(p, s->zwins);
        p = LIT(p, ",\"state\":");
        p = put_str(p, tcp_state_name((enum tcp_state)s->state));
        return LIT(p, "}");
}

/* The fields of a finding, without the braces; NULL when they do not fit
 * before end. */
static INLINE char *put_finding_fields(char *p, const char *end, struct secs *sc,
                                       const struct finding *f)
{
        ROOM(p);
        p = LIT(p, "\"kind\":");
        p = put_str(p, detect_kind_name((enum finding_kind)f->kind));
        p = LIT(p, ",\"at\":");
        p = put_time(p, sc, f->at);
        ROOM(p);
        p = LIT(p, ",\"by\":");
        p = put_str(p, report_side_name(f->by));
        p = LIT(p, ",\"inferred\":");
        p = put_bool(p, f->inferred);
        ROOM(p);
        switch ((enum finding_kind)f->kind) {
        case DET_CONNECT_TIMEOUT:
                p = LIT(p, ",\"give_up_min_s\":");
                p = put_num(p, sc, f->a);
                p = LIT(p, ",\"give_up_s\":");
                p = put_num(p, sc, f->b);
                ROOM(p);
                p = LIT(p, ",\"schedule\":");
                p = put_str(p, detect_schedule_name((enum syn_schedule)f->sched));
                break;
        case DET_DATA_AFTER_PEER_FIN:
                p = LIT(p, ",\"idle_before_peer_fin_s\":");
                p = put_num(p, sc, f->a);
                p = LIT(p, ",\"after_fin_s\":");
                p = put_num(p, sc, f->b);
                ROOM(p);
                p = LIT(p, ",\"answered_by_rst\":");
                p = put_bool(p, f->answered);
                break;
        case DET_DATA_AFTER_PEER_RST:
                p = LIT(p, ",\"after_rst_s\":");
                p = put_num(p, sc, f->b);
                ROOM(p);
                p = LIT(p, ",\"note\":\"seen at the resetting side; at the other side the data left"
                           " before the RST arrived\"");
                break;
        case DET_REQUEST_RESET:
                p = LIT(p, ",\"request_age_s\":");
                p = put_num(p, sc, f->a);
                break;
        case DET_IDLE_CLOSE:
                p = LIT(p, ",\"idle_s\":");
                p = put_num(p, sc, f->a);
                p = LIT(p, ",\"how\":");
                p = put_str(p, f->how == HOW_RST ? "rst" : "fin");
                break;
        case DET_REFUSED:
        case DET_NKINDS:
                break;
        }
        return p;
}

size_t report_json_conn(const struct conn *c, const struct det_result *d, int with_type,
                        char *buf, size_t len)
{
        const char *end = buf + len;
        char *p = buf;
        struct secs sc = SECS_INIT;
        int by = close_by((enum close_kind)c->close);
        enum close_how how = close_how_of((enum close_kind)c->close);
        ROOM(p);
        *p++ = '{';
        if (!(p = put_ids(p, end, c)))
                return 0;
        ROOM(p);
        p = LIT(p, ",\"first\":");
        p = put_time(p, &sc, c->first);
        p = LIT(p, ",\"last\":");
        p = put_time(p, &sc, c->last);
        ROOM(p);
        p = LIT(p, ",\"duration_s\":");
        p = put_dur(p, &sc, c->end - c->first);
        p = LIT(p, ",\"handshake\":");
        p = put_str(p, handshake_name((enum handshake)c->handshake));
        ROOM(p);
        p = LIT(p, ",\"syn_count\":");
        p = put_u64(p, c->syn_count);
        p = LIT(p, ",\"syn_times\":[");
        if (c->syn_ts) {
                p = put_time(p, &sc, c->syn_ts);
                for (int i = 0; i + 1 < c->syn_count && i < RS_MAX_SYN_TIMES; i++) {
                        ROOM(p);
                        *p++ = ',';
                        p = put_time(p, &sc, c->syn_ts + (int64_t)c->syn_dt[i] * 1000);
                }
        }
        ROOM(p);
        p = LIT(p, "],\"synack\":");
        p = put_time(p, &sc, c->synack_ts);
        p = LIT(p, ",\"established\":");
        p = put_time(p, &sc, c->est_ts);
        ROOM(p);
        p = LIT(p, ",\"rtt_s\":");
        p = c->rtt_ns < 0 ? LIT(p, "null") : put_dur(p, &sc, c->rtt_ns);
        p = LIT(p, ",\"mss\":[");
        p = put_u64(p, c->s[CLIENT].mss);
        *p++ = ',';
        p = put_u64(p, c->s[SERVER].mss);
        ROOM(p);
        p = LIT(p, "],\"close\":{\"by\":");
        p = by < 0 ? LIT(p, "null") : put_str(p, report_side_name(by));
        p = LIT(p, ",\"how\":");
        p = how == HOW_NONE ? LIT(p, "null") : put_str(p, how == HOW_FIN ? "fin" : "rst");
        ROOM(p);
        p = LIT(p, ",\"at\":");
        p = put_time(p, &sc, c->close_at);
        p = LIT(p, "},\"end\":");
        p = put_str(p, close_reason_name((enum close_reason)c->reason));
        ROOM(p);
        p = LIT(p, ",\"client_pkts\":");
        p = put_u64(p, c->s[CLIENT].pkts);
        p = LIT(p, ",\"client_bytes\":");
        p = put_u64(p, c->s[CLIENT].bytes);
        ROOM(p);
        p = LIT(p, ",\"server_pkts\":");
        p = put_u64(p, c->s[SERVER].pkts);
        p = LIT(p, ",\"server_bytes\":");
        p = put_u64(p, c->s[SERVER].bytes);
        ROOM(p);
        p = LIT(p, ",\"duplicates\":");
        p = put_u64(p, c->dups);
        p = LIT(p, ",\"client_side\":");
        if (!(p = put_side(p, end, &sc, c, CLIENT)))
                return 0;
        ROOM(p);
        p = LIT(p, ",\"server_side\":");
        if (!(p = put_side(p, end, &sc, c, SERVER)))
                return 0;
        ROOM(p);
        p = LIT(p, ",\"state\":");
        p = put_str(p, zeek_state_name((enum zeek_state)c->zstate));
        p = LIT(p, ",\"history\":");
        p = put_str(p, c->history);
        ROOM(p);
        p = LIT(p, ",\"syn_to_close_s\":");
        p = put_num(p, &sc, d ? d->syn_to_close : NAN);
        ROOM(p);
        p = LIT(p, ",\"idle_before_close_s\":");
        p = put_num(p, &sc, d ? d->idle_before_close : NAN);
        p = LIT(p, ",\"findings\":[");
        for (int i = 0; d && i < d->n; i++) {
                ROOM(p);
                p = i ? LIT(p, ",{") : LIT(p, "{");
                if (!(p = put_finding_fields(p, end, &sc, &d->f[i])))
                        return 0;
                *p++ = '}';
        }
        ROOM(p);
        p = LIT(p, "]");
        if (with_type)
                p = LIT(p, ",\"type\":\"connection\"");
        p = LIT(p, "}");
        return (size_t)(p - buf);
}

size_t report_json_finding(const struct conn *c, const struct finding *f, char *buf, size_t len)
{
        const char *end = buf + len;
        char *p = buf;
        struct secs sc = SECS_INIT;

        ROOM(p);
        *p++ = '{';
        if (!(p = put_finding_fields(p, end, &sc, f)))
                return 0;
        ROOM(p);
        p = LIT(p, ",\"type\":\"finding\",");       /* 18 bytes, then put_ids */
        if (!(p = put_ids(p, end, c)))
                return 0;
        p = LIT(p, "}");
        return (size_t)(p - buf);
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

        for (int k = 0; k < ZS_N; k++)
                json_object_set_new(bs, zeek_state_name((enum zeek_state)k),
                                    json_integer((json_int_t)sum->states[k]));
        for (int k = 0; k < CLOSE_N; k++)
                json_object_set_new(bc, report_close_key((enum close_kind)k), json_integer((json_int_t)sum->closes[k]));
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

static json_t *jcluster(const struct report *r, const struct sum_cluster *k)
{
        json_t *likely = json_array(), *ex = json_array();

        for (size_t i = 0; i < k->nlikely; i++)
                json_array_append_new(likely, json_pack("{s:s, s:f, s:s}", "cause", k->likely[i]->what,
                                                        "seconds", k->likely[i]->seconds,
                                                        "source", k->likely[i]->source));
        for (size_t i = 0; i < k->nexamples; i++)
                json_array_append_new(ex, json_integer((json_int_t)k->ex[i].id));
        return json_pack("{s:s, s:s, s:s?, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
                         "measure", cluster_measure_name(k->measure),
                         "closing_side", report_side_name(k->side), "how", report_how_name(k->how),
                         "server", jserver(r, k->server), "count", (json_int_t)k->pk.count,
                         "share", jnum(k->group_n ? (double)k->pk.count / (double)k->group_n : 0),
                         "center_s", jnum(k->pk.center), "spread_s", jnum(k->pk.spread),
                         "min_s", jnum(k->pk.lo), "max_s", jnum(k->pk.hi),
                         "likely", likely, "idle_multiple", k->idle_multiple ?
                         json_pack("{s:i, s:o}", "times", k->idle_multiple, "idle_s", jnum(k->idle_s)) :
                         json_null(), "remedy", k->remedy, "examples", ex);
}

static json_t *jdiag(const struct report *r, const struct server_diag *g)
{
        const struct sum_server *sv = &r->sum->servers[g->server];
        json_t *closes = json_object(), *idle = json_null(), *reuse = json_null(), *hint = json_null();
        json_t *likely = json_array();  /* of the timer, or of the hint without one */

        for (size_t i = 0; i < g->nlikely; i++)
                json_array_append_new(likely, json_pack("{s:s, s:f, s:s, s:s}",
                        "cause", g->likely[i]->what, "seconds", g->likely[i]->seconds,
                        "source", g->likely[i]->source, "setting", g->likely[i]->setting));
        for (int k = 0; k < CLOSE_NONE; k++)
                json_object_set_new(closes, report_close_key((enum close_kind)k),
                                    json_integer((json_int_t)sv->closes[k]));
        if (g->timer)
                idle = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
                                 "how", report_how_name(g->how), "count", (json_int_t)g->count,
                                 "of", (json_int_t)g->of, "center_s", jnum(g->center),
                                 "spread_s", jnum(g->spread), "min_s", jnum(g->lo), "max_s", jnum(g->hi),
                                 "likely", json_incref(likely));
        if (g->syn_hint) {
                const struct sum_cluster *c = g->syn_hint;
                hint = json_pack("{s:I, s:I, s:o, s:o, s:o}", "count", (json_int_t)c->pk.count,
                                 "of", (json_int_t)c->group_n, "center_s", jnum(c->pk.center),
                                 "spread_s", jnum(c->pk.spread), "likely", json_incref(likely));
        }
        json_decref(likely);
        if (g->reuse_n)
                reuse = json_pack("{s:I, s:o, s:o, s:o}", "requests", (json_int_t)g->reuse_n,
                                  "idle_max_s", jnum(g->reuse_max), "idle_p50_s", jnum(g->reuse_p50),
                                  "idle_p99_s", jnum(g->reuse_p99));
        return json_pack("{s:o, s:I, s:o, s:o, s:s?, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:I, s:{s:s, s:s, s:s}}",
                         "server", jendpoint(sv->family, &sv->ep), "connections", (json_int_t)sv->conns,
                         "closes", closes, "idle_close", idle, "idle_close_unknown", g->unknown,
                         "syn_to_close_hint", hint,
                         "reuse", reuse, "races",
                         "data_after_peer_fin", (json_int_t)sv->kinds[DET_DATA_AFTER_PEER_FIN],
                         "data_after_peer_rst", (json_int_t)sv->kinds[DET_DATA_AFTER_PEER_RST],
                         "request_reset", (json_int_t)sv->kinds[DET_REQUEST_RESET],
                         "request_reset_at_idle_close", (json_int_t)sv->resets_idle,
                         "affected", (json_int_t)g->affected,
                         "verdict", "kind", verdict_name(g->verdict), "text", g->text, "remedy", g->remedy);
}

static json_t *jservers(const struct report *r)
{
        json_t *a = json_array();

        for (size_t i = 0; r->diag && i < r->diag->n; i++)
                json_array_append_new(a, jdiag(r, &r->diag->srv[i]));
        return a;
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
                        "measure", cluster_measure_name(d->measure), "closing_side", report_side_name(d->side),
                        "how", report_how_name(d->how), "server", jserver(r, d->server),
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
        rc |= put(out, "servers", jservers(r));
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

        for (size_t i = 0; r->diag && i < r->diag->n; i++) {
                json_t *o = jdiag(r, &r->diag->srv[i]);
                json_object_set_new(o, "type", json_string("server"));
                rc |= put(out, NULL, o);
                fputc('\n', out);
        }
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
