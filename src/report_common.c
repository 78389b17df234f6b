/* report_common.c - what the writers share: the texts of finding kinds
 * and closes, names of sides and close kinds, addresses and endpoints,
 * times.  Every table indexed by an enum is checked against it. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"

static const char *const close_texts[] = {
        [CLOSE_CLIENT_FIN] = "client FIN", [CLOSE_CLIENT_RST] = "client RST",
        [CLOSE_SERVER_FIN] = "server FIN", [CLOSE_SERVER_RST] = "server RST", [CLOSE_NONE] = "none",
};

TABLE_COVERS(close_texts, CLOSE_N);

static const char *const close_keys[] = {
        [CLOSE_CLIENT_FIN] = "client_fin", [CLOSE_CLIENT_RST] = "client_rst",
        [CLOSE_SERVER_FIN] = "server_fin", [CLOSE_SERVER_RST] = "server_rst", [CLOSE_NONE] = "none",
};

TABLE_COVERS(close_keys, CLOSE_N);

const char *report_close_text(enum close_kind k) { return k < CLOSE_N ? close_texts[k] : "?"; }
const char *report_close_key(enum close_kind k) { return k < CLOSE_N ? close_keys[k] : "?"; }
const char *report_side_name(int side) { return side == CLIENT ? "client" : "server"; }
const char *report_how_name(int how) { return how == HOW_RST ? "rst" : how == HOW_FIN ? "fin" : NULL; }

static const struct kind_text kind_texts[] = {
        [DET_REFUSED] = { "the SYN was answered by RST: nothing listened on the port", NULL,
                          "check that the server is up and listening on that port when clients "
                          "connect (rollouts, readiness)" },
        [DET_CONNECT_TIMEOUT] = { "the SYNs were never answered and the client gave up",
                                  "gave up by (s)",
                                  "SYNs go unanswered: look for a full accept queue or a firewall "
                                  "dropping SYNs" },
        [DET_DATA_AFTER_PEER_FIN] = { "a request was sent after the peer's FIN: the keep-alive reuse race",
                                      "idle before the peer's FIN (s)",
                                      "make the server's keep-alive idle timeout longer than the client "
                                      "pool's, or expire pooled connections sooner; retry on reset" },
        [DET_DATA_AFTER_PEER_RST] = { "data was sent after the peer's RST (at the resetting side; at the "
                                      "other side it left before the RST arrived)",
                                      "after the RST (s)",
                                      "the peer aborted a connection with data in flight" },
        [DET_REQUEST_RESET] = { "the server reset a request it never answered (a proxy logs 503 UC, "
                                "\"upstream reset before response started\")",
                                "request age at the reset (s)",
                                "retry idempotent requests on reset; see the idle-timeout remedy" },
        [DET_IDLE_CLOSE] = { "closed after being idle", "idle before the close (s)",
                             "idle closes are normal; they matter when the other side reuses the "
                             "connection at the same moment" },
};

TABLE_COVERS(kind_texts, DET_NKINDS);

const struct kind_text *report_kind_text(enum finding_kind k)
{
        static const struct kind_text none = { "?", NULL, "?" };

        return (unsigned)k < DET_NKINDS && kind_texts[k].what ? &kind_texts[k] : &none;
}

/* Dotted quad of a[0..3] at q; returns the end (not terminated). */
static char *put_quad(char *q, const uint8_t *a)
{
        for (int i = 0; i < 4; i++) {
                unsigned v = a[i];
                if (v >= 100)
                        *q++ = (char)('0' + v / 100);
                if (v >= 10)
                        *q++ = (char)('0' + v / 10 % 10);
                *q++ = (char)('0' + v % 10);
                if (i < 3)
                        *q++ = '.';
        }
        return q;
}

/* inet_ntop(AF_INET6) without stdio (it formats each group with sprintf):
 * RFC 5952 text as glibc writes it, the first longest run of two or more
 * zero groups as "::", IPv4-mapped and -compatible addresses with a
 * dotted quad.  Writes at most 46 bytes, the last a NUL; returns where
 * the NUL is. */
static char *put_ip6(char *q, const uint8_t *a)
{
        static const char hex[] = "0123456789abcdef";
        unsigned w[8];
        int best = -1, blen = 0, cur = -1, clen = 0;

        for (int i = 0; i < 8; i++) {
                w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
                if (w[i] == 0) {
                        if (cur < 0)
                                cur = i, clen = 0;
                        if (++clen > blen)
                                best = cur, blen = clen;
                } else {
                        cur = -1;
                }
        }
        if (blen < 2)
                best = -1;
        for (int i = 0; i < 8; i++) {
                if (best >= 0 && i >= best && i < best + blen) {
                        if (i == best)
                                *q++ = ':';
                        continue;
                }
                if (i)
                        *q++ = ':';
                if (i == 6 && best == 0 &&
                    (blen == 6 || (blen == 7 && w[7] != 1) || (blen == 5 && w[5] == 0xffff))) {
                        q = put_quad(q, a + 12);
                        *q = '\0';
                        return q;
                }
                for (int s = 12, lead = 1; s >= 0; s -= 4) {
                        unsigned d = w[i] >> s & 15;
                        if (d || !lead || s == 0) {
                                *q++ = hex[d];
                                lead = 0;
                        }
                }
        }
        if (best >= 0 && best + blen == 8)
                *q++ = ':';
        *q = '\0';
        return q;
}

char *report_ip_put(char *p, int family, const struct endpoint *e)
{
        return family == 6 ? put_ip6(p, e->addr) : put_quad(p, e->addr);
}

const char *report_ip(int family, const struct endpoint *e, char *buf, size_t len)
{
        if (len >= (family == 6 ? 46u : 16u)) {         /* without stdio */
                *report_ip_put(buf, family, e) = '\0';
                return buf;
        }
        if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, e->addr, buf, (socklen_t)len))
                snprintf(buf, len, "?");
        return buf;
}

/* "2024-03-01 12:00:00.123456 UTC" (date_too) or "12:00:00.123456". */
const char *report_time(int64_t ns, int date_too, char *buf, size_t len)
{
        time_t sec = (time_t)(ns / 1000000000);
        long usec = (long)((ns % 1000000000) / 1000);
        struct tm tm;
        char tz[16] = "";
        size_t n;

        if (ns < 0 && usec) {
                sec--;
                usec += 1000000;
        }
        if (!localtime_r(&sec, &tm)) {
                snprintf(buf, len, "%" PRId64, ns);
                return buf;
        }
        n = strftime(buf, len, date_too ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
        if (date_too)
                strftime(tz, sizeof tz, " %Z", &tm);
        snprintf(buf + n, len - n, ".%06ld%s", usec, tz);
        return buf;
}

void report_endpoint(int family, const struct endpoint *e, char *buf, size_t len)
{
        char ip[64];

        report_ip(family, e, ip, sizeof ip);
        snprintf(buf, len, family == 6 ? "[%s]:%u" : "%s:%u", ip, e->port);
}

