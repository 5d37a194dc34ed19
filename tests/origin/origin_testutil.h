/* Helpers for the misdirect-origin tests. */
#ifndef MISDIRECT_ORIGIN_TESTUTIL_H
#define MISDIRECT_ORIGIN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <misdirect/origin.h>

/* Parse hex pairs separated by blanks into out; returns the byte count or
 * (size_t)-1 on a syntax error or overflow. */
size_t ot_hex(const char *s, uint8_t *out, size_t cap);

/* A buffer whose last byte sits right before a PROT_NONE page, so a read
 * past the end faults. */
typedef struct ot_guard {
  uint8_t *map;
  size_t map_len;
  uint8_t *data;   /* data + len == the guard page */
  size_t len;
} ot_guard;

/* Copy `len` bytes of `src` flush against a guard page; fails the test on error. */
uint8_t *ot_guard_put(ot_guard *g, const void *src, size_t len);
void ot_guard_free(ot_guard *g);

/* Collects decoded entries (copies) for comparison. */
#define OT_MAX_ENTRIES 4096
typedef struct ot_list {
  size_t n;
  uint16_t len[OT_MAX_ENTRIES];
  char str[OT_MAX_ENTRIES][MDR_ORIGIN_MAX_LEN + 1];
  int stop_at;     /* if > 0: return stop_rv when the stop_at-th entry arrives */
  int stop_rv;
} ot_list;

/* An mdr_origin_entry_fn appending to the ot_list passed as user. */
int ot_collect(void *user, const char *origin, size_t len);

/* Deterministic PRNG (xorshift64*), so failures reproduce. */
typedef struct ot_rng { uint64_t s; } ot_rng;
uint64_t ot_rand(ot_rng *r);
/* Uniform-ish in [0, n). */
size_t ot_below(ot_rng *r, size_t n);

#endif
