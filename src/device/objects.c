/* The object store: 256 records, 1024 pages of 126 bytes, (type, id) unique,
 * sequence numbers, domain visibility and the capability rules for new objects.
 *
 * Page rule (shared/docs/yubihsm2.md): an object takes ceil(len / 126) pages,
 * at least one, where len is the length Get Object Info reports (for RSA 3.5 x
 * the modulus bytes).  With one authentication key this reproduces Yubico's
 * published capacities: 127 RSA-2048, 93 RSA-3072, 68 RSA-4096 keys. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dev.h"
#include "signet/secmem.h"

dev_object *dev_obj_find(dev_state *st, uint8_t type, uint16_t id)
{
    for (size_t i = 0; i < YH_MAX_OBJECTS; i++) {
        dev_object *o = &st->objects[i];
        if (o->used && o->type == type && o->id == id)
            return o;
    }
    return NULL;
}

dev_object *dev_obj_alloc(dev_state *st)
{
    for (size_t i = 0; i < YH_MAX_OBJECTS; i++)
        if (!st->objects[i].used)
            return &st->objects[i];
    return NULL;
}

void dev_obj_clear(dev_object *o)
{
    if (o->body) {
        smem_wipe(o->body, o->body_len);
        smem_free(o->body);
    }
    EVP_PKEY_free(o->pkey);
    memset(o, 0, sizeof *o);
}

uint8_t dev_obj_next_sequence(const dev_state *st, uint8_t type, uint16_t id)
{
    for (size_t i = 0; i < st->n_tombs; i++)
        if (st->tombs[i].type == type && st->tombs[i].id == id)
            return st->tombs[i].next_seq;
    return 0;
}

void dev_obj_delete(dev_state *st, dev_object *o)
{
    uint8_t type = o->type, next = (uint8_t)(o->sequence + 1);
    uint16_t id = o->id;
    dev_obj_clear(o);
    for (size_t i = 0; i < st->n_tombs; i++) {
        if (st->tombs[i].type == type && st->tombs[i].id == id) {
            st->tombs[i].next_seq = next;
            return;
        }
    }
    /* Growing the table can fail only on exhaustion; losing a sequence number
     * then is harmless (the next object starts again at 0). */
    dev_tombstone *t = realloc(st->tombs, (st->n_tombs + 1) * sizeof *t);
    if (!t)
        return;
    st->tombs = t;
    st->tombs[st->n_tombs++] = (dev_tombstone){.type = type, .id = id, .next_seq = next};
}

uint16_t dev_obj_len(const dev_object *o)
{
    switch (o->type) {
    case YH_TYPE_ASYMMETRIC_KEY:
        return (uint16_t)dev_key_object_len(o->algorithm);
    case YH_TYPE_AUTHENTICATION_KEY:
    case YH_TYPE_WRAP_KEY:
        /* delegated capabilities (8) then the key, as in a wrapped body */
        return (uint16_t)(8 + o->body_len);
    default:
        return (uint16_t)o->body_len;
    }
}

unsigned dev_pages_for_len(size_t len)
{
    unsigned p = (unsigned)((len + YH_PAGE_SIZE - 1) / YH_PAGE_SIZE);
    return p ? p : 1;
}

unsigned dev_obj_pages(const dev_object *o)
{
    if (o->type == YH_TYPE_AUTHENTICATION_KEY)
        return 1;
    return dev_pages_for_len(dev_obj_len(o));
}

unsigned dev_used_pages(const dev_state *st)
{
    unsigned n = 0;
    for (size_t i = 0; i < YH_MAX_OBJECTS; i++)
        if (st->objects[i].used)
            n += dev_obj_pages(&st->objects[i]);
    return n;
}

unsigned dev_used_records(const dev_state *st)
{
    unsigned n = 0;
    for (size_t i = 0; i < YH_MAX_OBJECTS; i++)
        n += st->objects[i].used;
    return n;
}

uint8_t dev_storage_check(const dev_state *st, size_t len)
{
    if (dev_used_records(st) >= YH_MAX_OBJECTS)
        return YH_ERR_STORAGE_FAILED;
    if (dev_used_pages(st) + dev_pages_for_len(len) > YH_STORAGE_PAGES)
        return YH_ERR_STORAGE_FAILED;
    return YH_ERR_OK;
}

static bool id_used(const dev_state *st, uint8_t type, uint16_t id)
{
    for (size_t i = 0; i < YH_MAX_OBJECTS; i++)
        if (st->objects[i].used && st->objects[i].type == type && st->objects[i].id == id)
            return true;
    return false;
}

uint16_t dev_pick_id(const dev_state *st, uint8_t type)
{
    /* Random like the device (ids such as 0xcf94 in Yubico's examples); at most
     * 256 ids are taken, so a few draws always find one. */
    for (int tries = 0; tries < 64; tries++) {
        uint16_t id;
        if (RAND_bytes((uint8_t *)&id, sizeof id) != 1)
            break;
        if (id != 0 && id != 0xffff && !id_used(st, type, id))
            return id;
    }
    for (uint32_t id = 1; id < 0xffff; id++)
        if (!id_used(st, type, (uint16_t)id))
            return (uint16_t)id;
    return 0;
}

void dev_obj_info(const dev_object *o, yh_object_info *oi)
{
    memset(oi, 0, sizeof *oi);
    oi->capabilities = o->capabilities;
    oi->id = o->id;
    oi->len = dev_obj_len(o);
    oi->domains = o->domains;
    oi->type = o->type;
    oi->algorithm = o->algorithm;
    oi->sequence = o->sequence;
    oi->origin = o->origin;
    yh_label_decode(o->label, oi->label);
    oi->delegated_capabilities = o->delegated;
}

dev_object *dev_session_key(hsm_device *dev, const dev_session *s)
{
    if (!s)
        return NULL;
    return dev_obj_find(dev->st, YH_TYPE_AUTHENTICATION_KEY, s->auth_id);
}

dev_object *dev_obj_visible(hsm_device *dev, const dev_session *s, uint8_t type, uint16_t id)
{
    dev_object *k = dev_session_key(dev, s);
    dev_object *o = dev_obj_find(dev->st, type, id);
    if (!k || !o || !(k->domains & o->domains))
        return NULL;
    return o;
}

bool dev_session_has_cap(hsm_device *dev, const dev_session *s, unsigned bit)
{
    dev_object *k = dev_session_key(dev, s);
    return k && (k->capabilities & YH_CAP(bit));
}

void dev_state_free_objects(dev_state *st)
{
    for (size_t i = 0; i < YH_MAX_OBJECTS; i++)
        if (st->objects[i].used || st->objects[i].body || st->objects[i].pkey)
            dev_obj_clear(&st->objects[i]);
    free(st->tombs);
    st->tombs = NULL;
    st->n_tombs = 0;
    dev_identity_free(&st->id);
}

uint8_t dev_parse_put_hdr(sb_rd *r, dev_put_hdr *h)
{
    if (sbr_u16(r, &h->id) || sbr_copy(r, h->label, YH_LABEL_LEN) || sbr_u16(r, &h->domains) ||
        sbr_u64(r, &h->capabilities) || sbr_u8(r, &h->algorithm))
        return YH_ERR_WRONG_LENGTH;
    return YH_ERR_OK;
}

uint8_t dev_prepare_new(dev_req *rq, uint8_t type, dev_put_hdr *h, uint64_t delegated,
                        size_t len, dev_object **slot)
{
    dev_state *st = rq->dev->st;
    dev_object *k = dev_session_key(rq->dev, rq->sess);
    if (!k)
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (h->domains == 0)
        return YH_ERR_INVALID_DATA;
    /* What a key may hand out is bounded by its delegated capabilities; new
     * objects live only in the key's own domains. */
    if ((h->capabilities & ~k->delegated) || (delegated & ~k->delegated) ||
        (h->domains & ~k->domains))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (h->id == 0) {
        h->id = dev_pick_id(st, type);
        if (h->id == 0)
            return YH_ERR_STORAGE_FAILED;
    } else if (dev_obj_find(st, type, h->id)) {
        return YH_ERR_OBJECT_EXISTS;
    }
    uint8_t rc = dev_storage_check(st, type == YH_TYPE_AUTHENTICATION_KEY ? 1 : len);
    if (rc)
        return rc;
    *slot = dev_obj_alloc(st);
    return *slot ? YH_ERR_OK : YH_ERR_STORAGE_FAILED;
}

void dev_obj_fill(dev_state *st, dev_object *o, uint8_t type, const dev_put_hdr *h,
                  uint64_t delegated, uint8_t origin, uint8_t *body, size_t body_len)
{
    o->used = true;
    o->type = type;
    o->id = h->id;
    o->algorithm = h->algorithm;
    o->sequence = dev_obj_next_sequence(st, type, h->id);
    o->origin = origin;
    o->domains = h->domains;
    o->capabilities = h->capabilities;
    o->delegated = delegated;
    memcpy(o->label, h->label, YH_LABEL_LEN);
    o->body = body;
    o->body_len = body_len;
}
