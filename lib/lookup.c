/* Hash index over (listener, name) and (cert, name): exact names and
 * single-label wildcards, found in O(1) expected time, never by scanning.
 *
 * Layout (measured in bench/, see docs/performance.md): open addressing with
 * linear probing over 16-byte slots, four per cache line.  A slot holds a
 * 24-bit hash tag and the key length in one word, so a probe rejects a
 * mismatch without touching the key; a hit is confirmed against the key
 * bytes in the table's string block.  The meta word beside them holds the
 * key's owner, space and kind, and the vhost's plain bits.  Beside the
 * slots, a small filter (two bits per key, see filter_bits) answers most
 * probes for a key that is not there without walking the slots.
 *
 * The hash of a name is built from two independent parts: the hash of its
 * first label and the hash of the rest (the suffix after the first dot).  A
 * wildcard "*.rest" is stored under the hash of "rest" alone, so the wildcard
 * probe for a query reuses the suffix hash computed for the exact probe: one
 * pass over the bytes serves both probes, and both slot addresses are known
 * before the first probe, so the wildcard's cache line is fetched in parallel
 * with the exact one. */
#include "internal.h"

#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full

#define ld64(p) mdri_ld64(p)
#define ld32(p) mdri_ld32(p)

/* Word-at-a-time hash of [p, p+n); never reads outside the range (the tail
 * is read with overlapping loads).  Byte order only affects the hash values,
 * which never leave the process. */
static inline uint64_t hash_bytes(const char *p, size_t n, uint64_t seed) {
  uint64_t h = seed ^ ((uint64_t)n * K1);
  while (n > 8) {
    h = (h ^ ld64(p)) * K1;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t w;
  if (n >= 4)
    w = (uint64_t)ld32(p) | (uint64_t)ld32(p + n - 4) << 32;
  else if (n > 0)
    w = (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[n >> 1] << 8 |
        (unsigned char)p[n - 1];
  else
    w = 0;
  h = (h ^ w) * K2;
  return h ^ (h >> 31);
}

/* The last `avail` (1..7) bytes of a range ending at p + avail, as the low
 * bytes of a word (zero above); `back` bytes before p are readable (the
 * range started there), which allows one overlapping 8-byte load. */
static inline uint64_t ld_partial(const char *p, size_t avail, size_t back) {
  if (back + avail >= 8) return ld64(p + avail - 8) >> (8 * (8 - avail));
  uint64_t w = 0;
  for (size_t i = 0; i < avail; i++) w |= (uint64_t)(unsigned char)p[i] << (8 * i);
  return w;
}

#define SEED_LABEL 0x6a09e667f3bcc909ull
#define SEED_REST 0xbb67ae8584caa73bull
#define NO_REST 0x3c6ef372fe94f82bull
#define K3 0xd6e8feb86659fd93ull

/* The first label's hash: of its d bytes [p, p+d), where p has n >= d
 * readable bytes and p[d] is the name's first dot (or d == n).  Only the
 * label's bytes and d enter it, whatever follows. */
static inline uint64_t label_hash_at(const char *p, size_t d, size_t n) {
  uint64_t h = SEED_LABEL;
  size_t i = 0;
  while (d - i > 8) {
    h = (h ^ ld64(p + i)) * K1;
    h ^= h >> 29;
    i += 8;
  }
  size_t rem = d - i; /* 0 to 8 */
  uint64_t w = 0;
  if (rem) {
    size_t avail = n - i;
    w = avail >= 8 ? ld64(p + i) : ld_partial(p + i, avail, i);
    if (rem < 8) w &= ~0ull >> (64 - 8 * rem);
  }
  h = (h ^ w ^ (uint64_t)d << 56) * K1;
  return h ^ (h >> 29);
}

/* The index of the first dot of [p, p+n), or n. */
static inline size_t first_dot(const char *p, size_t n) {
  const char *d = memchr(p, '.', n);
  return d ? (size_t)(d - p) : n;
}

static inline uint64_t owner_mix(uint8_t space, uint32_t owner) {
  return ((uint64_t)owner << 2 | space) * K2;
}

/* Final hashes: an exact key from its two parts, a wildcard from its suffix. */
static inline uint64_t exact_hash(uint64_t hl, uint64_t hr, uint64_t om) {
  uint64_t h = (hl ^ (hr << 23 | hr >> 41) ^ om) * K3;
  return h ^ (h >> 32);
}
static inline uint64_t wild_hash(uint64_t hr, uint64_t om) {
  uint64_t h = (hr ^ om ^ 0x5bd1e9955bd1e995ull) * K3;
  return h ^ (h >> 32);
}

/* The two part hashes of a name whose first dot is at d (or d == n): first
 * label, and the rest (NO_REST when there is a single label). */
static inline void part_hashes(const char *p, size_t n, size_t d, uint64_t *hl, uint64_t *hr) {
  *hl = label_hash_at(p, d, n);
  *hr = d < n ? hash_bytes(p + d + 1, n - d - 1, SEED_REST) : NO_REST;
}

/* Slot words: tag (24 high hash bits) and length; meta = owner, space, kind. */
static inline uint32_t taglen(uint64_t h, size_t n) { return (uint32_t)(h >> 40) << 8 | (uint32_t)n; }
/* A slot's meta word without the vhost's plain bits (compared on a tag hit only). */
#define META(s) ((s)->meta & MDRI_META_KEY)
#define meta(space, owner, kind) mdri_slot_meta(space, owner, kind)

#define bytes_eq(a, b, n) mdri_bytes_eq(a, b, n)

/* The key filter: a Bloom filter with two bits per key in one 64-bit word
 * (blocked), four bits per slot, so 6 to 11 bits per key at the index's
 * load of 0.375 to 0.67: about 3 to 8% of absent keys pass it.  The word
 * comes from bits 32 and up of the key's hash, the two bits from bits 20-31;
 * the slot index uses the low bits and the tag bits 40-63.  Keys are never
 * removed, so a key that is in the index always passes: the filter only
 * spares the probe walk of a key that is not there (the exact probe of every
 * wildcard hit, and both probes of a miss), which is a run of slots to the
 * first empty one. */
static inline uint64_t filter_bits(uint64_t h) {
  return 1ull << ((h >> 20) & 63) | 1ull << ((h >> 26) & 63);
}
static inline int filter_may_hold(const mdr_table *t, uint64_t h) {
  uint64_t b = filter_bits(h);
  return (t->filter[(h >> 32) & t->filter_mask] & b) == b;
}

static inline const mdri_slot *probe(const mdr_table *t, uint64_t h, uint32_t tl, uint32_t mt,
                                     const char *p, size_t n) {
  if (!filter_may_hold(t, h)) return NULL;
  uint64_t i = h & t->slot_mask;
  for (;;) {
    const mdri_slot *s = &t->slots[i];
    if (s->taglen == tl) {
      if (META(s) == mt && bytes_eq(t->strings + s->key, p, n)) return s;
    } else if (s->taglen == 0) {
      return NULL;
    }
    i = (i + 1) & t->slot_mask;
  }
}

static inline void prefetch(const void *p) {
#if (defined(__GNUC__) || defined(__clang__)) && !defined(MDRI_NO_PREFETCH)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

uint64_t mdri_slot_hash(uint8_t space, uint32_t owner, uint8_t kind, const char *p, size_t n) {
  if (kind == MDRI_NAME_WILD) return wild_hash(hash_bytes(p, n, SEED_REST), owner_mix(space, owner));
  uint64_t hl, hr;
  part_hashes(p, n, first_dot(p, n), &hl, &hr);
  return exact_hash(hl, hr, owner_mix(space, owner));
}

uint64_t mdri_hash_str(const char *p, size_t n, uint64_t seed) { return hash_bytes(p, n, seed); }

void mdri_slot_prefetch(const mdr_table *t, uint64_t h) { prefetch(&t->slots[h & t->slot_mask]); }

int mdri_slot_insert_hashed(mdr_table *t, uint64_t h, uint8_t space, uint32_t owner, uint8_t kind,
                            const char *p, size_t n, uint32_t value, uint8_t plain,
                            uint32_t *existing) {
  uint32_t tl = taglen(h, n), mt = meta(space, owner, kind);
  /* One walk: a clash is met before the first empty slot. */
  uint64_t i = h & t->slot_mask;
  while (t->slots[i].taglen != 0) {
    const mdri_slot *s = &t->slots[i];
    if (s->taglen == tl && META(s) == mt && bytes_eq(t->strings + s->key, p, n)) {
      *existing = s->value & ~MDRI_ALIAS_BIT;
      return 1;
    }
    i = (i + 1) & t->slot_mask;
  }
  t->filter[(h >> 32) & t->filter_mask] |= filter_bits(h);
  mdri_slot *s = &t->slots[i];
  s->taglen = tl;
  s->value = value;
  s->key = (uint32_t)(p - t->strings);
  s->meta = mt | (uint32_t)plain << 24;
  return 0;
}

int mdri_slot_insert(mdr_table *t, uint8_t space, uint32_t owner, uint8_t kind, const char *p,
                     size_t n, uint32_t value, uint32_t *existing) {
  return mdri_slot_insert_hashed(t, mdri_slot_hash(space, owner, kind, p, n), space, owner, kind,
                                 p, n, value, 0, existing);
}

/* Is [p, p+j) one label in normal form ([a-z0-9_-], 1 to 63 bytes, no
 * hyphen at either end)?  p has n > j readable bytes. */
static int label_normal(const char *p, size_t j, size_t n) {
  if (j == 0 || j > 63 || p[0] == '-' || p[j - 1] == '-') return 0;
#if MDRI_BYTES_EQ_SSE2
  if (j <= 16 && n >= 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i lower = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i other = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('_')));
    unsigned ok = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(lower, digit), other));
    unsigned want = (1u << j) - 1u;
    return (ok & want) == want;
  }
#else
  (void)n;
#endif
  for (size_t i = 0; i < j; i++) {
    unsigned char c = (unsigned char)p[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0;
  }
  return 1;
}

int mdri_wild_match(const mdr_table *t, mdr_index listener, const mdri_slot *s, const char *host,
                    size_t n) {
  size_t k = s->taglen & 0xffu;
  if (n < k + 2 || n > MDR_HOST_MAX) return 0;
  size_t j = n - k - 1; /* the label's length; host[j] is its dot */
  if (host[j] != '.' || !label_normal(host, j, n) ||
      !bytes_eq(t->strings + s->key, host + j + 1, k))
    return 0;
  /* mdri_lookup's exact probe (part_hashes: the first dot is j's). */
  uint64_t hl = label_hash_at(host, j, n);
  uint64_t hr = hash_bytes(host + j + 1, k, SEED_REST);
  uint64_t he = exact_hash(hl, hr, owner_mix(MDRI_SPACE_LISTENER, listener));
  return probe(t, he, taglen(he, n), meta(MDRI_SPACE_LISTENER, listener, MDRI_NAME_EXACT), host,
               n) == NULL;
}

/* Exact probe, then the wildcard probe for the suffix after the first label
 * (names only: a wildcard never covers an IP literal).  The name's part
 * hashes do not depend on the owner or the space, so one lookup can hand
 * them to the next probe of the same bytes: `in`, when not NULL, holds them;
 * else they are computed (from the first dot's index `dot`, or searching
 * for it when that is NO_DOT_KNOWN), and stored in `out` when not NULL. */
#define NO_DOT_KNOWN SIZE_MAX
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline const mdri_slot *find_name(const mdr_table *t, uint8_t space, uint32_t owner,
                                         const char *host, size_t n, mdr_host_kind hk,
                                         size_t dot, int *wild, const mdri_name_hash *in,
                                         mdri_name_hash *out) {
  uint64_t hl, hr;
  size_t d;
  if (in) {
    hl = in->label, hr = in->rest, d = in->dot;
  } else {
    d = dot == NO_DOT_KNOWN ? first_dot(host, n) : dot;
    part_hashes(host, n, d, &hl, &hr);
    if (out) out->label = hl, out->rest = hr, out->dot = d;
  }
  uint64_t om = owner_mix(space, owner);
  uint64_t he = exact_hash(hl, hr, om);
  int can_wild = hk == MDR_HOST_NAME && d + 1 < n;
  uint64_t hw = 0;
  if (can_wild) {
    hw = wild_hash(hr, om);
    prefetch(&t->slots[hw & t->slot_mask]);
  }
  *wild = 0;
  const mdri_slot *s = probe(t, he, taglen(he, n), meta(space, owner, MDRI_NAME_EXACT), host, n);
  if (s || !can_wild) return s;
  *wild = 1;
  size_t rn = n - d - 1;
  return probe(t, hw, taglen(hw, rn), meta(space, owner, MDRI_NAME_WILD), host + d + 1, rn);
}

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline mdr_index lookup(const mdr_table *t, mdr_index listener, const char *host,
                               size_t n, mdr_host_kind hk, size_t dot, int *kind_out,
                               uint32_t *match_out, mdri_name_hash *out) {
  if (match_out) *match_out = 0;
  if (n == 0 || n > 255) return MDR_NONE; /* normalised names are at most 253 bytes */
  int wild;
  const mdri_slot *s = find_name(t, MDRI_SPACE_LISTENER, listener, host, n, hk,
                                 dot > n ? NO_DOT_KNOWN : dot, &wild, NULL, out);
  if (!s) return MDR_NONE;
  if (kind_out)
    *kind_out = wild ? MDRI_NAME_WILD
                : (s->value & MDRI_ALIAS_BIT) ? MDRI_NAME_ALIAS : MDRI_NAME_EXACT;
  if (match_out) *match_out = (uint32_t)(s - t->slots) + 1;
  return s->value & ~MDRI_ALIAS_BIT;
}

mdr_index mdri_lookup(const mdr_table *t, mdr_index listener, const char *host, size_t n,
                      mdr_host_kind hk, int *kind_out) {
  return lookup(t, listener, host, n, hk, NO_DOT_KNOWN, kind_out, NULL, NULL);
}

const mdri_slot *mdri_lookup_slot(const mdr_table *t, mdr_index listener, const char *host,
                                  size_t n, mdr_host_kind hk, size_t dot, mdri_name_hash *out) {
  if (n == 0 || n > 255) return NULL; /* normalised names are at most 253 bytes */
  int wild;
  return find_name(t, MDRI_SPACE_LISTENER, listener, host, n, hk, dot > n ? NO_DOT_KNOWN : dot,
                   &wild, NULL, out);
}

mdr_index mdri_lookup_match(const mdr_table *t, mdr_index listener, const char *host, size_t n,
                            mdr_host_kind hk, size_t dot, uint32_t *match_out) {
  return lookup(t, listener, host, n, hk, dot, NULL, match_out, NULL);
}

static const mdri_slot *cert_wild_slot(const mdr_table *t, uint32_t cert, const char *p,
                                       size_t n) {
  if (n == 0 || n > 255) return NULL;
  uint64_t h = mdri_slot_hash(MDRI_SPACE_CERT, cert, MDRI_NAME_WILD, p, n);
  return probe(t, h, taglen(h, n), meta(MDRI_SPACE_CERT, cert, MDRI_NAME_WILD), p, n);
}

uint32_t mdri_cert_wild_value(const mdr_table *t, uint32_t cert, const char *p, size_t n) {
  const mdri_slot *s = cert_wild_slot(t, cert, p, n);
  return s ? s->value : 0;
}

void mdri_cert_wild_set_value(mdr_table *t, uint32_t cert, const char *p, size_t n,
                              uint32_t value) {
  const mdri_slot *s = cert_wild_slot(t, cert, p, n);
  if (s) t->slots[s - t->slots].value = value;
}

int mdri_cert_covers_nh(const mdr_table *t, uint32_t cert, const char *host, size_t n,
                        mdr_host_kind hk, const mdri_name_hash *nh) {
  if (cert == MDR_NONE || n == 0 || n > 255) return 0;
  int wild;
  return find_name(t, MDRI_SPACE_CERT, cert, host, n, hk, NO_DOT_KNOWN, &wild, nh, NULL) != NULL;
}

int mdri_cert_covers(const mdr_table *t, uint32_t cert, const char *host, size_t n,
                     mdr_host_kind hk) {
  return mdri_cert_covers_nh(t, cert, host, n, hk, NULL);
}
