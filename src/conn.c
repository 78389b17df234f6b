/* conn.c - the connection table: a chained hash on the canonical 5-tuple
 * (both directions meet in one entry), a chunked pool of records addressed
 * by 32-bit index, and one activity list per timeout class so expiry only
 * ever looks at list heads.  It does not interpret TCP; it only asks the
 * records' side states which timeout class they are in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#define POOL_SHIFT 8                    /* records per chunk: 256 */
#define POOL_CHUNK (1u << POOL_SHIFT)

enum lclass { LC_HALFOPEN = 0, LC_ESTABLISHED, LC_CLOSED, LC_N };

struct lru {                            /* intrusive list by last activity */
        uint32_t head, tail;            /* pool indices; 0 = empty */
};

struct conn_table {
        struct conn **chunks;           /* pool; index 0 is never used */
        uint32_t nchunks;
        uint32_t used;                  /* indices handed out so far */
        uint32_t free_head;             /* free records, chained by hnext */
        uint32_t *buckets;              /* hash heads; 0 = empty */
        uint32_t nbuckets;              /* power of two */
        size_t count, peak;
        uint64_t evicted;
        int warned;                     /* cap warning printed */
        uint64_t next_id;
        struct lru lists[LC_N];
        struct conn_limits lim;
        conn_finish_fn finish;
        void *ctx;
};

static struct conn *at(const struct conn_table *t, uint32_t i)
{
        return &t->chunks[i >> POOL_SHIFT][i & (POOL_CHUNK - 1)];
}

static uint32_t index_of(const struct conn_table *t, const struct conn *c)
{
        (void)t;
        return c->self;
}

/* ---- hashing: canonical order (lower endpoint first) ---- */

static int ep_cmp(const struct endpoint *a, const struct endpoint *b)
{
        int r = memcmp(a->addr, b->addr, 16);
        return r ? r : (int)a->port - (int)b->port;
}

static uint64_t ep_mix(uint64_t h, const struct endpoint *e)
{
        uint64_t w[2];

        memcpy(w, e->addr, 16);
        h ^= w[0] * 0x9e3779b97f4a7c15ULL;
        h = (h << 27 | h >> 37) * 0xc2b2ae3d27d4eb4fULL;
        h ^= w[1] * 0x9e3779b97f4a7c15ULL;
        h = (h << 27 | h >> 37) * 0xc2b2ae3d27d4eb4fULL;
        h ^= e->port;
        return h * 0x165667b19e3779f9ULL;
}

uint64_t conn_tuple_hash(const struct endpoint *a, const struct endpoint *b)
{
        uint64_t h;

        if (ep_cmp(a, b) > 0) {
                const struct endpoint *x = a;
                a = b;
                b = x;
        }
        h = ep_mix(0x27d4eb2f165667c5ULL, a);
        h = ep_mix(h, b);
        return h ^ (h >> 29);
}

int conn_ep_eq(const struct endpoint *a, const struct endpoint *b)
{
        return a->port == b->port && memcmp(a->addr, b->addr, 16) == 0;
}

/* ---- pool ---- */

static uint32_t pool_alloc(struct conn_table *t)
{
        uint32_t i;

        if (t->free_head) {
                i = t->free_head;
                t->free_head = at(t, i)->hnext;
                return i;
        }
        if (t->used + 1 >= (uint64_t)t->nchunks * POOL_CHUNK) {
                struct conn **nc, *chunk;
                if (t->nchunks >= (1u << (32 - POOL_SHIFT)))
                        return 0;
                nc = realloc(t->chunks, (t->nchunks + 1) * sizeof *nc);
                if (!nc)
                        return 0;
                t->chunks = nc;
                chunk = malloc(POOL_CHUNK * sizeof *chunk);
                if (!chunk)
                        return 0;
                t->chunks[t->nchunks++] = chunk;
        }
        return ++t->used;
}

/* ---- activity lists ---- */

static enum lclass conn_class(const struct conn *c)
{
        uint8_t a = c->s[CLIENT].state, b = c->s[SERVER].state;

        if (a == ST_RESET || b == ST_RESET || (a == ST_FIN_WAIT && b == ST_FIN_WAIT))
                return LC_CLOSED;
        if ((a == ST_CLOSED || a == ST_SYN_SENT) && (b == ST_CLOSED || b == ST_SYN_RECEIVED))
                return LC_HALFOPEN;
        return LC_ESTABLISHED;
}

static void lru_unlink(struct conn_table *t, struct conn *c)
{
        struct lru *l = &t->lists[c->lclass];

        if (c->lprev)
                at(t, c->lprev)->lnext = c->lnext;
        else
                l->head = c->lnext;
        if (c->lnext)
                at(t, c->lnext)->lprev = c->lprev;
        else
                l->tail = c->lprev;
        c->lprev = c->lnext = 0;
}

static void lru_append(struct conn_table *t, struct conn *c, uint32_t i)
{
        struct lru *l = &t->lists[c->lclass];

        c->lprev = l->tail;
        c->lnext = 0;
        if (l->tail)
                at(t, l->tail)->lnext = i;
        else
                l->head = i;
        l->tail = i;
}

/* ---- table ---- */

struct conn_table *conn_table_create(const struct conn_limits *lim,
                                     conn_finish_fn finish, void *ctx)
{
        struct conn_table *t = calloc(1, sizeof *t);

        if (!t)
                return NULL;
        t->nbuckets = RS_TABLE_MIN_BUCKETS;
        t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
        if (!t->buckets) {
                free(t);
                return NULL;
        }
        t->lim = *lim;
        t->finish = finish;
        t->ctx = ctx;
        return t;
}

void conn_table_destroy(struct conn_table *t)
{
        if (!t)
                return;
        for (uint32_t k = 0; k < t->nchunks; k++)
                free(t->chunks[k]);
        free(t->chunks);
        free(t->buckets);
        free(t);
}

static uint32_t *bucket_of(struct conn_table *t, const struct endpoint *a,
                           const struct endpoint *b)
{
        return &t->buckets[conn_tuple_hash(a, b) & (t->nbuckets - 1)];
}

/* Double the buckets when the load passes 1 (amortised O(1) per insert). */
static void table_grow(struct conn_table *t)
{
        uint32_t n = t->nbuckets * 2, *nb;

        if (n == 0 || !(nb = calloc(n, sizeof *nb)))
                return;                 /* keep going with longer chains */
        for (uint32_t b = 0; b < t->nbuckets; b++) {
                uint32_t i = t->buckets[b];
                while (i) {
                        struct conn *c = at(t, i);
                        uint32_t next = c->hnext, *head = &nb[conn_tuple_hash(&c->cli, &c->srv) & (n - 1)];
                        c->hnext = *head;
                        *head = i;
                        i = next;
                }
        }
        free(t->buckets);
        t->buckets = nb;
        t->nbuckets = n;
}

struct conn *conn_table_find(struct conn_table *t, const struct segment *seg, int *dir)
{
        for (uint32_t i = *bucket_of(t, &seg->src, &seg->dst); i; i = at(t, i)->hnext) {
                struct conn *c = at(t, i);
                if (c->family != seg->family)
                        continue;
                if (conn_ep_eq(&c->cli, &seg->src) && conn_ep_eq(&c->srv, &seg->dst)) {
                        *dir = CLIENT;
                        return c;
                }
                if (conn_ep_eq(&c->srv, &seg->src) && conn_ep_eq(&c->cli, &seg->dst)) {
                        *dir = SERVER;
                        return c;
                }
        }
        return NULL;
}

static void evict_oldest(struct conn_table *t)
{
        size_t n = t->count * RS_EVICT_PERCENT / 100 + 1;

        if (!t->warned) {
                fprintf(stderr, "rstscope: warning: %zu connections tracked at once; "
                        "expiring the oldest (raise --max-conns)\n", t->count);
                t->warned = 1;
        }
        while (n-- && t->count) {
                uint32_t best = 0;
                for (int k = 0; k < LC_N; k++) {
                        uint32_t h = t->lists[k].head;
                        if (h && (!best || at(t, h)->last < at(t, best)->last))
                                best = h;
                }
                if (!best)
                        break;
                t->evicted++;
                conn_table_remove(t, at(t, best), CLOSE_REASON_EVICT);
        }
}

struct conn *conn_table_insert(struct conn_table *t, const struct segment *seg)
{
        uint32_t i, *head;
        struct conn *c;

        if (t->lim.max_conns && t->count >= t->lim.max_conns)
                evict_oldest(t);
        if (t->count >= t->nbuckets)
                table_grow(t);
        i = pool_alloc(t);
        if (!i)
                return NULL;
        c = at(t, i);
        memset(c, 0, sizeof *c);
        c->self = i;
        c->family = seg->family;
        c->cli = seg->src;
        c->srv = seg->dst;
        c->id = ++t->next_id;
        c->first = c->last = c->end = seg->ts;
        c->s[CLIENT].wscale = c->s[SERVER].wscale = 0xff;
        head = bucket_of(t, &seg->src, &seg->dst);
        c->hnext = *head;
        *head = i;
        c->lclass = LC_HALFOPEN;
        lru_append(t, c, i);
        if (++t->count > t->peak)
                t->peak = t->count;
        return c;
}

void conn_swap_sides(struct conn *c)
{
        struct endpoint e = c->cli;
        struct side s = c->s[CLIENT];

        c->cli = c->srv;
        c->srv = e;
        c->s[CLIENT] = c->s[SERVER];
        c->s[SERVER] = s;
}

void conn_table_remove(struct conn_table *t, struct conn *c, enum close_reason reason)
{
        uint32_t i = index_of(t, c), *pp = bucket_of(t, &c->cli, &c->srv);

        while (*pp && *pp != i)
                pp = &at(t, *pp)->hnext;
        if (*pp)
                *pp = c->hnext;
        lru_unlink(t, c);
        c->reason = (uint8_t)reason;
        if (t->finish)
                t->finish(c, t->ctx);
        c->hnext = t->free_head;
        t->free_head = i;
        t->count--;
}

void conn_touch(struct conn_table *t, struct conn *c, int64_t now)
{
        uint32_t i = index_of(t, c);

        if (now > c->last)
                c->last = now;
        lru_unlink(t, c);
        c->lclass = (uint8_t)conn_class(c);
        lru_append(t, c, i);
}

static enum close_reason closed_reason(const struct conn *c)
{
        return c->s[CLIENT].state == ST_RESET || c->s[SERVER].state == ST_RESET ?
               CLOSE_REASON_RST : CLOSE_REASON_FIN;
}

void conn_table_expire(struct conn_table *t, int64_t now)
{
        const int64_t limit[LC_N] = {
                [LC_HALFOPEN] = t->lim.halfopen_ns,
                [LC_ESTABLISHED] = t->lim.idle_ns,
                [LC_CLOSED] = t->lim.linger_ns,
        };

        for (int k = 0; k < LC_N; k++) {
                uint32_t h;
                while ((h = t->lists[k].head) && now - at(t, h)->last > limit[k])
                        conn_table_remove(t, at(t, h), k == LC_CLOSED ?
                                          closed_reason(at(t, h)) : CLOSE_REASON_IDLE);
        }
}

void conn_table_flush(struct conn_table *t)
{
        for (int k = 0; k < LC_N; k++) {
                uint32_t h;
                while ((h = t->lists[k].head))
                        conn_table_remove(t, at(t, h), k == LC_CLOSED ?
                                          closed_reason(at(t, h)) : CLOSE_REASON_EOF);
        }
}

size_t conn_table_count(const struct conn_table *t) { return t->count; }
size_t conn_table_peak(const struct conn_table *t) { return t->peak; }
uint64_t conn_table_evicted(const struct conn_table *t) { return t->evicted; }
