/* Internal structures shared by the core's modules.  Not installed. */
#ifndef MISDIRECT_INTERNAL_H
#define MISDIRECT_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <misdirect/misdirect.h>

#include "mem.h"
#include "quote.h"

/* ---- small helpers ----------------------------------------------------- */

static inline int mdri_str_eq(mdr_str a, mdr_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}
static inline int mdri_str_eq_lit(mdr_str a, const char *lit) {
  size_t n = strlen(lit);
  return a.len == n && (n == 0 || memcmp(a.ptr, lit, n) == 0);
}
/* A hint that *p will be read soon (no effect on the result; a no-op
 * where the compiler has no prefetch builtin). */
static inline void mdri_prefetch(const void *p) {
#if (defined(__GNUC__) || defined(__clang__)) && !defined(MDRI_NO_PREFETCH)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

static inline unsigned char mdri_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}
/* Case-insensitive (ASCII) equality with a lower-case literal. */
int mdri_str_ieq_lit(mdr_str a, const char *lower_lit);

/* ---- authority ------------------------------------------------------- */

/* Parse a host[:port] (see mdr_authority_parse).  Returns the reason
 * (a 400 reason) or MDR_REASON_COUNT_ when valid. */
mdr_reason mdri_authority(const char *p, size_t len, mdr_authority *out);
/* The same, also giving in *first_dot the index of the first '.' of
 * out->host (out->host_len when it has none, or when the authority is not
 * valid): the lookup's hashes start from it. */
mdr_reason mdri_authority_dot(const char *p, size_t len, mdr_authority *out, size_t *first_dot);

/* Parse a bare IPv6 address text (no brackets) into 16 bytes; 0 on success. */
int mdri_ipv6_parse(const char *p, size_t len, uint8_t out[16]);
/* RFC 5952 text of 16 bytes into buf (>= 46 bytes); returns its length. */
size_t mdri_ipv6_format(const uint8_t a[16], char *buf);

/* Is an SNI a valid host name for the handshake step (1-255 bytes, no NUL
 * or ':', a DNS name under rule 2, not an IP literal)?  Fills *a. */
int mdri_sni_valid(const char *p, size_t n, mdr_authority *a);
/* The same, also giving the index of a->host's first '.' (mdri_authority_dot). */
int mdri_sni_valid_dot(const char *p, size_t n, mdr_authority *a, size_t *first_dot);

/* Is the URI scheme grammar satisfied: ALPHA *( ALPHA / DIGIT / + / - / . ) */
int mdri_scheme_ok(mdr_str s);

/* ---- the frozen table ------------------------------------------------- */

enum { MDRI_NAME_EXACT = 0, MDRI_NAME_WILD = 1, MDRI_NAME_ALIAS = 2 };

typedef struct mdri_name {
  mdr_str host;          /* normalised; wildcards keep their leading "*." */
  uint8_t kind;          /* MDRI_NAME_* */
  uint8_t host_kind;     /* mdr_host_kind */
  uint8_t flags;         /* MDRI_NAMEF_*: how it was written (for lint; in padding) */
} mdri_name;

/* How a configured name was written (mdri_name.flags). */
#define MDRI_NAMEF_UPPER 0x1u /* upper-case letters */
#define MDRI_NAMEF_DOT 0x2u   /* a trailing dot */
#define MDRI_NAMEF_FORM 0x4u  /* another spelling of the normalised form (e.g. IPv6 not in RFC 5952 form) */

typedef struct mdri_listener {
  mdr_str name;
  uint8_t tls;
  uint8_t plain;                /* TLS, and port 443 (https's default) is accepted: the
                                 * plain request's rules 3-5 (decide.c) */
  uint16_t port;
  uint16_t public_port;
  const uint16_t *public_ports; /* declared public ports */
  uint32_t n_public_ports;
  mdr_index default_vhost;
  mdr_unknown_host unknown_host;
  mdr_unknown_sni unknown_sni;
  mdr_no_sni no_sni;
  mdr_sni_host sni_host;
} mdri_listener;

typedef struct mdri_cert {
  mdr_str name;
  mdr_str file, key;
  uint32_t names_begin, n_names;  /* into table->cert_names */
} mdri_cert;

typedef struct mdri_policy {
  mdr_str name;
  mdr_client_auth client_auth;
  mdr_str ca_file;
  mdr_str ca_identity;
  mdr_min_tls min_tls;
  uint32_t klass;
} mdri_policy;

typedef struct mdri_vhost {
  uint32_t name_off, name_len;    /* the statement name: in table->strings (mdri_vhost_name) */
  uint32_t cert;                  /* MDR_NONE if none */
  uint32_t policy;                /* index into policies (0 = built-in default) */
  uint32_t names_begin, n_names;  /* into table->names: names then aliases */
  uint32_t n_primary;             /* names= count (aliases follow) */
  uint32_t listeners_begin;       /* into table->listener_refs (mdri_vhost_listener) */
  uint32_t n_listeners;
  uint32_t first_tls_listener;    /* MDR_NONE if none */
  uint16_t redirect_status;
  uint8_t http;                   /* mdr_http_mode */
  uint8_t protocols;
  uint8_t early_data;
  uint8_t plain;                  /* the plain request's rules 6 and 8 (decide.c): bit v is set
                                   * when the vhost speaks HTTP version v (mdr_http_version), bit
                                   * 4 + v when it also takes that version as 0-RTT */
} mdri_vhost; /* 48 bytes: a million vhosts are 48 MB of these */

/* The j-th listener (j < n_listeners) that vhost v listens on. */
#define mdri_vhost_listener(t, v, j) ((t)->listener_refs[(v)->listeners_begin + (j)])

/* Hash slot (16 bytes, four per cache line; see lookup.c): key = (space,
 * owner, kind class, host bytes). */
typedef struct mdri_slot {
  uint32_t taglen;                /* 24 hash bits << 8 | key length; 0 = empty */
  uint32_t value;                 /* vhost index (listener space); a cert wildcard's
                                   * cover group + 1, or 0 (mdr_table.cover_begin) */
  uint32_t key;                   /* offset of the key bytes in strings */
  uint32_t meta;                  /* plain bits << 24 | owner << 2 | cert space << 1 |
                                   * wildcard.  The plain bits are the vhost's
                                   * mdri_vhost.plain (listener space; 0 in cert space), so a
                                   * plain request served through a match reads no vhost
                                   * record */
} mdri_slot;

enum { MDRI_SPACE_LISTENER = 1, MDRI_SPACE_CERT = 2 };
/* The meta word's key part (owner, space, kind), and the vhost's plain bits
 * (mdri_vhost.plain) kept above it in a listener slot. */
#define MDRI_META_KEY 0x00ffffffu
static inline unsigned mdri_slot_plain(const mdri_slot *s) { return s->meta >> 24; }

/* Set in a listener slot's value when the name is a redirect alias. */
#define MDRI_ALIAS_BIT 0x80000000u

struct mdr_table {
  atomic_uint refs;
  mdr_mem mem;
  mdri_listener *listeners;
  uint32_t n_listeners;
  mdri_vhost *vhosts;
  uint32_t n_vhosts;
  mdri_cert *certs;
  uint32_t n_certs;
  mdri_policy *policies;          /* [0] = built-in default */
  uint32_t n_policies;
  mdri_name *names;               /* vhost names */
  uint32_t n_names;
  mdri_name *cert_names;
  uint32_t n_cert_names;
  uint32_t stmt_cap;              /* words of stmt_index (below) */
  uint32_t n_cover_groups;        /* cover_begin (below) has one word more */
  mdri_slot *slots;
  uint64_t slot_mask;
  /* A filter over the index's keys (lookup.c): a probe whose hash is not in
   * it misses without walking the slots.  filter_mask + 1 words, four bits
   * per slot. */
  uint64_t *filter;
  uint64_t filter_mask;
  /* every block below is owned by the table */
  char *strings;
  uint32_t *listener_refs;
  uint16_t *ports;
  /* Listener and vhost statement names -> index (table.c, find_stmt):
   * stmt_cap entries, 0 = empty, else (index << 1 | is_listener) + 1. */
  uint32_t *stmt_index;
  /* Which vhosts a certificate's wildcards cover (origin_set.c): for each
   * distinct S of the "*.S" names of certificates with at most 256 names, a
   * group; group g lists the vhosts holding a name LABEL.S (ascending, once
   * per such name) in cover_vhosts[cover_begin[g] .. cover_begin[g + 1]).
   * The certificate's wildcard slot holds g + 1 (mdri_slot.value).  NULL
   * and 0 when there are none. */
  uint32_t *cover_begin;
  uint32_t *cover_vhosts;
  /* The vhosts on each listener, ascending (origin_set.c): listener l's are
   * listener_vhosts[listener_vbegin[l] .. listener_vbegin[l + 1]).  NULL
   * when the table has one listener (every vhost of the table is on it). */
  uint32_t *listener_vbegin;
  uint32_t *listener_vhosts;
  /* Source line of every statement (0 = unknown), for lint: listeners,
   * certs, policies ([0] = built-in default) and vhosts, in that order.
   * Kept apart from the records the decision reads. */
  uint32_t *lines;
};

/* The statement name of vhost v. */
static inline mdr_str mdri_vhost_name(const mdr_table *t, uint32_t v) {
  mdr_str s = { t->strings + t->vhosts[v].name_off, t->vhosts[v].name_len };
  return s;
}

static inline uint32_t mdri_listener_line(const mdr_table *t, uint32_t i) { return t->lines[i]; }
static inline uint32_t mdri_cert_line(const mdr_table *t, uint32_t i) {
  return t->lines[t->n_listeners + i];
}
static inline uint32_t mdri_policy_line(const mdr_table *t, uint32_t i) {
  return t->lines[t->n_listeners + t->n_certs + i];
}
static inline uint32_t mdri_vhost_line(const mdr_table *t, uint32_t i) {
  return t->lines[t->n_listeners + t->n_certs + t->n_policies + i];
}

/* Hashing and lookup (lookup.c).  Limits of the slot layout, checked by the
 * build: owners (listener and cert indexes) below MDRI_MAX_OWNER, the string
 * block below 4 GiB, keys of 1-255 bytes (names are at most 253). */
#define MDRI_MAX_OWNER (1u << 22)
/* Build what the origin set reads beside the index (mdr_table.cover_begin,
 * mdr_table.listener_vbegin) once the index is built: 0 or MDR_ERR_NOMEM. */
int mdri_build_origin_index(mdr_table *t);
/* mdr_origin_set_each2 without its shortcuts: every vhost of the table is
 * looked at.  The same origins in the same order; for the checks that hold
 * the shortcuts to that (tests/unit/test_origin_walk.c, fuzz/fixture.c). */
int mdri_origin_set_walk_all(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                             mdr_http_version version, const mdr_origin_set_options *opts,
                             mdr_origin_fn fn, void *user);

/* The index's word-at-a-time hash of [p, p+n), for other maps of the
 * table (the statement names). */
uint64_t mdri_hash_str(const char *p, size_t n, uint64_t seed);
/* Insert during build (p must point into t->strings); returns 0, or 1 with
 * *existing = the clashing slot's vhost on a key clash. */
int mdri_slot_insert(mdr_table *t, uint8_t space, uint32_t owner, uint8_t kind, const char *p,
                     size_t n, uint32_t value, uint32_t *existing);
/* The same in two steps, so that a build can hash keys ahead and prefetch
 * their slots: the key's hash, a prefetch of its first slot, and the
 * insertion given the hash. */
uint64_t mdri_slot_hash(uint8_t space, uint32_t owner, uint8_t kind, const char *p, size_t n);
void mdri_slot_prefetch(const mdr_table *t, uint64_t h);
int mdri_slot_insert_hashed(mdr_table *t, uint64_t h, uint8_t space, uint32_t owner, uint8_t kind,
                            const char *p, size_t n, uint32_t value, uint8_t plain,
                            uint32_t *existing);
/* Does the listener wildcard slot s ("*.S") stand for the lookup of this
 * host (1 to 255 bytes)?  The host must be one label in normal form, a dot
 * and S, and no exact name on the listener may equal it (mdri_lookup's exact
 * probe, alone: the normaliser and the wildcard probe are spared).  See
 * mdri_match_slot. */
int mdri_wild_match(const mdr_table *t, mdr_index listener, const mdri_slot *s, const char *host,
                    size_t n);
/* Find the vhost for a normalised host on a listener: exact, then wildcard.
 * Returns the vhost index or MDR_NONE; *kind_out gets MDRI_NAME_*. */
mdr_index mdri_lookup(const mdr_table *t, mdr_index listener, const char *host, size_t n,
                      mdr_host_kind hk, int *kind_out);
/* A name's part hashes, kept from one probe of its bytes for the next (the
 * request vhost's lookup, then its handshake certificate's).  Only ever
 * passed with the very bytes they were computed from. */
typedef struct mdri_name_hash {
  uint64_t label, rest;
  size_t dot;
} mdri_name_hash;
/* mdri_lookup's answer as the slot it found (NULL for none; what it says is
 * read with mdri_match_vhost and mdri_slot_plain), for a host whose first
 * '.' is at index dot (n when it has none: mdri_authority_dot's; any value
 * above n when it is not known, and the lookup finds it), also
 * storing the host's part hashes in *out (when the host has 1 to 255 bytes;
 * else *out is untouched and NULL returned). */
const mdri_slot *mdri_lookup_slot(const mdr_table *t, mdr_index listener, const char *host,
                                  size_t n, mdr_host_kind hk, size_t dot, mdri_name_hash *out);
/* mdri_lookup, for a host whose first '.' is at index dot (n when none;
 * above n when not known, as for mdri_lookup_slot),
 * also giving the slot that matched, exact or wildcard (its index + 1; 0 for
 * no match): mdr_handshake_result.match. */
mdr_index mdri_lookup_match(const mdr_table *t, mdr_index listener, const char *host, size_t n,
                            mdr_host_kind hk, size_t dot, uint32_t *match_out);

/* A slot's meta word: owner, space, wildcard bit. */
static inline uint32_t mdri_slot_meta(uint8_t space, uint32_t owner, uint8_t kind) {
  return owner << 2 | (uint32_t)(space == MDRI_SPACE_CERT) << 1 | (kind == MDRI_NAME_WILD);
}

#if (defined(__SSE2__) || defined(_M_X64)) && !defined(MDRI_SCALAR_ONLY)
#include <emmintrin.h>
#define MDRI_BYTES_EQ_SSE2 1
#else
#define MDRI_BYTES_EQ_SSE2 0
#endif

static inline uint64_t mdri_ld64(const char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline uint32_t mdri_ld32(const char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Equal bytes, n >= 1; reads only [a, a+n) and [b, b+n).  16 bytes at a
 * time where SSE2 is there (the last block overlapping the one before). */
static inline int mdri_bytes_eq(const char *a, const char *b, size_t n) {
#if MDRI_BYTES_EQ_SSE2
  if (n >= 16) {
    for (size_t i = 0; i + 16 < n; i += 16)
      if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(a + i)),
                                           _mm_loadu_si128((const __m128i *)(const void *)(b + i)))) !=
          0xffff)
        return 0;
    return _mm_movemask_epi8(
               _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(a + n - 16)),
                              _mm_loadu_si128((const __m128i *)(const void *)(b + n - 16)))) ==
           0xffff;
  }
#endif
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 < n; i += 8)
      if (mdri_ld64(a + i) != mdri_ld64(b + i)) return 0;
    return mdri_ld64(a + n - 8) == mdri_ld64(b + n - 8);
  }
  if (n >= 4) return mdri_ld32(a) == mdri_ld32(b) && mdri_ld32(a + n - 4) == mdri_ld32(b + n - 4);
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* When `match` (from mdri_lookup_match, on any table) names the slot that
 * mdri_lookup would find for this normalised host on this listener,
 * mdri_match_slot returns it, and mdri_match_vhost reads from it exactly
 * what mdri_lookup would give, without normalising again, hashing the
 * suffix or probing for the wildcard; else NULL (look it up).
 *
 * Why a match hint gives what mdri_lookup gives.  An exact slot: it holds
 * the key (listener space, this listener, exact, these bytes), and keys are
 * unique in the index (mdri_slot_insert refuses a clash; nothing is ever
 * removed).  mdri_lookup probes for that very key first - exact before
 * wildcard, whatever the host kind - from the key's hash position, and
 * linear probing without deletions reaches every slot inserted from there,
 * so it would return this slot.  A wildcard slot "*.S": the host is
 * "LABEL.S" with LABEL one label in normal form, so it is a name in normal
 * form (its last label is S's, which the build accepted as a name) whose
 * first dot is LABEL's; mdri_wild_match's probe is mdri_lookup's exact
 * probe, and it misses; so mdri_lookup probes for the wildcard key S, which
 * is this slot's.  Any other hint (0, out of range, another listener's or
 * table's slot, a cert slot, another name) is refused here and the caller
 * looks up. */
static inline const mdri_slot *mdri_match_slot(const mdr_table *t, mdr_index listener,
                                               const char *host, size_t n, uint32_t match) {
  if (match == 0 || (uint64_t)(match - 1) > t->slot_mask || n == 0 || n > 255) return NULL;
  const mdri_slot *s = &t->slots[match - 1];
  if ((s->meta & MDRI_META_KEY) == mdri_slot_meta(MDRI_SPACE_LISTENER, listener, MDRI_NAME_WILD))
    return mdri_wild_match(t, listener, s, host, n) ? s : NULL;
  if ((s->taglen & 0xffu) != n ||
      (s->meta & MDRI_META_KEY) != mdri_slot_meta(MDRI_SPACE_LISTENER, listener, MDRI_NAME_EXACT) ||
      !mdri_bytes_eq(t->strings + s->key, host, n))
    return NULL;
  return s;
}

/* mdri_match_slot for a host of 1 to MDR_HOST_MAX bytes and a match that is
 * not 0, copying the host to dst (MDR_HOST_MAX + 1 bytes) with its NUL as
 * it compares: the bytes are loaded once.  When it returns NULL, dst holds
 * some of the host's bytes (the caller normalises into it afterwards). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline const mdri_slot *mdri_match_slot_copy(const mdr_table *t, mdr_index listener,
                                                    const char *host, size_t n, uint32_t match,
                                                    char *dst) {
  if ((uint64_t)(match - 1) > t->slot_mask) return NULL;
  const mdri_slot *s = &t->slots[match - 1];
  if ((s->taglen & 0xffu) != n ||
      (s->meta & MDRI_META_KEY) != mdri_slot_meta(MDRI_SPACE_LISTENER, listener, MDRI_NAME_EXACT)) {
    if ((s->meta & MDRI_META_KEY) != mdri_slot_meta(MDRI_SPACE_LISTENER, listener, MDRI_NAME_WILD) ||
        !mdri_wild_match(t, listener, s, host, n))
      return NULL;
    memcpy(dst, host, n);
    dst[n] = '\0';
    return s;
  }
  const char *k = t->strings + s->key;
#if MDRI_BYTES_EQ_SSE2
  if (n >= 16) {
    __m128i x;
    for (size_t i = 0; i + 16 < n; i += 16) {
      x = _mm_loadu_si128((const __m128i *)(const void *)(host + i));
      if (_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_loadu_si128((const __m128i *)(const void *)(k + i)))) !=
          0xffff)
        return NULL;
      _mm_storeu_si128((__m128i *)(void *)(dst + i), x);
    }
    x = _mm_loadu_si128((const __m128i *)(const void *)(host + n - 16));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_loadu_si128((const __m128i *)(const void *)(k + n - 16)))) !=
        0xffff)
      return NULL;
    _mm_storeu_si128((__m128i *)(void *)(dst + n - 16), x);
    dst[n] = '\0';
    return s;
  }
#endif
  if (n >= 8) { /* two 8-byte words, overlapping (n < 16 with SSE2) */
    uint64_t a = mdri_ld64(host), b = mdri_ld64(host + n - 8);
    size_t i = 8;
    for (; i + 8 < n; i += 8) { /* without SSE2: the middle words */
      uint64_t m = mdri_ld64(host + i);
      if (m != mdri_ld64(k + i)) return NULL;
      memcpy(dst + i, &m, 8);
    }
    if (a != mdri_ld64(k) || b != mdri_ld64(k + n - 8)) return NULL;
    memcpy(dst, &a, 8);
    memcpy(dst + n - 8, &b, 8);
  } else {
    if (!mdri_bytes_eq(k, host, n)) return NULL;
    memcpy(dst, host, n);
  }
  dst[n] = '\0';
  return s;
}

/* What mdri_lookup gives for the slot mdri_match_slot returned. */
static inline mdr_index mdri_match_vhost(const mdri_slot *s, int *kind_out) {
  *kind_out = (s->meta & 1u)                  ? MDRI_NAME_WILD
              : (s->value & MDRI_ALIAS_BIT) ? MDRI_NAME_ALIAS
                                            : MDRI_NAME_EXACT;
  return s->value & ~MDRI_ALIAS_BIT;
}

/* The value of certificate cert's wildcard slot "*.S" (S = [p, p+n)), or 0
 * when it has none; and, at build, setting it. */
uint32_t mdri_cert_wild_value(const mdr_table *t, uint32_t cert, const char *p, size_t n);
void mdri_cert_wild_set_value(mdr_table *t, uint32_t cert, const char *p, size_t n,
                              uint32_t value);

/* Does certificate c cover the normalised host? */
int mdri_cert_covers(const mdr_table *t, uint32_t cert, const char *host, size_t n,
                     mdr_host_kind hk);
/* mdri_cert_covers with the name's part hashes (NULL: computed). */
int mdri_cert_covers_nh(const mdr_table *t, uint32_t cert, const char *host, size_t n,
                        mdr_host_kind hk, const mdri_name_hash *nh);

/* The protocols= bit of an HTTP version (HTTP/1.0 and 1.1 are h1). */
static inline unsigned mdri_version_proto(mdr_http_version v) {
  return v == MDR_HTTP_2 ? MDR_PROTO_H2 : v == MDR_HTTP_3 ? MDR_PROTO_H3 : MDR_PROTO_H1;
}

/* Policy class of a vhost. */
static inline uint32_t mdri_vhost_class(const mdr_table *t, mdr_index v) {
  return t->policies[t->vhosts[v].policy].klass;
}

/* Would rule 7's sni-host check serve R for requested host `host` on a
 * connection whose handshake vhost is H?  Returns the reason (a serve reason
 * when it passes).  nh: the host's part hashes from its lookup, or NULL. */
mdr_reason mdri_sni_host_check(const mdr_table *t, const mdri_listener *l, mdr_index h,
                               mdr_index r, const char *host, size_t n, mdr_host_kind hk,
                               const mdri_name_hash *nh);

/* Default port of a scheme ("http" 80, "https" 443); 0 if neither. */
unsigned mdri_default_port(int tls);

/* Decide whether a port is one the listener accepts (its own or public). */
int mdri_listener_port_ok(const mdri_listener *l, unsigned port);
/* mdr_decide's path for the plain request (decide.c): 1 when it decided
 * (*out filled, as mdr_decide fills it), 0 when the rules must run. */
int mdri_decide_plain(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                      mdr_decision *out);

#endif
