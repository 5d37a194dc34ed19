/* Shared helpers of the fuzz targets: invariant checks that abort (so
 * libFuzzer and the replay runner both report them), exact-size copies (so
 * ASan catches a read one byte past any field), and the fixed table. */
#ifndef MISDIRECT_FUZZ_COMMON_H
#define MISDIRECT_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <misdirect/misdirect.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_CHECK(cond)                                                        \
  do {                                                                        \
    if (!(cond)) fz_fail(__FILE__, __LINE__, #cond);                          \
  } while (0)

static inline void fz_fail(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
  abort();
}

/* An exact-size heap copy (NULL for an empty string, which the API allows). */
static inline mdr_str fz_dup(const void *p, size_t n) {
  mdr_str s = { NULL, n };
  if (n) {
    char *c = malloc(n);
    if (!c) abort();
    memcpy(c, p, n);
    s.ptr = c;
  }
  return s;
}

static inline void fz_free(mdr_str s) { free((void *)(uintptr_t)s.ptr); }

static inline int fz_str_eq(mdr_str a, mdr_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline int fz_is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static inline int fz_is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static inline unsigned char fz_upper(unsigned char c) {
  return fz_is_lower(c) ? (unsigned char)(c - 32) : c;
}

/* An exact-size copy with ASCII letters upper-cased in [from, to). */
static inline mdr_str fz_dup_upper(mdr_str s, size_t from, size_t to) {
  mdr_str u = fz_dup(s.ptr, s.len);
  char *p = (char *)(uintptr_t)u.ptr;
  for (size_t i = from; i < to && i < s.len; i++) p[i] = (char)fz_upper((unsigned char)p[i]);
  return u;
}

/* ---- the fixed table (fixture.c) ------------------------------------------ */

/* Build (once) and return the table every decision target uses. */
const mdr_table *fz_fixture(void);

/* Concrete names= of vhost v (normalised), its wildcard suffixes (without
 * "*."), its redirect names; NULL-terminated arrays. */
const char *const *fz_vhost_names(mdr_index v);
const char *const *fz_vhost_wildcards(mdr_index v);
const char *const *fz_vhost_aliases(mdr_index v);

/* Does normalised host h match name list / wildcard list of vhost v? */
int fz_vhost_has_name(mdr_index v, const char *h, size_t n);
int fz_vhost_wild_match(mdr_index v, const char *h, size_t n);
int fz_vhost_has_alias(mdr_index v, const char *h, size_t n);

/* Check the invariants of a handshake result on listener l (TLS). */
void fz_check_handshake(const mdr_table *t, mdr_index l, int has_sni, const char *sni,
                        size_t sni_len, const mdr_handshake_result *hs);

/* Every origin of (listener, H, version) given as origin set and as
 * :authority is served or redirected, never 421 (docs/decision-rules.md, "The origin set of a connection"). */
void fz_check_origin_set(const mdr_table *t, mdr_index l, mdr_index h, mdr_http_version v);

/* Collect the origin set of (l, h, v) into caller storage (up to cap
 * entries of 300 bytes each); returns the count. */
size_t fz_origin_set(const mdr_table *t, mdr_index l, mdr_index h, mdr_http_version v,
                     char (*buf)[300], mdr_str *out, size_t cap);

#endif
