/* Hash index over (listener, name) and (cert, name): exact names and
 * single-label wildcards, found in O(1) expected time, never by scanning. */
#include "internal.h"

static inline uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint64_t mdri_hash(uint8_t space, uint32_t owner, uint8_t kind, const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)space << 56) ^ ((uint64_t)kind << 48) ^ owner;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
  h = mix64(h ^ n);
  return h ? h : 1;
}

int mdri_slot_insert(mdr_table *t, uint8_t space, uint32_t owner, uint8_t kind, const char *p,
                     size_t n, uint32_t value, uint32_t *existing) {
  uint64_t h = mdri_hash(space, owner, kind, p, n);
  uint64_t i = h & t->slot_mask;
  for (;;) {
    mdri_slot *s = &t->slots[i];
    if (s->hash == 0) {
      s->hash = h;
      s->host = p;
      s->host_len = (uint32_t)n;
      s->owner = owner;
      s->value = value;
      s->space = space;
      s->kind = kind;
      return 0;
    }
    if (s->hash == h && s->space == space && s->owner == owner && s->kind == kind &&
        s->host_len == n && memcmp(s->host, p, n) == 0) {
      *existing = s->value & ~MDRI_ALIAS_BIT;
      return 1;
    }
    i = (i + 1) & t->slot_mask;
  }
}

static const mdri_slot *find(const mdr_table *t, uint8_t space, uint32_t owner, uint8_t kind,
                             const char *p, size_t n) {
  uint64_t h = mdri_hash(space, owner, kind, p, n);
  uint64_t i = h & t->slot_mask;
  for (;;) {
    const mdri_slot *s = &t->slots[i];
    if (s->hash == 0) return NULL;
    if (s->hash == h && s->space == space && s->owner == owner && s->kind == kind &&
        s->host_len == n && memcmp(s->host, p, n) == 0)
      return s;
    i = (i + 1) & t->slot_mask;
  }
}

/* The suffix after the first label, or NULL when there is a single label. */
static const char *after_first_label(const char *p, size_t n, size_t *rest) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '.') {
      *rest = n - i - 1;
      return p + i + 1;
    }
  }
  return NULL;
}

mdr_index mdri_lookup(const mdr_table *t, mdr_index listener, const char *host, size_t n,
                      mdr_host_kind hk, int *kind_out) {
  const mdri_slot *s = find(t, MDRI_SPACE_LISTENER, listener, MDRI_NAME_EXACT, host, n);
  if (s) {
    if (kind_out) *kind_out = (s->value & MDRI_ALIAS_BIT) ? MDRI_NAME_ALIAS : MDRI_NAME_EXACT;
    return s->value & ~MDRI_ALIAS_BIT;
  }
  if (hk != MDR_HOST_NAME) return MDR_NONE;
  size_t rest;
  const char *suf = after_first_label(host, n, &rest);
  if (!suf) return MDR_NONE;
  s = find(t, MDRI_SPACE_LISTENER, listener, MDRI_NAME_WILD, suf, rest);
  if (!s) return MDR_NONE;
  if (kind_out) *kind_out = MDRI_NAME_WILD;
  return s->value & ~MDRI_ALIAS_BIT;
}

int mdri_cert_covers(const mdr_table *t, uint32_t cert, const char *host, size_t n,
                     mdr_host_kind hk) {
  if (cert == MDR_NONE) return 0;
  if (find(t, MDRI_SPACE_CERT, cert, MDRI_NAME_EXACT, host, n)) return 1;
  if (hk != MDR_HOST_NAME) return 0;
  size_t rest;
  const char *suf = after_first_label(host, n, &rest);
  return suf && find(t, MDRI_SPACE_CERT, cert, MDRI_NAME_WILD, suf, rest) != NULL;
}
