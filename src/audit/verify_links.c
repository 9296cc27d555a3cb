/* Verifying the records that point at other records: a reuse (a signing-cache hit)
 * must name the sign record whose signature it uses again; a binding must name
 * earlier sign, reuse or binding records of the artifact it binds. */
#include <string.h>

#include "verify_internal.h"

vrec *vrec_at(vstate *v, uint64_t index)
{
    size_t lo = 0, hi = v->n_recs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->recs[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n_recs && v->recs[lo].index == index ? &v->recs[lo] : NULL;
}

static const char *type_name(uint8_t type)
{
    static const char *const names[] = {"?", "sign", "checkpoint", "service", "key", "intent", "bind",
                                        "reuse"};
    return type < sizeof names / sizeof names[0] ? names[type] : "?";
}

/* Why leaf `index` is not a record: absent, or a device entry. */
static const char *not_a_record(const vstate *v, uint64_t index)
{
    return index < v->max_plus1 && v->seen[index] ? "a device log entry, not a record"
                                                   : "missing from the trail";
}

static void check_reuse(vstate *v, const vrec *x)
{
    const vrec *o = x->original < x->index ? vrec_at(v, x->original) : NULL;
    const char *why = NULL;
    if (x->original >= x->index)
        why = "which does not come before it";
    else if (!o)
        why = not_a_record(v, x->original);
    else if (o->type != SIGNET_REC_SIGN)
        why = o->type == SIGNET_REC_REUSE ? "another reuse (a reuse must name the original sign record)"
                                          : "not a sign record";
    else if (o->key_id != x->key_id || o->slot != x->slot)
        why = "a signature by another key";
    else if (o->command != x->command)
        why = "a signature with another mechanism";
    else if (memcmp(o->data16, x->data16, sizeof o->data16) != 0)
        why = "a signature over other data";
    else if (memcmp(o->sig16, x->sig16, sizeof o->sig16) != 0)
        why = "a different signature";
    if (why)
        report_add(v->rep, SIGNET_FIND_REUSE, RECORDS_FILE, x->line,
                   "the reuse of a %s signature by key 0x%04x names leaf %llu as its original, which "
                   "is %s: a cached signature with no original record (a forged or poisoned cache "
                   "entry)", signet_mech_name(x->command) ? signet_mech_name(x->command) : "?",
                   x->key_id, (unsigned long long)x->original, why);
}

static void check_bind(vstate *v, const vrec *x)
{
    for (uint32_t i = 0; i < x->n_covers; i++) {
        uint64_t c = v->covers[x->cover_off + i];
        const vrec *o = c < x->index ? vrec_at(v, c) : NULL;
        const char *why = NULL;
        char buf[64];
        if (c >= x->index)
            why = "which does not come before it";
        else if (!o)
            why = not_a_record(v, c);
        else if (o->type != SIGNET_REC_SIGN && o->type != SIGNET_REC_REUSE && o->type != SIGNET_REC_BIND) {
            snprintf(buf, sizeof buf, "a %s record, not a signature", type_name(o->type));
            why = buf;
        } else if (o->type != SIGNET_REC_BIND &&
                   (!o->has_art || memcmp(o->art16, x->art16, sizeof o->art16) != 0))
            why = "a signature of another artifact than the binding's input";
        if (why)
            report_add(v->rep, SIGNET_FIND_BINDING, RECORDS_FILE, x->line,
                       "the binding of an output names leaf %llu as one of its signatures, which is %s: "
                       "its receipt would prove a signature that does not exist",
                       (unsigned long long)c, why);
    }
}

void check_links(vstate *v)
{
    for (size_t i = 0; i < v->n_recs; i++) {
        if (v->recs[i].type == SIGNET_REC_REUSE)
            check_reuse(v, &v->recs[i]);
        else if (v->recs[i].type == SIGNET_REC_BIND)
            check_bind(v, &v->recs[i]);
    }
}
