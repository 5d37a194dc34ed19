/* The builder's statements, shared by builder.c (adding and checking
 * statements) and table.c (laying out the frozen table).  Not installed. */
#ifndef MISDIRECT_BUILDER_H
#define MISDIRECT_BUILDER_H

#include "internal.h"
#include "quote.h"

/* ---- string arena: chunks whose addresses never move -------------------- */

typedef struct mdri_arena_chunk {
  struct mdri_arena_chunk *next;
  size_t used, cap;
  max_align_t align_[]; /* data follows */
} mdri_arena_chunk;

typedef struct mdri_arena {
  mdri_arena_chunk *head;
} mdri_arena;

/* ---- name -> index maps ------------------------------------------------- */

/* Open addressing over indexes into an array of records, each holding an
 * mdr_str key at a fixed offset: slots[i] is the key's 32-bit hash tag and
 * index + 1 (builder.c, SLOT), 0 = empty.  `probes`
 * counts the slots visited, for the linear-build test (mdri_builder_probes). */
typedef struct mdri_strmap {
  uint64_t *slots;
  size_t mask;
  size_t count;
} mdri_strmap;

/* ---- statements ----------------------------------------------------------- */

typedef struct b_listener {
  mdr_listener_conf c;
} b_listener;

typedef struct b_cert {
  mdr_cert_conf c;
  mdri_name *norm; /* normalised names */
} b_cert;

typedef struct b_policy {
  mdr_policy_conf c;
} b_policy;

/* A vhost statement, compact: at a million vhosts every byte here is a
 * megabyte of peak memory while the table is laid out (issue 12).  The
 * cert=, policy= and listen= references are strings of the pool, shared by
 * every vhost that names the same ones. */
typedef struct b_vhost {
  mdr_str name;
  mdri_name *norm;      /* names then redirect names, normalised */
  uint32_t listeners;   /* pool entry: the listen= list, n_listeners uint32_t pool entries */
  uint32_t n_listeners;
  uint32_t cert;        /* pool entry, or MDR_NONE when cert= is absent */
  uint32_t policy;      /* pool entry, or MDR_NONE when policy= is absent */
  uint32_t n_names;     /* names=; the rest of norm are redirect names */
  uint32_t n_norm;
  uint32_t line;
  unsigned redirect_status : 10; /* 0 or 301, 302, 307, 308 */
  unsigned http : 2;             /* mdr_http_mode */
  unsigned protocols : 4;        /* MDR_PROTO_* bits, 0 = all */
  unsigned early_data : 1;
} b_vhost; /* 56 bytes on LP64 */

struct mdr_builder {
  mdr_mem mem;
  mdri_arena strings;
  b_listener *listeners;
  size_t n_listeners, cap_listeners;
  b_cert *certs;
  size_t n_certs, cap_certs;
  b_policy *policies;
  size_t n_policies, cap_policies;
  b_vhost *vhosts;
  size_t n_vhosts, cap_vhosts;
  /* The pool: each distinct reference string (and listen= list, as the
   * bytes of its uint32_t pool entries) once, found through pool_map. */
  mdr_str *pool;
  size_t n_pool, cap_pool;
  mdri_strmap pool_map;
  /* The pool entries of the last vhost's cert=, policy= and listen=, + 1
   * (0 = none): consecutive vhosts mostly name the same ones. */
  uint32_t last_cert, last_policy, last_list;
  /* Set by mdr_table_parse, whose text outlives the build: names already
   * in normal form and statement names point into the caller's text
   * instead of being copied (mdri_builder_borrow). */
  int borrow;
  size_t total_names;
  size_t total_cert_names;
  /* statement name -> index, for duplicates and references */
  mdri_strmap listener_names, cert_names, policy_names, vhost_names;
  /* Hash slots and key comparisons visited by every map the builder uses
   * (statement names, the names of one vhost, policy contents): the
   * regression test of issue 12 holds it linear in the input. */
  uint64_t probes;
};

/* The references of every statement, resolved by name (mdri_builder_check),
 * which the layout copies into the table. */
typedef struct mdri_refs {
  uint32_t *vhost_cert;     /* per vhost: cert index or MDR_NONE */
  uint32_t *vhost_policy;   /* per vhost: policy index in the table (0 = built-in) */
  uint32_t *listener_refs;  /* every vhost's listen= entries, as listener indexes, in order */
  uint32_t *listener_default; /* per listener: default vhost or MDR_NONE */
  uint32_t *policy_class;   /* per table policy ([0] = built-in): its class */
  size_t n_refs;
} mdri_refs;

/* Check every cross reference (unknown cert, policy, listener; TLS
 * listener without cert=; default= rules) and resolve them into *r, in
 * expected time linear in the statements.  0, MDR_ERR_CONFIG (err filled)
 * or MDR_ERR_NOMEM.  *r is freed by mdri_refs_free either way. */
int mdri_builder_check(mdr_builder *b, mdri_refs *r, mdr_error *err);
void mdri_refs_free(const mdr_mem *m, mdri_refs *r);

/* Fill err (may be NULL) with a builder message. */
void mdri_set_err(mdr_error *err, int code, unsigned line, mdr_str token, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* printf helper for mdr_str: "%.*s", MDRI_STRF(s).  The name is quoted by
 * the one quoting helper (quote.h: \xHH escapes, cut with "...") into a
 * buffer that lives until the end of the enclosing block. */
#define MDRI_STRF(s) (int)MDRI_QUOTE, mdri_quote((char[MDRI_QUOTE]){0}, (s).ptr, (s).len)

/* The strings of pool entry k (see struct mdr_builder). */
static inline mdr_str mdri_pool_str(const mdr_builder *b, uint32_t k) {
  mdr_str none = { "", 0 };
  return k == MDR_NONE ? none : b->pool[k];
}
static inline const uint32_t *mdri_pool_ids(const mdr_builder *b, uint32_t k) {
  return (const uint32_t *)(const void *)b->pool[k].ptr;
}

/* Let the builder keep pointers into the strings it is given instead of
 * copying them: the caller promises they outlive mdr_builder_build and the
 * table does not need them (it copies what it keeps).  For mdr_table_parse. */
void mdri_builder_borrow(mdr_builder *b);

/* mdr_builder_build for a builder that is freed right after: its
 * statements are released once the table's records are laid out, before
 * the hash index is built, so the two never peak together. */
int mdri_builder_build_consume(mdr_builder *b, mdr_table **out, mdr_error *err);

/* Free the builder's name maps, which only adding and checking need: a
 * consuming build drops them before laying out the table.  The builder
 * must then only be built (again) or freed. */
void mdri_builder_drop_maps(mdr_builder *b);

/* Free every statement: the builder is then empty and still usable. */
void mdri_builder_release(mdr_builder *b);

/* Probes so far (see struct mdr_builder).  For tests. */
uint64_t mdri_builder_probes(const mdr_builder *b);

/* Words a lookup of this statement name (listener = 1, vhost = 0) visits
 * in the table's statement index, counting the empty word that ends a
 * miss: the bound of both a hit and a miss.  For the linear-lookup test. */
uint64_t mdri_stmt_probes(const mdr_table *t, mdr_str name, int listener);

#endif
