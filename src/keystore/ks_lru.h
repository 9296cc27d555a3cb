/* The LRU stamps file of a key store (see lru.c). */
#ifndef SIGNET_KS_LRU_H
#define SIGNET_KS_LRU_H

#include <stdint.h>

#include "signet/keystore.h"
#include "signet/proto.h"

typedef struct {
    char name[YH_LABEL_LEN + 1];
    uint64_t stamp;
} ks_lru_item;

typedef struct {
    ks_lru_item *v;
    size_t n, cap;
} ks_lru;

/* Never fails: unreadable or damaged content reads as (partly) empty. */
void ks_lru_parse(const char *text, size_t len, ks_lru *l);
void ks_lru_load(const signet_keystore *ks, ks_lru *l);
uint64_t ks_lru_stamp(const ks_lru *l, const char *name); /* 0 when never used */
void ks_lru_free(ks_lru *l);

#endif
