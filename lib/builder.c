/* The builder: statements are checked alone as they are added
 * (mdr_builder_add_*), then their cross references are checked and resolved
 * (mdri_builder_check) before table.c lays out the frozen table.
 *
 * Every step takes expected time linear in the statements: statement names,
 * the names and listen= entries of one vhost and the contents of policies
 * are found through hash maps, never by scanning (issue 12).  Each map
 * counts the slots it visits in b->probes, which tests/unit/test_build_linear
 * holds linear. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "builder.h"

_Static_assert(sizeof(void *) != 8 || sizeof(b_vhost) <= 56,
               "a vhost statement costs 56 bytes at most (issue 12: peak memory)");

/* ---- string arena ----------------------------------------------------------- */

static void *arena_alloc(const mdr_mem *m, mdri_arena *a, size_t n) {
  n = (n + 7) & ~(size_t)7;
  if (!a->head || a->head->cap - a->head->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    mdri_arena_chunk *c = mdri_malloc(m, sizeof *c + cap);
    if (!c) return NULL;
    c->next = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
  }
  void *p = (char *)(a->head + 1) + a->head->used;
  a->head->used += n;
  return p;
}

static void arena_free(const mdr_mem *m, mdri_arena *a) {
  mdri_arena_chunk *c = a->head;
  while (c) {
    mdri_arena_chunk *n = c->next;
    mdri_free(m, c);
    c = n;
  }
  a->head = NULL;
}

static int arena_str(const mdr_mem *m, mdri_arena *a, mdr_str in, mdr_str *out) {
  out->len = in.len;
  if (in.len == 0) {
    out->ptr = "";
    return 0;
  }
  char *p = arena_alloc(m, a, in.len + 1);
  if (!p) return MDR_ERR_NOMEM;
  memcpy(p, in.ptr, in.len);
  p[in.len] = '\0';
  out->ptr = p;
  return 0;
}

/* ---- name -> index maps --------------------------------------------------------- */

static uint64_t strhash(mdr_str s) {
  /* word at a time; the tail is read byte by byte */
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)s.len;
  size_t i = 0;
  for (; i + 8 <= s.len; i += 8) {
    uint64_t w;
    memcpy(&w, s.ptr + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  for (size_t k = 0; i < s.len; i++, k += 8) w |= (uint64_t)(unsigned char)s.ptr[i] << k;
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

static int strmap_init(const mdr_mem *m, mdri_strmap *sm, size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  sm->slots = mdri_malloc(m, cap * sizeof *sm->slots);
  if (!sm->slots) return MDR_ERR_NOMEM;
  memset(sm->slots, 0, cap * sizeof *sm->slots);
  sm->mask = cap - 1;
  sm->count = 0;
  return 0;
}

/* A slot: the low 32 bits of the key's hash (the tag), then index + 1.
 * The tag places the key (maps have at most 2^32 slots), so growing never
 * re-reads a key, and a probe compares a key only when the tags agree. */
#define SLOT(tag, idx) (((uint64_t)(tag) << 32) | ((uint64_t)(idx) + 1u))
#define SLOT_TAG(v) ((uint32_t)((v) >> 32))
#define SLOT_IDX(v) ((uint32_t)(v) - 1u)

static void strmap_put_tag(mdri_strmap *sm, uint32_t tag, uint32_t idx, uint64_t *probes) {
  size_t i = (size_t)tag & sm->mask;
  while (sm->slots[i]) {
    i = (i + 1) & sm->mask;
    ++*probes;
  }
  sm->slots[i] = SLOT(tag, idx);
  sm->count++;
}

static void strmap_put(mdri_strmap *sm, mdr_str key, uint32_t idx, uint64_t *probes) {
  strmap_put_tag(sm, (uint32_t)strhash(key), idx, probes);
}

/* The index whose key (the mdr_str at base + index * stride + off) equals
 * key, or MDR_NONE.  base may be NULL while the map is empty. */
static uint32_t strmap_get(const mdri_strmap *sm, mdr_str key, const void *base, size_t off,
                           size_t stride, uint64_t *probes) {
  if (!sm->slots) return MDR_NONE;
  uint32_t tag = (uint32_t)strhash(key);
  size_t i = (size_t)tag & sm->mask;
  for (uint64_t v; (v = sm->slots[i]) != 0; i = (i + 1) & sm->mask) {
    ++*probes;
    if (SLOT_TAG(v) != tag) continue;
    uint32_t idx = SLOT_IDX(v);
    const mdr_str *s = (const mdr_str *)((const char *)base + idx * stride + off);
    if (mdri_str_eq(*s, key)) return idx;
  }
  return MDR_NONE;
}

/* Add to a map that grows (by doubling; the tags place the keys again). */
static int strmap_add(const mdr_mem *m, mdri_strmap *sm, mdr_str key, uint32_t idx,
                      uint64_t *probes) {
  if (!sm->slots || (sm->count + 1) * 2 > sm->mask + 1) {
    mdri_strmap bigger = { NULL, 0, 0 };
    if (strmap_init(m, &bigger, sm->count + 1)) return MDR_ERR_NOMEM;
    for (size_t i = 0; sm->slots && i <= sm->mask; i++)
      if (sm->slots[i]) strmap_put_tag(&bigger, SLOT_TAG(sm->slots[i]), SLOT_IDX(sm->slots[i]), probes);
    mdri_free(m, sm->slots);
    *sm = bigger;
  }
  strmap_put(sm, key, idx, probes);
  return 0;
}

/* The first key of keys[0..n) (mdr_str at base + i * stride) equal to an
 * earlier one, or n.  A few keys are compared pairwise; more go through a
 * map sized for them, so a vhost with 100k names costs 100k probes. */
static size_t first_repeat(mdr_builder *b, const void *base, size_t stride, size_t n, int *nomem) {
#define KEY_AT(i) (*(const mdr_str *)((const char *)base + (i) * stride))
  *nomem = 0;
  if (n <= 8) {
    for (size_t i = 1; i < n; i++)
      for (size_t j = 0; j < i; j++) {
        b->probes++;
        if (mdri_str_eq(KEY_AT(i), KEY_AT(j))) return i;
      }
    return n;
  }
  mdri_strmap sm = { NULL, 0, 0 };
  if (strmap_init(&b->mem, &sm, n)) {
    *nomem = 1;
    return n;
  }
  size_t i = 0;
  for (; i < n; i++) {
    if (strmap_get(&sm, KEY_AT(i), base, 0, stride, &b->probes) != MDR_NONE) break;
    strmap_put(&sm, KEY_AT(i), (uint32_t)i, &b->probes);
  }
  mdri_free(&b->mem, sm.slots);
  return i;
#undef KEY_AT
}

uint64_t mdri_builder_probes(const mdr_builder *b) { return b ? b->probes : 0; }

/* ---- errors ------------------------------------------------------------------ */

void mdri_set_err(mdr_error *err, int code, unsigned line, mdr_str token, const char *fmt, ...) {
  if (!err) return;
  err->code = code;
  err->line = line;
  size_t n = token.len < sizeof err->token - 1 ? token.len : sizeof err->token - 1;
  if (n) memcpy(err->token, token.ptr, n);
  err->token[n] = '\0';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
}

#define set_err mdri_set_err
#define STRF MDRI_STRF

/* ---- builder ------------------------------------------------------------------- */

int mdr_builder_new(mdr_builder **out, const mdr_mem *mem) {
  if (!out) return MDR_ERR_INVALID_ARGUMENT;
  *out = NULL;
  const mdr_mem *m = mdri_mem_or_default(mem);
  mdr_builder *b = mdri_malloc(m, sizeof *b);
  if (!b) return MDR_ERR_NOMEM;
  memset(b, 0, sizeof *b);
  b->mem = *m;
  *out = b;
  return 0;
}

/* Free every statement; the builder is then empty (but for its probe
 * count) and still usable. */
void mdri_builder_release(mdr_builder *b) {
  mdr_mem m = b->mem;
  arena_free(&m, &b->strings);
  mdri_free(&m, b->listeners);
  mdri_free(&m, b->certs);
  mdri_free(&m, b->policies);
  mdri_free(&m, b->vhosts);
  mdri_free(&m, b->pool);
  mdri_free(&m, b->pool_map.slots);
  mdri_free(&m, b->listener_names.slots);
  mdri_free(&m, b->cert_names.slots);
  mdri_free(&m, b->policy_names.slots);
  mdri_free(&m, b->vhost_names.slots);
  uint64_t probes = b->probes;
  int borrow = b->borrow;
  memset(b, 0, sizeof *b);
  b->mem = m;
  b->probes = probes;
  b->borrow = borrow;
}

void mdri_builder_drop_maps(mdr_builder *b) {
  mdri_strmap *maps[] = { &b->pool_map, &b->listener_names, &b->cert_names, &b->policy_names,
                          &b->vhost_names };
  for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
    mdri_free(&b->mem, maps[i]->slots);
    memset(maps[i], 0, sizeof *maps[i]);
  }
}

void mdr_builder_free(mdr_builder *b) {
  if (!b) return;
  mdr_mem m = b->mem;
  mdri_builder_release(b);
  mdri_free(&m, b);
}

void mdri_builder_borrow(mdr_builder *b) { b->borrow = 1; }

/* in, kept: borrowed (see mdri_builder_borrow) or copied into the arena. */
static int keep_str(mdr_builder *b, mdr_str in, mdr_str *out) {
  if (b->borrow) {
    out->ptr = in.len ? in.ptr : "";
    out->len = in.len;
    return 0;
  }
  return arena_str(&b->mem, &b->strings, in, out);
}

/* The pool entry holding the n bytes at p (see struct mdr_builder), added
 * if new. */
static int pool_intern(mdr_builder *b, const void *p, size_t n, uint32_t *out) {
  mdr_str key = { (const char *)p, n };
  uint32_t k = strmap_get(&b->pool_map, key, b->pool, 0, sizeof b->pool[0], &b->probes);
  if (k != MDR_NONE) {
    *out = k;
    return 0;
  }
  if (b->n_pool >= UINT32_MAX / 2) return MDR_ERR_LIMIT;
  if (mdri_grow(&b->mem, (void **)&b->pool, &b->cap_pool, b->n_pool + 1, sizeof *b->pool))
    return MDR_ERR_NOMEM;
  mdr_str copy;
  if (arena_str(&b->mem, &b->strings, key, &copy)) return MDR_ERR_NOMEM;
  b->pool[b->n_pool] = copy;
  if (strmap_add(&b->mem, &b->pool_map, copy, (uint32_t)b->n_pool, &b->probes))
    return MDR_ERR_NOMEM;
  *out = (uint32_t)b->n_pool++;
  return 0;
}

/* pool_intern, first trying *last (a pool entry + 1, 0 = none), which it
 * then sets. */
static int pool_intern_last(mdr_builder *b, uint32_t *last, mdr_str s, uint32_t *out) {
  if (*last && mdri_str_eq(b->pool[*last - 1], s)) {
    *out = *last - 1;
    return 0;
  }
  int rc = pool_intern(b, s.ptr, s.len, out);
  if (!rc) *last = *out + 1;
  return rc;
}

/* The pool entry of a listen= list: its names' pool entries, in order. */
static int pool_list(mdr_builder *b, const mdr_str *names, size_t n, uint32_t *out) {
  if (b->last_list && b->pool[b->last_list - 1].len == n * sizeof(uint32_t)) {
    const uint32_t *last = mdri_pool_ids(b, b->last_list - 1);
    size_t i = 0;
    while (i < n && mdri_str_eq(b->pool[last[i]], names[i])) i++;
    if (i == n) {
      *out = b->last_list - 1;
      return 0;
    }
  }
  uint32_t small[16];
  uint32_t *ids = small;
  if (n > sizeof small / sizeof small[0]) {
    if (n > SIZE_MAX / sizeof *ids) return MDR_ERR_NOMEM;
    ids = mdri_malloc(&b->mem, n * sizeof *ids);
    if (!ids) return MDR_ERR_NOMEM;
  }
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) rc = pool_intern(b, names[i].ptr, names[i].len, &ids[i]);
  if (!rc) rc = pool_intern(b, ids, n * sizeof *ids, out);
  if (!rc) b->last_list = *out + 1;
  if (ids != small) mdri_free(&b->mem, ids);
  return rc;
}

static int valid_stmt_name(mdr_str s) {
  if (s.len == 0 || s.len > 255) return 0;
  for (size_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c <= 0x20 || c >= 0x7f || c == ',' || c == '=' || c == '#' || c == '\'') return 0;
  }
  return 1;
}

/* Normalise a configured name (vhost names, redirect names, cert names).
 * Returns 0 or MDR_ERR_CONFIG with a description in why. */
static int norm_config_name(mdr_builder *b, mdr_str in, int allow_wild, int borrow,
                            mdri_name *out, const char **why) {
  mdr_authority a;
  int wild = 0;
  mdr_str s = in;
  if (s.len >= 2 && s.ptr[0] == '*' && s.ptr[1] == '.') {
    if (!allow_wild) {
      *why = "wildcards are not allowed here";
      return MDR_ERR_CONFIG;
    }
    wild = 1;
    s.ptr += 2;
    s.len -= 2;
  }
  if (s.len && memchr(s.ptr, '*', s.len)) {
    *why = "a wildcard must be the whole first label ('*.example.com')";
    return MDR_ERR_CONFIG;
  }
  mdr_reason r = mdri_authority(s.ptr, s.len, &a);
  if (r != MDR_REASON_COUNT_) {
    *why = mdr_reason_token(r);
    return MDR_ERR_CONFIG;
  }
  if (a.port != 0 || (s.len && s.ptr[s.len - 1] == ':')) {
    *why = "names carry no port";
    return MDR_ERR_CONFIG;
  }
  if (wild && a.kind != MDR_HOST_NAME) {
    *why = "a wildcard cannot cover an IP address";
    return MDR_ERR_CONFIG;
  }
  /* How it was written, for lint: upper case, a trailing dot, or another
   * spelling of the same host (compared after lower-casing and dropping the
   * dot).  Most names are written in normal form: one compare says so. */
  out->flags = 0;
  int normal = s.len == a.host_len && memcmp(s.ptr, a.host, s.len) == 0;
  if (!normal) {
    size_t sl = s.len;
    if (sl && s.ptr[sl - 1] == '.') {
      out->flags |= MDRI_NAMEF_DOT;
      sl--;
    }
    int differs = sl != a.host_len;
    for (size_t i = 0; i < sl; i++) {
      unsigned char ch = (unsigned char)s.ptr[i];
      if (ch >= 'A' && ch <= 'Z') out->flags |= MDRI_NAMEF_UPPER;
      if (!differs && mdri_lower(ch) != (unsigned char)a.host[i]) differs = 1;
    }
    if (differs) out->flags |= MDRI_NAMEF_FORM;
  }
  out->kind = wild ? MDRI_NAME_WILD : MDRI_NAME_EXACT;
  out->host_kind = (uint8_t)a.kind;
  if (normal && borrow) {
    out->host = in; /* already in normal form: point at the caller's bytes */
    return 0;
  }
  char wbuf[MDR_HOST_MAX + 3];
  mdr_str h = { a.host, a.host_len };
  if (wild) {
    wbuf[0] = '*';
    wbuf[1] = '.';
    memcpy(wbuf + 2, a.host, a.host_len);
    h.ptr = wbuf;
    h.len = a.host_len + 2;
  }
  return arena_str(&b->mem, &b->strings, h, &out->host);
}

int mdr_builder_add_listener(mdr_builder *b, const mdr_listener_conf *c, mdr_error *err) {
  if (!b || !c) return MDR_ERR_INVALID_ARGUMENT;
  mdr_str none = { NULL, 0 };
  if (!valid_stmt_name(c->name)) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "listener: invalid name '%.*s'", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  uint32_t prev = strmap_get(&b->listener_names, c->name, b->listeners,
                             offsetof(b_listener, c.name), sizeof b->listeners[0], &b->probes);
  if (prev != MDR_NONE) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name,
            "listener '%.*s': defined twice (first on line %u)", STRF(c->name),
            b->listeners[prev].c.line);
    return MDR_ERR_CONFIG;
  }
  if (c->port == 0) {
    set_err(err, MDR_ERR_CONFIG, c->line, none, "listener '%.*s': port must be 1-65535",
            STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  if (c->n_public_ports && !c->public_ports) return MDR_ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < c->n_public_ports; i++) {
    if (c->public_ports[i] == 0) {
      set_err(err, MDR_ERR_CONFIG, c->line, none,
              "listener '%.*s': public-ports= entries must be 1-65535", STRF(c->name));
      return MDR_ERR_CONFIG;
    }
  }
  if ((unsigned)c->unknown_host > MDR_UNKNOWN_HOST_DEFAULT || (unsigned)c->unknown_sni > MDR_UNKNOWN_SNI_DEFAULT ||
      (unsigned)c->no_sni > MDR_NO_SNI_REJECT || (unsigned)c->sni_host > MDR_SNI_HOST_IGNORE)
    return MDR_ERR_INVALID_ARGUMENT;
  if (mdri_grow(&b->mem, (void **)&b->listeners, &b->cap_listeners, b->n_listeners + 1,
                sizeof *b->listeners))
    return MDR_ERR_NOMEM;
  b_listener *l = &b->listeners[b->n_listeners];
  l->c = *c;
  if (arena_str(&b->mem, &b->strings, c->name, &l->c.name) ||
      arena_str(&b->mem, &b->strings, c->default_vhost, &l->c.default_vhost))
    return MDR_ERR_NOMEM;
  if (c->n_public_ports) {
    uint16_t *pp = arena_alloc(&b->mem, &b->strings, c->n_public_ports * sizeof *pp);
    if (!pp) return MDR_ERR_NOMEM;
    memcpy(pp, c->public_ports, c->n_public_ports * sizeof *pp);
    l->c.public_ports = pp;
  }
  if (strmap_add(&b->mem, &b->listener_names, l->c.name, (uint32_t)b->n_listeners, &b->probes))
    return MDR_ERR_NOMEM;
  b->n_listeners++;
  return 0;
}

int mdr_builder_add_cert(mdr_builder *b, const mdr_cert_conf *c, mdr_error *err) {
  if (!b || !c || (c->n_names && !c->names)) return MDR_ERR_INVALID_ARGUMENT;
  if (!valid_stmt_name(c->name)) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "cert: invalid name '%.*s'", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  uint32_t prev =
      strmap_get(&b->cert_names, c->name, b->certs, offsetof(b_cert, c.name), sizeof b->certs[0], &b->probes);
  if (prev != MDR_NONE) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "cert '%.*s': defined twice (first on line %u)",
            STRF(c->name), b->certs[prev].c.line);
    return MDR_ERR_CONFIG;
  }
  if (mdri_grow(&b->mem, (void **)&b->certs, &b->cap_certs, b->n_certs + 1, sizeof *b->certs))
    return MDR_ERR_NOMEM;
  b_cert *e = &b->certs[b->n_certs];
  memset(e, 0, sizeof *e);
  e->c = *c;
  if (arena_str(&b->mem, &b->strings, c->name, &e->c.name) ||
      arena_str(&b->mem, &b->strings, c->file, &e->c.file) ||
      arena_str(&b->mem, &b->strings, c->key, &e->c.key))
    return MDR_ERR_NOMEM;
  e->c.names = NULL;
  if (c->n_names) {
    e->norm = arena_alloc(&b->mem, &b->strings, c->n_names * sizeof *e->norm);
    if (!e->norm) return MDR_ERR_NOMEM;
    for (size_t i = 0; i < c->n_names; i++) {
      const char *why = NULL;
      int rc = norm_config_name(b, c->names[i], 1, 0, &e->norm[i], &why);
      if (rc == MDR_ERR_CONFIG) {
        set_err(err, rc, c->line, c->names[i], "cert '%.*s': invalid name '%.*s' (%s)",
                STRF(c->name), STRF(c->names[i]), why);
        return rc;
      }
      if (rc) return rc;
    }
  }
  if (strmap_add(&b->mem, &b->cert_names, e->c.name, (uint32_t)b->n_certs, &b->probes))
    return MDR_ERR_NOMEM;
  b->total_cert_names += c->n_names;
  b->n_certs++;
  return 0;
}

int mdr_builder_add_policy(mdr_builder *b, const mdr_policy_conf *c, mdr_error *err) {
  if (!b || !c || (c->ca_identity_len && !c->ca_identity)) return MDR_ERR_INVALID_ARGUMENT;
  if ((unsigned)c->client_auth > MDR_CLIENT_AUTH_REQUIRED || (unsigned)c->min_tls > MDR_TLS_1_3)
    return MDR_ERR_INVALID_ARGUMENT;
  if (!valid_stmt_name(c->name)) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "policy: invalid name '%.*s'", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  if (mdri_str_eq_lit(c->name, "default")) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name,
            "policy 'default': the name is taken by the built-in policy");
    return MDR_ERR_CONFIG;
  }
  uint32_t prev = strmap_get(&b->policy_names, c->name, b->policies,
                             offsetof(b_policy, c.name), sizeof b->policies[0], &b->probes);
  if (prev != MDR_NONE) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name,
            "policy '%.*s': defined twice (first on line %u)", STRF(c->name),
            b->policies[prev].c.line);
    return MDR_ERR_CONFIG;
  }
  if (mdri_grow(&b->mem, (void **)&b->policies, &b->cap_policies, b->n_policies + 1,
                sizeof *b->policies))
    return MDR_ERR_NOMEM;
  b_policy *p = &b->policies[b->n_policies];
  p->c = *c;
  mdr_str id = { (const char *)c->ca_identity, c->ca_identity_len };
  mdr_str idc;
  if (arena_str(&b->mem, &b->strings, c->name, &p->c.name) ||
      arena_str(&b->mem, &b->strings, c->ca_file, &p->c.ca_file) ||
      arena_str(&b->mem, &b->strings, id, &idc))
    return MDR_ERR_NOMEM;
  p->c.ca_identity = (const uint8_t *)idc.ptr;
  if (strmap_add(&b->mem, &b->policy_names, p->c.name, (uint32_t)b->n_policies, &b->probes))
    return MDR_ERR_NOMEM;
  b->n_policies++;
  return 0;
}

int mdr_builder_add_vhost(mdr_builder *b, const mdr_vhost_conf *c, mdr_error *err) {
  if (!b || !c) return MDR_ERR_INVALID_ARGUMENT;
  if ((c->n_listeners && !c->listeners) || (c->n_names && !c->names) ||
      (c->n_redirect_names && !c->redirect_names))
    return MDR_ERR_INVALID_ARGUMENT;
  mdr_str none = { NULL, 0 };
  if (!valid_stmt_name(c->name)) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "vhost: invalid name '%.*s'", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  /* The first name's bytes and the vhost name's map slot are each a cache
   * miss in a large file: start fetching the name before the map probe
   * waits, so the two misses overlap. */
  if (c->n_names && c->names[0].ptr) mdri_prefetch(c->names[0].ptr);
  uint32_t prev =
      strmap_get(&b->vhost_names, c->name, b->vhosts, offsetof(b_vhost, name), sizeof b->vhosts[0], &b->probes);
  if (prev != MDR_NONE) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "vhost '%.*s': defined twice (first on line %u)",
            STRF(c->name), b->vhosts[prev].line);
    return MDR_ERR_CONFIG;
  }
  if (c->n_listeners == 0) {
    set_err(err, MDR_ERR_CONFIG, c->line, none, "vhost '%.*s': missing listen=", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  if (c->n_names == 0) {
    set_err(err, MDR_ERR_CONFIG, c->line, none, "vhost '%.*s': missing names=", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  if (c->redirect_status && c->redirect_status != 301 && c->redirect_status != 302 &&
      c->redirect_status != 307 && c->redirect_status != 308) {
    set_err(err, MDR_ERR_CONFIG, c->line, none,
            "vhost '%.*s': redirect-status must be 301, 302, 307 or 308", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  if (c->protocols & ~MDR_PROTO_ALL) return MDR_ERR_INVALID_ARGUMENT;
  if ((unsigned)c->http > MDR_HTTP_REDIRECT) return MDR_ERR_INVALID_ARGUMENT;
  int nomem;
  size_t dup = first_repeat(b, c->listeners, sizeof *c->listeners, c->n_listeners, &nomem);
  if (nomem) return MDR_ERR_NOMEM;
  if (dup < c->n_listeners) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->listeners[dup],
            "vhost '%.*s': listener '%.*s' named twice in listen=", STRF(c->name),
            STRF(c->listeners[dup]));
    return MDR_ERR_CONFIG;
  }
  if (mdri_grow(&b->mem, (void **)&b->vhosts, &b->cap_vhosts, b->n_vhosts + 1, sizeof *b->vhosts))
    return MDR_ERR_NOMEM;
  b_vhost *v = &b->vhosts[b->n_vhosts];
  memset(v, 0, sizeof *v);
  size_t n = c->n_names + c->n_redirect_names;
  if (n > UINT32_MAX / 2 || c->n_listeners > UINT32_MAX / 2) return MDR_ERR_LIMIT;
  v->n_names = (uint32_t)c->n_names;
  v->line = c->line;
  v->http = (unsigned)c->http & 3u;
  v->redirect_status = c->redirect_status & 1023u;
  v->protocols = c->protocols & 15u;
  v->early_data = c->early_data ? 1u : 0u;
  v->norm = arena_alloc(&b->mem, &b->strings, n * sizeof *v->norm);
  if (!v->norm) return MDR_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    int alias = i >= c->n_names;
    mdr_str in = alias ? c->redirect_names[i - c->n_names] : c->names[i];
    const char *why = NULL;
    int rc = norm_config_name(b, in, !alias, b->borrow, &v->norm[i], &why);
    if (rc == MDR_ERR_CONFIG) {
      set_err(err, rc, c->line, in, "vhost '%.*s': invalid %s '%.*s' (%s)", STRF(c->name),
              alias ? "redirect name" : "name", STRF(in), why);
      return rc;
    }
    if (rc) return rc;
    if (alias) v->norm[i].kind = MDRI_NAME_ALIAS;
  }
  /* Wildcards keep their "*." so they never equal a concrete name. */
  dup = first_repeat(b, &v->norm[0].host, sizeof *v->norm, n, &nomem);
  if (nomem) return MDR_ERR_NOMEM;
  if (dup < n) {
    mdr_str in = dup >= c->n_names ? c->redirect_names[dup - c->n_names] : c->names[dup];
    set_err(err, MDR_ERR_CONFIG, c->line, in, "vhost '%.*s': name '%.*s' listed twice",
            STRF(c->name), STRF(in));
    return MDR_ERR_CONFIG;
  }
  if (c->n_redirect_names && v->norm[0].kind == MDRI_NAME_WILD) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->names[0],
            "vhost '%.*s': redirect-names= needs a concrete first name (the redirect target), not '%.*s'",
            STRF(c->name), STRF(c->names[0]));
    return MDR_ERR_CONFIG;
  }
  v->n_norm = (uint32_t)n;
  v->cert = v->policy = MDR_NONE;
  v->n_listeners = (uint32_t)c->n_listeners;
  int rc = keep_str(b, c->name, &v->name);
  if (!rc && c->cert.len) rc = pool_intern_last(b, &b->last_cert, c->cert, &v->cert);
  if (!rc && c->policy.len) rc = pool_intern_last(b, &b->last_policy, c->policy, &v->policy);
  if (!rc) rc = pool_list(b, c->listeners, c->n_listeners, &v->listeners);
  if (rc) return rc;
  if (strmap_add(&b->mem, &b->vhost_names, v->name, (uint32_t)b->n_vhosts, &b->probes))
    return MDR_ERR_NOMEM;
  b->total_names += n;
  b->n_vhosts++;
  return 0;
}


/* ---- cross references ------------------------------------------------------------ */

void mdri_refs_free(const mdr_mem *m, mdri_refs *r) {
  mdri_free(m, r->vhost_cert);
  mdri_free(m, r->vhost_policy);
  mdri_free(m, r->listener_refs);
  mdri_free(m, r->listener_default);
  mdri_free(m, r->policy_class);
  memset(r, 0, sizeof *r);
}

/* What makes two policies equal (see docs/vhosts-file.md, policy-compatible):
 * client-auth, min-tls, and the CA identity when either has one, else the
 * ca-file path.  Table policy k: 0 is the built-in default, k > 0 is
 * b->policies[k - 1]. */
typedef struct policy_key {
  unsigned client_auth, min_tls, use_id;
  mdr_str ca;
} policy_key;

static policy_key policy_key_of(const mdr_builder *b, size_t k) {
  policy_key key = { 0, 0, 0, { "", 0 } };
  if (k == 0) return key;
  const mdr_policy_conf *c = &b->policies[k - 1].c;
  key.client_auth = (unsigned)c->client_auth;
  key.min_tls = (unsigned)c->min_tls;
  key.use_id = c->ca_identity_len != 0;
  if (key.use_id) {
    key.ca.ptr = (const char *)c->ca_identity;
    key.ca.len = c->ca_identity_len;
  } else {
    key.ca = c->ca_file;
  }
  return key;
}

static int policy_key_eq(const policy_key *a, const policy_key *b) {
  return a->client_auth == b->client_auth && a->min_tls == b->min_tls && a->use_id == b->use_id &&
         mdri_str_eq(a->ca, b->ca);
}

/* Policy classes: equal contents, equal class; classes numbered in order of
 * first appearance (the built-in default is class 0).  One hash probe walk
 * per policy. */
static int policy_classes(mdr_builder *b, mdri_refs *r) {
  size_t np = b->n_policies + 1;
  mdri_strmap sm = { NULL, 0, 0 };
  if (strmap_init(&b->mem, &sm, np)) return MDR_ERR_NOMEM;
  uint32_t next = 0;
  for (size_t k = 0; k < np; k++) {
    policy_key key = policy_key_of(b, k);
    uint64_t h = strhash(key.ca) ^ ((uint64_t)(key.client_auth * 4u + key.min_tls * 2u + key.use_id) *
                                     0x9e3779b97f4a7c15ull);
    size_t i = (size_t)(h ^ (h >> 32)) & sm.mask;
    uint32_t klass = MDR_NONE;
    while (sm.slots[i]) {
      b->probes++;
      policy_key other = policy_key_of(b, SLOT_IDX(sm.slots[i]));
      if (policy_key_eq(&key, &other)) {
        klass = r->policy_class[SLOT_IDX(sm.slots[i])];
        break;
      }
      i = (i + 1) & sm.mask;
    }
    if (klass == MDR_NONE) {
      sm.slots[i] = SLOT(0, k);
      klass = next++;
    }
    r->policy_class[k] = klass;
  }
  mdri_free(&b->mem, sm.slots);
  return 0;
}

/* A vhost's cert=, policy= and listen= references, in that order. */
static int check_vhost_refs(mdr_builder *b, size_t i, mdri_refs *r, size_t *rk, mdr_error *err) {
  const b_vhost *v = &b->vhosts[i];
  if (i > 0) {
    /* The same references as the vhost before (pool entries are unique):
     * the same, already checked, answers. */
    const b_vhost *p = v - 1;
    if (p->cert == v->cert && p->policy == v->policy && p->listeners == v->listeners) {
      r->vhost_cert[i] = r->vhost_cert[i - 1];
      r->vhost_policy[i] = r->vhost_policy[i - 1];
      memcpy(r->listener_refs + *rk, r->listener_refs + *rk - v->n_listeners,
             v->n_listeners * sizeof *r->listener_refs);
      *rk += v->n_listeners;
      return 0;
    }
  }
  uint32_t cert = MDR_NONE, policy = 0;
  if (v->cert != MDR_NONE) {
    mdr_str name = mdri_pool_str(b, v->cert);
    cert = strmap_get(&b->cert_names, name, b->certs, offsetof(b_cert, c.name),
                      sizeof b->certs[0], &b->probes);
    if (cert == MDR_NONE) {
      set_err(err, MDR_ERR_CONFIG, v->line, name, "vhost '%.*s': unknown cert '%.*s'",
              STRF(v->name), STRF(name));
      return MDR_ERR_CONFIG;
    }
  }
  mdr_str pname = mdri_pool_str(b, v->policy);
  if (pname.len && !mdri_str_eq_lit(pname, "default")) {
    uint32_t p = strmap_get(&b->policy_names, pname, b->policies, offsetof(b_policy, c.name),
                            sizeof b->policies[0], &b->probes);
    if (p == MDR_NONE) {
      set_err(err, MDR_ERR_CONFIG, v->line, pname, "vhost '%.*s': unknown policy '%.*s'",
              STRF(v->name), STRF(pname));
      return MDR_ERR_CONFIG;
    }
    policy = p + 1;
  }
  r->vhost_cert[i] = cert;
  r->vhost_policy[i] = policy;
  const uint32_t *ids = mdri_pool_ids(b, v->listeners);
  for (size_t j = 0; j < v->n_listeners; j++) {
    mdr_str ln = mdri_pool_str(b, ids[j]);
    uint32_t l = strmap_get(&b->listener_names, ln, b->listeners, offsetof(b_listener, c.name),
                            sizeof b->listeners[0], &b->probes);
    if (l == MDR_NONE) {
      set_err(err, MDR_ERR_CONFIG, v->line, ln, "vhost '%.*s': unknown listener '%.*s'",
              STRF(v->name), STRF(ln));
      return MDR_ERR_CONFIG;
    }
    r->listener_refs[(*rk)++] = l;
    if (b->listeners[l].c.tls && cert == MDR_NONE) {
      set_err(err, MDR_ERR_CONFIG, v->line, ln,
              "vhost '%.*s': listens on TLS listener '%.*s' but has no cert=", STRF(v->name),
              STRF(ln));
      return MDR_ERR_CONFIG;
    }
  }
  return 0;
}

/* A listener's default= and the rules that depend on it.  `on` says
 * whether its default vhost listens on it. */
static int check_listener_default(const mdr_builder *b, size_t i, const mdri_refs *r, int on,
                                  mdr_error *err) {
  const mdr_listener_conf *c = &b->listeners[i].c;
  uint32_t v = r->listener_default[i];
  if (c->default_vhost.len) {
    if (v == MDR_NONE) {
      set_err(err, MDR_ERR_CONFIG, c->line, c->default_vhost,
              "listener '%.*s': unknown default vhost '%.*s'", STRF(c->name),
              STRF(c->default_vhost));
      return MDR_ERR_CONFIG;
    }
    if (!on) {
      set_err(err, MDR_ERR_CONFIG, c->line, c->default_vhost,
              "listener '%.*s': default vhost '%.*s' does not listen on it", STRF(c->name),
              STRF(c->default_vhost));
      return MDR_ERR_CONFIG;
    }
  } else {
    if (c->tls && !(c->no_sni == MDR_NO_SNI_REJECT && c->unknown_sni == MDR_UNKNOWN_SNI_REJECT)) {
      set_err(err, MDR_ERR_CONFIG, c->line, c->name,
              "listener '%.*s': a TLS listener needs default= unless it has no-sni=reject and "
              "unknown-sni=reject",
              STRF(c->name));
      return MDR_ERR_CONFIG;
    }
    if (c->unknown_host == MDR_UNKNOWN_HOST_DEFAULT) {
      set_err(err, MDR_ERR_CONFIG, c->line, c->name,
              "listener '%.*s': unknown-host=default needs default=", STRF(c->name));
      return MDR_ERR_CONFIG;
    }
  }
  if (c->unknown_host == MDR_UNKNOWN_HOST_DEFAULT && v != MDR_NONE) {
    const b_vhost *dv = &b->vhosts[v];
    if (dv->http == MDR_HTTP_REDIRECT && !c->tls && dv->norm[0].kind == MDRI_NAME_WILD) {
      set_err(err, MDR_ERR_CONFIG, c->line, c->default_vhost,
              "listener '%.*s': default vhost '%.*s' has http=redirect but a wildcard first "
              "name, so unknown hosts could not be redirected",
              STRF(c->name), STRF(c->default_vhost));
      return MDR_ERR_CONFIG;
    }
  }
  return 0;
}

int mdri_builder_check(mdr_builder *b, mdri_refs *r, mdr_error *err) {
  const mdr_mem *m = &b->mem;
  memset(r, 0, sizeof *r);
  size_t n_refs = 0;
  for (size_t i = 0; i < b->n_vhosts; i++) n_refs += b->vhosts[i].n_listeners;
  r->n_refs = n_refs;
  r->vhost_cert = mdri_malloc(m, (b->n_vhosts + 1) * sizeof *r->vhost_cert);
  r->vhost_policy = mdri_malloc(m, (b->n_vhosts + 1) * sizeof *r->vhost_policy);
  r->listener_refs = mdri_malloc(m, (n_refs + 1) * sizeof *r->listener_refs);
  r->listener_default = mdri_malloc(m, (b->n_listeners + 1) * sizeof *r->listener_default);
  r->policy_class = mdri_malloc(m, (b->n_policies + 1) * sizeof *r->policy_class);
  unsigned char *on = mdri_malloc(m, b->n_listeners + 1);
  int rc = MDR_ERR_NOMEM;
  if (!r->vhost_cert || !r->vhost_policy || !r->listener_refs || !r->listener_default ||
      !r->policy_class || !on)
    goto out;

  size_t rk = 0;
  for (size_t i = 0; i < b->n_vhosts; i++)
    if ((rc = check_vhost_refs(b, i, r, &rk, err))) goto out;

  /* Default vhosts by name; whether each listens on its listener is read
   * off the listen= references in one pass. */
  memset(on, 0, b->n_listeners + 1);
  for (size_t i = 0; i < b->n_listeners; i++) {
    mdr_str d = b->listeners[i].c.default_vhost;
    r->listener_default[i] =
        d.len ? strmap_get(&b->vhost_names, d, b->vhosts, offsetof(b_vhost, name),
                           sizeof b->vhosts[0], &b->probes)
              : MDR_NONE;
  }
  rk = 0;
  for (size_t v = 0; v < b->n_vhosts; v++)
    for (size_t j = 0; j < b->vhosts[v].n_listeners; j++, rk++)
      if (r->listener_default[r->listener_refs[rk]] == v) on[r->listener_refs[rk]] = 1;
  for (size_t i = 0; i < b->n_listeners; i++)
    if ((rc = check_listener_default(b, i, r, on[i], err))) goto out;

  rc = policy_classes(b, r);
out:
  mdri_free(m, on);
  return rc;
}
