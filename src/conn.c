/* conn.c - the connection table: a chained hash on the canonical 5-tuple
 * (both directions meet in one entry), chunked pools of records and of
 * their extensions addressed by 32-bit index, and one activity list per
 * timeout class so expiry only ever looks at list heads.  It does not
 * interpret TCP; it only asks the records' side states which timeout
 * class they are in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_table.h"

#define POOL_SHIFT 8                    /* records per chunk: 256 */
#define POOL_CHUNK (1u << POOL_SHIFT)

struct lru {                            /* intrusive list by last activity */
        uint32_t head, tail;            /* pool indices; 0 = empty */
};

/* Records and their rare extensions share one pool: a connection's memory
 * at any moment is what it holds then, and the pool's high-water mark is
 * that of records plus extensions together, not of each.  Close details
 * (68 bytes) and IPv6 address pairs (32) have pools of their own. */
struct addr6 {
        uint8_t a[2][16];               /* [CLIENT], [SERVER] */
};

union slot {                            /* (a free slot holds the next free index) */
        struct crec r;
        struct cext x;
};

_Static_assert(sizeof(struct cext) <= sizeof(struct crec), "an extension fits a record's slot");
_Static_assert(sizeof(struct crec) <= 160, "struct crec stays within 160 bytes");
_Static_assert(sizeof(struct cclose) == 68, "struct cclose is 68 bytes");

struct pool {                           /* slots of one size, by 32-bit index */
        char **chunks;                  /* index 0 is never used */
        uint32_t nchunks, chunkcap;
        uint32_t used;                  /* indices handed out so far */
        uint32_t free_head;             /* free slots, chained through their first 4 bytes */
        size_t live;                    /* slots in use */
};

struct conn_table {
        struct pool recs;               /* union slot: records and struct cext */
        struct pool closes;             /* struct cclose */
        struct pool addrs;              /* struct addr6 */
        uint32_t *buckets;              /* hash heads; 0 = empty */
        uint32_t nbuckets;              /* power of two */
        size_t count, peak;
        uint64_t evicted;
        int warned;                     /* cap warning printed */
        uint64_t next_id;
        const struct crec *hot;         /* the record last found or inserted, */
        uint32_t hot_i;                 /*   and its index (saves rec_index) */
        struct lru lists[CC_N];
        struct conn_limits lim;
        conn_finish_fn finish;
        void *ctx;
};

static void *pool_at(const struct pool *p, uint32_t i, size_t size)
{
        return p->chunks[i >> POOL_SHIFT] + (size_t)(i & (POOL_CHUNK - 1)) * size;
}

static struct crec *at(const struct conn_table *t, uint32_t i)
{
        return &((union slot *)pool_at(&t->recs, i, sizeof(union slot)))->r;
}

static struct cext *xat(const struct conn_table *t, uint32_t i)
{
        return &((union slot *)pool_at(&t->recs, i, sizeof(union slot)))->x;
}

static struct cclose *cat(const struct conn_table *t, uint32_t i)
{
        return pool_at(&t->closes, i, sizeof(struct cclose));
}

static struct addr6 *aat(const struct conn_table *t, uint32_t i)
{
        return pool_at(&t->addrs, i, sizeof(struct addr6));
}

/* ---- pools ---- */

/* A free slot's index (its contents undefined), 0 when out of memory. */
static uint32_t pool_alloc(struct pool *p, size_t size)
{
        uint32_t i;

        if (p->free_head) {
                i = p->free_head;
                memcpy(&p->free_head, pool_at(p, i, size), sizeof p->free_head);
                p->live++;
                return i;
        }
        if (p->used + 1 >= (uint64_t)p->nchunks * POOL_CHUNK) {
                char *chunk;
                if (p->nchunks >= (1u << (32 - POOL_SHIFT)))
                        return 0;
                if (p->nchunks == p->chunkcap) {        /* the chunk list doubles */
                        uint32_t nc = p->chunkcap ? p->chunkcap * 2 : 16;
                        char **cl = realloc(p->chunks, nc * sizeof *cl);
                        if (!cl)
                                return 0;
                        p->chunks = cl;
                        p->chunkcap = nc;
                }
                if (!(chunk = malloc(POOL_CHUNK * size)))
                        return 0;
                p->chunks[p->nchunks++] = chunk;
        }
        p->live++;
        return ++p->used;
}

static void pool_free(struct pool *p, uint32_t i, size_t size)
{
        memcpy(pool_at(p, i, size), &p->free_head, sizeof p->free_head);
        p->free_head = i;
        p->live--;
}

/* The slot at *idx; when *idx is 0, a new one with its first zero bytes
 * cleared, its index stored in *idx.  NULL when out of memory. */
static void *pool_get(struct pool *p, uint32_t *idx, size_t size, size_t zero)
{
        if (!*idx) {
                uint32_t i = pool_alloc(p, size);
                if (!i)
                        return NULL;
                memset(pool_at(p, i, size), 0, zero);
                *idx = i;
        }
        return pool_at(p, *idx, size);
}

static void pool_destroy(struct pool *p)
{
        for (uint32_t k = 0; k < p->nchunks; k++)
                free(p->chunks[k]);
        free(p->chunks);
}

struct cext *conn_ext(struct conn_table *t, struct crec *r)
{
        union slot *u = pool_get(&t->recs, &r->ext, sizeof *u, sizeof u->x);

        return u ? &u->x : NULL;
}

struct cext *conn_ext_get(const struct conn_table *t, const struct crec *r)
{
        return r->ext ? xat(t, r->ext) : NULL;
}

struct cclose *conn_close(struct conn_table *t, struct crec *r)
{
        return pool_get(&t->closes, &r->close, sizeof(struct cclose), sizeof(struct cclose));
}

struct cclose *conn_close_get(const struct conn_table *t, const struct crec *r)
{
        return r->close ? cat(t, r->close) : NULL;
}

/* Free r's extensions and IPv6 addresses. */
static void ext_free(struct conn_table *t, struct crec *r)
{
        if (r->family == 6 && r->ip4[0])
                pool_free(&t->addrs, r->ip4[0], sizeof(struct addr6));
        if (r->ext)
                pool_free(&t->recs, r->ext, sizeof(union slot));
        if (r->close)
                pool_free(&t->closes, r->close, sizeof(struct cclose));
        r->ext = r->close = 0;
}

/* ---- times ---- */

static void rescale(uint32_t *v, size_t n, unsigned k)
{
        for (size_t i = 0; i < n; i++)
                if (v[i])
                        v[i] = ((v[i] - 1) >> k) + 1;
}

uint32_t crec_off(struct conn_table *t, struct crec *r, int64_t ts)
{
        int64_t us = ns_to_us(ts) - ns_to_us(r->first);
        uint64_t u;
        unsigned k = 0;

        if (us <= 0)
                return 1;               /* before the first packet: taken as at it */
        u = (uint64_t)us >> r->tshift;
        while ((u >> k) >= UINT32_MAX)
                k++;
        if (k) {                        /* coarsen every time of r */
                struct cext *x = conn_ext_get(t, r);
                struct cclose *cl = conn_close_get(t, r);
                rescale(r->t, T_N, k);
                if (x)
                        rescale(x->t, X_N, k);
                if (cl)
                        rescale(cl->t, C_N, k);
                r->tshift = (uint8_t)(r->tshift + k);
                u >>= k;
        }
        return (uint32_t)u + 1;
}

void crec_endpoint(const struct conn_table *t, const struct crec *r, int side,
                   struct endpoint *e)
{
        memset(e, 0, sizeof *e);
        if (r->family == 6) {
                if (r->ip4[0])
                        memcpy(e->addr, aat(t, r->ip4[0])->a[side], 16);
        } else {
                memcpy(e->addr, &r->ip4[side], 4);
        }
        e->port = r->port[side];
}

/* The bucket hash of a record (records do not keep it: 4 bytes each). */
static uint32_t rec_hash(const struct conn_table *t, const struct crec *c)
{
        struct endpoint a, b;

        crec_endpoint(t, c, CLIENT, &a);
        crec_endpoint(t, c, SERVER, &b);
        return (uint32_t)decode_tuple_hash(&a, &b);
}

/* ---- activity lists ---- */

static void lru_unlink(struct conn_table *t, struct crec *c)
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

static void lru_append(struct conn_table *t, struct crec *c, uint32_t i)
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
        pool_destroy(&t->recs);
        pool_destroy(&t->closes);
        pool_destroy(&t->addrs);
        free(t->buckets);
        free(t);
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
                        struct crec *c = at(t, i);
                        uint32_t next = c->hnext, *head = &nb[rec_hash(t, c) & (n - 1)];
                        c->hnext = *head;
                        *head = i;
                        i = next;
                }
        }
        free(t->buckets);
        t->buckets = nb;
        t->nbuckets = n;
}

/* A record's own pool index, from its activity list (every record is on
 * one): records do not keep it (4 bytes each). */
static uint32_t rec_index(const struct conn_table *t, const struct crec *c)
{
        if (c == t->hot)
                return t->hot_i;
        if (c->lprev)
                return at(t, c->lprev)->lnext;
        if (c->lnext)
                return at(t, c->lnext)->lprev;
        return t->lists[c->lclass].head;
}

/* Does record end side of c hold endpoint e? */
static int side_is(const struct conn_table *t, const struct crec *c, int side,
                   const struct endpoint *e)
{
        if (c->port[side] != e->port)
                return 0;
        if (c->family == 4)
                return memcmp(&c->ip4[side], e->addr, 4) == 0;
        return c->ip4[0] && memcmp(aat(t, c->ip4[0])->a[side], e->addr, 16) == 0;
}

/* seg's tuple hash, computed here unless the reading thread did */
struct crec *conn_table_find(struct conn_table *t, const struct segment *seg, int *dir)
{
        uint32_t h = seg->tuple_hash;

        for (uint32_t i = t->buckets[h & (t->nbuckets - 1)]; i; i = at(t, i)->hnext) {
                struct crec *c = at(t, i);
                if (c->family != seg->family)
                        continue;
                if (side_is(t, c, CLIENT, &seg->src) && side_is(t, c, SERVER, &seg->dst))
                        *dir = CLIENT;
                else if (side_is(t, c, SERVER, &seg->src) && side_is(t, c, CLIENT, &seg->dst))
                        *dir = SERVER;
                else
                        continue;
                t->hot = c;
                t->hot_i = i;
                return c;
        }
        return NULL;
}

void conn_table_prefetch(const struct conn_table *t, const struct segment *seg, int stage)
{
        const uint32_t *b = &t->buckets[seg->tuple_hash & (t->nbuckets - 1)];

        if (stage == 0) {
                __builtin_prefetch(b);
        } else if (*b) {
                const char *c = (const char *)at(t, *b);
                __builtin_prefetch(c);
                __builtin_prefetch(c + 64);
                __builtin_prefetch(c + 128);
        }
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
                for (int k = 0; k < CC_N; k++) {
                        uint32_t h = t->lists[k].head;
                        if (h && (!best || crec_ns(at(t, h), at(t, h)->t[T_LAST]) <
                                           crec_ns(at(t, best), at(t, best)->t[T_LAST])))
                                best = h;
                }
                if (!best)
                        break;
                t->evicted++;
                conn_table_remove(t, at(t, best), CLOSE_REASON_EVICT);
        }
}

struct crec *conn_table_insert(struct conn_table *t, const struct segment *seg)
{
        uint32_t i, *head;
        struct crec *c;

        if (t->lim.max_conns && t->count >= t->lim.max_conns)
                evict_oldest(t);
        if (t->count >= t->nbuckets)
                table_grow(t);
        i = pool_alloc(&t->recs, sizeof(union slot));
        if (!i)
                return NULL;
        c = at(t, i);
        memset(c, 0, sizeof *c);
        c->family = seg->family;
        if (seg->family == 6) {
                uint32_t ai = pool_alloc(&t->addrs, sizeof(struct addr6));
                if (!ai) {
                        pool_free(&t->recs, i, sizeof(union slot));
                        return NULL;
                }
                memcpy(aat(t, ai)->a[CLIENT], seg->src.addr, 16);
                memcpy(aat(t, ai)->a[SERVER], seg->dst.addr, 16);
                c->ip4[0] = ai;
        } else {
                memcpy(&c->ip4[CLIENT], seg->src.addr, 4);
                memcpy(&c->ip4[SERVER], seg->dst.addr, 4);
        }
        c->port[CLIENT] = seg->src.port;
        c->port[SERVER] = seg->dst.port;
        c->id = ++t->next_id;
        c->first = seg->ts;
        c->t[T_LAST] = c->t[T_END] = 1;
        c->s[CLIENT].wscale = c->s[SERVER].wscale = 0xff;
        head = &t->buckets[seg->tuple_hash & (t->nbuckets - 1)];
        c->hnext = *head;
        *head = i;
        c->lclass = CC_HALFOPEN;
        lru_append(t, c, i);
        t->hot = c;
        t->hot_i = i;
        if (++t->count > t->peak)
                t->peak = t->count;
        return c;
}

void conn_swap_sides(struct conn_table *t, struct crec *c)
{
        struct cside s = c->s[CLIENT];
        uint16_t p = c->port[CLIENT];

        if (c->family == 6) {
                struct addr6 *a6 = c->ip4[0] ? aat(t, c->ip4[0]) : NULL;
                if (a6) {
                        uint8_t e[16];
                        memcpy(e, a6->a[CLIENT], 16);
                        memcpy(a6->a[CLIENT], a6->a[SERVER], 16);
                        memcpy(a6->a[SERVER], e, 16);
                }
        } else {
                uint32_t a = c->ip4[CLIENT];
                c->ip4[CLIENT] = c->ip4[SERVER];
                c->ip4[SERVER] = a;
        }
        c->port[CLIENT] = c->port[SERVER];
        c->port[SERVER] = p;
        c->s[CLIENT] = c->s[SERVER];
        c->s[SERVER] = s;
}

void conn_table_remove(struct conn_table *t, struct crec *c, enum close_reason reason)
{
        uint32_t i = rec_index(t, c), *pp = &t->buckets[rec_hash(t, c) & (t->nbuckets - 1)];

        while (*pp && *pp != i)
                pp = &at(t, *pp)->hnext;
        if (*pp)
                *pp = c->hnext;
        lru_unlink(t, c);
        c->reason = (uint8_t)reason;
        if (t->finish)
                t->finish(c, t->ctx);
        ext_free(t, c);
        pool_free(&t->recs, i, sizeof(union slot));
        if (c == t->hot)
                t->hot = NULL;
        t->count--;
}

void conn_touch_off(struct conn_table *t, struct crec *c, uint32_t off, enum conn_class cls)
{
        uint32_t i = rec_index(t, c);

        if (off > c->t[T_LAST])
                c->t[T_LAST] = off;
        lru_unlink(t, c);
        c->lclass = (uint8_t)cls;
        lru_append(t, c, i);
}

void conn_table_expire(struct conn_table *t, int64_t now)
{
        const int64_t limit[CC_N] = {
                [CC_HALFOPEN] = t->lim.halfopen_ns,
                [CC_ESTABLISHED] = t->lim.idle_ns,
                [CC_CLOSED] = t->lim.linger_ns,
        };

        for (int k = 0; k < CC_N; k++) {
                uint32_t h;
                while ((h = t->lists[k].head) &&
                       now - crec_ns(at(t, h), at(t, h)->t[T_LAST]) > limit[k])
                        conn_table_remove(t, at(t, h), k == CC_CLOSED ?
                                          CLOSE_REASON_FIN : CLOSE_REASON_IDLE);
        }
}

void conn_table_flush(struct conn_table *t)
{
        for (int k = 0; k < CC_N; k++) {
                uint32_t h;
                while ((h = t->lists[k].head))
                        conn_table_remove(t, at(t, h), k == CC_CLOSED ?
                                          CLOSE_REASON_FIN : CLOSE_REASON_EOF);
        }
}

size_t conn_table_count(const struct conn_table *t) { return t->count; }
size_t conn_table_peak(const struct conn_table *t) { return t->peak; }
uint64_t conn_table_evicted(const struct conn_table *t) { return t->evicted; }
