/* Laying out the frozen table from a builder whose statements
 * mdri_builder_check (builder.c) has checked and resolved, then the hash
 * index; and the table's accessors.
 *
 * The layout is one pass per kind of statement: a string block sized in
 * advance, the records, and the index (lookup.c), each linear in the
 * statements. */
#include "builder.h"

#define set_err mdri_set_err
#define STRF MDRI_STRF

_Static_assert(sizeof(void *) != 8 || sizeof(mdri_vhost) <= 48,
               "a vhost record costs 48 bytes at most (issue 14: memory per name)");

void mdri_table_free(mdr_table *t);
void mdri_table_free(mdr_table *t) {
  if (!t) return;
  mdr_mem m = t->mem;
  mdri_free(&m, t->listeners);
  mdri_free(&m, t->vhosts);
  mdri_free(&m, t->certs);
  mdri_free(&m, t->policies);
  mdri_free(&m, t->names);
  mdri_free(&m, t->cert_names);
  mdri_free(&m, t->slots);
  mdri_free(&m, t->filter);
  mdri_free(&m, t->strings);
  mdri_free(&m, t->listener_refs);
  mdri_free(&m, t->ports);
  mdri_free(&m, t->lines);
  mdri_free(&m, t->stmt_index);
  mdri_free(&m, t->cover_begin);
  mdri_free(&m, t->cover_vhosts);
  mdri_free(&m, t->listener_vbegin);
  mdri_free(&m, t->listener_vhosts);
  mdri_free(&m, t);
}

/* Copy a string into the table's string block. */
static mdr_str tcopy(char **cursor, mdr_str s) {
  mdr_str r = { *cursor, s.len };
  if (s.len) memcpy(*cursor, s.ptr, s.len);
  (*cursor)[s.len] = '\0';
  *cursor += s.len + 1;
  return r;
}

/* Bytes of the string block for every statement's strings. */
static size_t strings_size(const mdr_builder *b, size_t *n_ports) {
  size_t slen = 16 + sizeof "default";
  *n_ports = 0;
  for (size_t i = 0; i < b->n_listeners; i++) {
    slen += b->listeners[i].c.name.len + 1;
    *n_ports += b->listeners[i].c.n_public_ports;
  }
  for (size_t i = 0; i < b->n_certs; i++) {
    const b_cert *c = &b->certs[i];
    slen += c->c.name.len + c->c.file.len + c->c.key.len + 3;
    for (size_t k = 0; k < c->c.n_names; k++) slen += c->norm[k].host.len + 1;
  }
  for (size_t i = 0; i < b->n_policies; i++) {
    const b_policy *p = &b->policies[i];
    slen += p->c.name.len + p->c.ca_file.len + p->c.ca_identity_len + 3;
  }
  for (size_t i = 0; i < b->n_vhosts; i++) {
    const b_vhost *v = &b->vhosts[i];
    slen += v->name.len + 1;
    for (size_t k = 0; k < v->n_norm; k++) slen += v->norm[k].host.len + 1;
  }
  return slen;
}

/* The table's blocks, sized for the builder's statements. */
static int alloc_blocks(const mdr_builder *b, mdri_refs *r, mdr_table *t, size_t slen,
                        size_t n_ports) {
  const mdr_mem *m = &t->mem;
  t->n_listeners = (uint32_t)b->n_listeners;
  t->n_vhosts = (uint32_t)b->n_vhosts;
  t->n_certs = (uint32_t)b->n_certs;
  t->n_policies = (uint32_t)b->n_policies + 1;
  t->n_names = (uint32_t)b->total_names;
  t->n_cert_names = (uint32_t)b->total_cert_names;
  t->strings = mdri_malloc(m, slen);
  t->listeners = mdri_malloc(m, (t->n_listeners + 1) * sizeof *t->listeners);
  t->vhosts = mdri_malloc(m, (t->n_vhosts + 1) * sizeof *t->vhosts);
  t->certs = mdri_malloc(m, (t->n_certs + 1) * sizeof *t->certs);
  t->policies = mdri_malloc(m, t->n_policies * sizeof *t->policies);
  t->names = mdri_malloc(m, (t->n_names + 1) * sizeof *t->names);
  t->cert_names = mdri_malloc(m, (t->n_cert_names + 1) * sizeof *t->cert_names);
  t->listener_refs = r->listener_refs; /* adopted: the checked references are the table's */
  r->listener_refs = NULL;
  t->ports = mdri_malloc(m, (n_ports + 1) * sizeof *t->ports);
  t->lines = mdri_malloc(m, ((size_t)t->n_listeners + t->n_certs + t->n_policies + t->n_vhosts) *
                                sizeof *t->lines);
  if (!t->strings || !t->listeners || !t->vhosts || !t->certs || !t->policies || !t->names ||
      !t->cert_names || !t->listener_refs || !t->ports || !t->lines)
    return MDR_ERR_NOMEM;
  /* Statement lines (see mdri_*_line). */
  uint32_t *ln = t->lines;
  for (size_t i = 0; i < b->n_listeners; i++) *ln++ = b->listeners[i].c.line;
  for (size_t i = 0; i < b->n_certs; i++) *ln++ = b->certs[i].c.line;
  *ln++ = 0; /* the built-in default policy */
  for (size_t i = 0; i < b->n_policies; i++) *ln++ = b->policies[i].c.line;
  for (size_t i = 0; i < b->n_vhosts; i++) *ln++ = b->vhosts[i].line;
  return 0;
}

/* Policies: [0] is the built-in default. */
static void lay_out_policies(const mdr_builder *b, const mdri_refs *r, mdr_table *t, char **cur) {
  mdr_str none = { NULL, 0 };
  mdri_policy *p0 = &t->policies[0];
  memset(p0, 0, sizeof *p0);
  p0->name = tcopy(cur, (mdr_str)MDR_STR_LIT("default"));
  p0->ca_file = none;
  p0->ca_identity = none;
  for (size_t i = 0; i < b->n_policies; i++) {
    const mdr_policy_conf *c = &b->policies[i].c;
    mdri_policy *p = &t->policies[i + 1];
    p->name = tcopy(cur, c->name);
    p->client_auth = c->client_auth;
    p->min_tls = c->min_tls;
    p->ca_file = c->ca_file.len ? tcopy(cur, c->ca_file) : none;
    mdr_str id = { (const char *)c->ca_identity, c->ca_identity_len };
    p->ca_identity = id.len ? tcopy(cur, id) : none;
  }
  for (uint32_t i = 0; i < t->n_policies; i++) t->policies[i].klass = r->policy_class[i];
}

static void lay_out_certs(const mdr_builder *b, mdr_table *t, char **cur) {
  mdr_str none = { NULL, 0 };
  uint32_t k = 0;
  for (uint32_t i = 0; i < t->n_certs; i++) {
    const b_cert *c = &b->certs[i];
    mdri_cert *tc = &t->certs[i];
    tc->name = tcopy(cur, c->c.name);
    tc->file = c->c.file.len ? tcopy(cur, c->c.file) : none;
    tc->key = c->c.key.len ? tcopy(cur, c->c.key) : none;
    tc->names_begin = k;
    tc->n_names = (uint32_t)c->c.n_names;
    for (size_t j = 0; j < c->c.n_names; j++, k++) {
      t->cert_names[k] = c->norm[j];
      t->cert_names[k].host = tcopy(cur, c->norm[j].host);
    }
  }
}

static void lay_out_listeners(const mdr_builder *b, const mdri_refs *r, mdr_table *t, char **cur) {
  uint32_t pk = 0;
  for (uint32_t i = 0; i < t->n_listeners; i++) {
    const mdr_listener_conf *c = &b->listeners[i].c;
    mdri_listener *l = &t->listeners[i];
    memset(l, 0, sizeof *l);
    l->name = tcopy(cur, c->name);
    l->tls = c->tls ? 1 : 0;
    l->port = c->port;
    l->public_ports = t->ports + pk;
    l->n_public_ports = (uint32_t)c->n_public_ports;
    for (size_t j = 0; j < c->n_public_ports; j++) t->ports[pk++] = c->public_ports[j];
    l->public_port = c->n_public_ports ? c->public_ports[0] : c->port;
    l->default_vhost = r->listener_default[i];
    l->unknown_host = c->unknown_host;
    l->unknown_sni = c->unknown_sni;
    l->no_sni = c->no_sni;
    l->sni_host = c->sni_host;
    l->plain = l->tls && mdri_listener_port_ok(l, 443u);
  }
}

static void lay_out_vhosts(const mdr_builder *b, const mdri_refs *r, mdr_table *t, char **cur) {
  uint32_t nk = 0, rk = 0;
  enum { AHEAD = 8 };
  for (uint32_t i = 0; i < t->n_vhosts; i++) {
    const b_vhost *bv = &b->vhosts[i];
    mdri_vhost *v = &t->vhosts[i];
    /* Names in normal form are still the caller's bytes, wherever they
     * are: fetch a later vhost's first name while this one is copied. */
    if (i + AHEAD < t->n_vhosts && b->vhosts[i + AHEAD].n_norm)
      mdri_prefetch(b->vhosts[i + AHEAD].norm[0].host.ptr);
    memset(v, 0, sizeof *v);
    mdr_str name = tcopy(cur, bv->name);
    v->name_off = (uint32_t)(name.ptr - t->strings); /* the block is below 4 GiB (build_index) */
    v->name_len = (uint32_t)name.len;
    v->cert = r->vhost_cert[i];
    v->policy = r->vhost_policy[i];
    v->first_tls_listener = MDR_NONE;
    v->http = (uint8_t)bv->http;
    v->redirect_status = (uint16_t)(bv->redirect_status ? bv->redirect_status : 308u);
    v->protocols = (uint8_t)(bv->protocols ? bv->protocols : MDR_PROTO_ALL);
    v->early_data = (uint8_t)bv->early_data;
    v->plain = 0;
    for (unsigned ver = MDR_HTTP_1_1; ver <= MDR_HTTP_3; ver++)
      if (v->protocols & mdri_version_proto((mdr_http_version)ver))
        v->plain |= (uint8_t)((1u << ver) | (v->early_data ? 1u << (4 + ver) : 0u));
    v->listeners_begin = rk;
    v->n_listeners = bv->n_listeners;
    for (size_t j = 0; j < bv->n_listeners; j++, rk++)
      if (t->listeners[t->listener_refs[rk]].tls && v->first_tls_listener == MDR_NONE)
        v->first_tls_listener = t->listener_refs[rk];
    v->names_begin = nk;
    v->n_names = bv->n_norm;
    v->n_primary = bv->n_names;
    for (uint32_t j = 0; j < bv->n_norm; j++, nk++) {
      t->names[nk] = bv->norm[j];
      t->names[nk].host = tcopy(cur, bv->norm[j].host);
    }
  }
}

/* A vhost name's key in the index: wildcards without their "*.". */
static uint8_t key_kind(const mdri_name *nm) {
  return nm->kind == MDRI_NAME_WILD ? MDRI_NAME_WILD : MDRI_NAME_EXACT;
}
static const char *key_of(const mdri_name *nm) {
  return nm->host.ptr + (nm->kind == MDRI_NAME_WILD ? 2 : 0);
}
static size_t key_len(const mdri_name *nm) {
  return nm->host.len - (nm->kind == MDRI_NAME_WILD ? 2 : 0);
}

/* A vhost name on a listener, hashed, waiting for its insertion. */
typedef struct pending {
  uint64_t h;
  const mdri_name *name;
  uint32_t vhost, listener;
} pending;

/* Insert e; 0, or 1 with err filled when another vhost claims the name. */
static int insert_pending(mdr_table *t, const pending *e, mdr_error *err) {
  const mdri_name *nm = e->name;
  uint32_t value = e->vhost | (nm->kind == MDRI_NAME_ALIAS ? MDRI_ALIAS_BIT : 0u);
  uint32_t other = 0;
  if (!mdri_slot_insert_hashed(t, e->h, MDRI_SPACE_LISTENER, e->listener, key_kind(nm), key_of(nm),
                               key_len(nm), value, t->vhosts[e->vhost].plain, &other))
    return 0;
  if (other == e->vhost) return 0; /* same name twice in one vhost was caught at add time */
  set_err(err, MDR_ERR_CONFIG, mdri_vhost_line(t, e->vhost), nm->host,
          "vhost '%.*s': name '%.*s' on listener '%.*s' is already claimed by vhost '%.*s'",
          STRF(mdri_vhost_name(t, e->vhost)), STRF(nm->host), STRF(t->listeners[e->listener].name),
          STRF(mdri_vhost_name(t, other)));
  return 1;
}

/* The hash index: every vhost name on every listener it listens on, and
 * every cert name.  Two vhosts claiming one name on one listener meet here,
 * in the index's own probe walk. */
static int build_index(mdr_table *t, size_t slen, mdr_error *err) {
  mdr_str none = { NULL, 0 };
  size_t n_keys = t->n_cert_names;
  for (uint32_t i = 0; i < t->n_vhosts; i++)
    n_keys += (size_t)t->vhosts[i].n_names * t->vhosts[i].n_listeners;
  if (slen > UINT32_MAX || t->n_listeners >= MDRI_MAX_OWNER || t->n_certs >= MDRI_MAX_OWNER) {
    set_err(err, MDR_ERR_LIMIT, 0, none, "the table is too large for its hash index");
    return MDR_ERR_LIMIT;
  }
  size_t cap = 16;
  while (cap < n_keys + n_keys / 2 + 1) cap *= 2;
  t->slots = mdri_malloc(&t->mem, cap * sizeof *t->slots);
  if (!t->slots) return MDR_ERR_NOMEM;
  memset(t->slots, 0, cap * sizeof *t->slots);
  t->slot_mask = cap - 1;
  size_t words = cap / 16; /* four filter bits per slot; cap is at least 16 */
  t->filter = mdri_malloc(&t->mem, words * sizeof *t->filter);
  if (!t->filter) return MDR_ERR_NOMEM;
  memset(t->filter, 0, words * sizeof *t->filter);
  t->filter_mask = words - 1;
  /* Keys are hashed AHEAD insertions early and their slots prefetched, so
   * the cache misses of a large index overlap; insertions keep the order
   * of the keys, so a clash is reported as without the queue. */
  enum { AHEAD = 8 };
  pending q[AHEAD];
  size_t qh = 0, qc = 0; /* oldest entry, entries */
  for (uint32_t i = 0; i < t->n_vhosts; i++) {
    const mdri_vhost *v = &t->vhosts[i];
    for (uint32_t j = 0; j < v->n_listeners; j++) {
      for (uint32_t k = 0; k < v->n_names; k++) {
        if (qc == AHEAD) {
          if (insert_pending(t, &q[qh], err)) return MDR_ERR_CONFIG;
          qh = (qh + 1) % AHEAD;
          qc--;
        }
        pending *e = &q[(qh + qc++) % AHEAD];
        e->vhost = i;
        e->listener = mdri_vhost_listener(t, v, j);
        e->name = &t->names[v->names_begin + k];
        e->h = mdri_slot_hash(MDRI_SPACE_LISTENER, e->listener, key_kind(e->name),
                              key_of(e->name), key_len(e->name));
        mdri_slot_prefetch(t, e->h);
      }
    }
  }
  for (; qc; qc--, qh = (qh + 1) % AHEAD)
    if (insert_pending(t, &q[qh], err)) return MDR_ERR_CONFIG;
  for (uint32_t i = 0; i < t->n_certs; i++) {
    const mdri_cert *c = &t->certs[i];
    for (uint32_t k = 0; k < c->n_names; k++) {
      const mdri_name *nm = &t->cert_names[c->names_begin + k];
      uint32_t other;
      size_t skip = nm->kind == MDRI_NAME_WILD ? 2 : 0;
      /* Duplicate names within one cert are harmless. */
      (void)mdri_slot_insert(t, MDRI_SPACE_CERT, i, nm->kind, nm->host.ptr + skip,
                             nm->host.len - skip, 0, &other);
    }
  }
  return 0;
}

/* ---- statement names ------------------------------------------------------
 *
 * mdr_table_find_listener and mdr_table_find_vhost answer in expected
 * constant time (a server calls them per server block at start-up, and the
 * OpenSSL adapter per resumed session): open addressing with linear probing
 * over (listener and vhost count) * 3/2 + 1 words, so there is always an
 * empty one; a word is 0 or (index << 1 | is_listener) + 1.  Statement
 * names are unique per kind (the builder refuses a second one). */

#define STMT_SEED_VHOST 0x510e527fade682d1ull
#define STMT_SEED_LISTENER 0x9b05688c2b3e6c1full

static uint64_t stmt_hash(mdr_str name, int listener) {
  return mdri_hash_str(name.ptr, name.len, listener ? STMT_SEED_LISTENER : STMT_SEED_VHOST);
}

/* The first word to look at: the hash's high half scaled to [0, cap). */
static uint32_t stmt_start(uint64_t h, uint32_t cap) {
  return (uint32_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

static mdr_str stmt_name(const mdr_table *t, uint32_t e) {
  uint32_t i = (e - 1) >> 1;
  return (e - 1) & 1u ? t->listeners[i].name : mdri_vhost_name(t, i);
}

/* The word of statement k: listeners first, then vhosts. */
static uint32_t stmt_entry(const mdr_table *t, uint32_t k) {
  return k < t->n_listeners ? (k << 1 | 1u) + 1 : ((k - t->n_listeners) << 1) + 1;
}

static int build_stmt_index(mdr_table *t) {
  uint64_t n = (uint64_t)t->n_listeners + t->n_vhosts;
  uint64_t cap = n + n / 2 + 1;
  if (cap > UINT32_MAX) return MDR_ERR_LIMIT;
  t->stmt_cap = (uint32_t)cap;
  t->stmt_index = mdri_malloc(&t->mem, (size_t)cap * sizeof *t->stmt_index);
  if (!t->stmt_index) return MDR_ERR_NOMEM;
  memset(t->stmt_index, 0, (size_t)cap * sizeof *t->stmt_index);
  /* Each statement's first word is found AHEAD statements early and
   * fetched, so the cache misses of a large index overlap. */
  enum { AHEAD = 8 };
  uint32_t start[AHEAD];
  for (uint64_t k = 0; k < n + AHEAD; k++) {
    if (k >= AHEAD) { /* statement k - AHEAD, whose word k's takes next */
      uint32_t i = start[k % AHEAD];
      while (t->stmt_index[i]) i = i + 1 == t->stmt_cap ? 0 : i + 1;
      t->stmt_index[i] = stmt_entry(t, (uint32_t)(k - AHEAD));
    }
    if (k < n) {
      uint32_t e = stmt_entry(t, (uint32_t)k);
      uint32_t i = stmt_start(stmt_hash(stmt_name(t, e), (int)((e - 1) & 1u)), t->stmt_cap);
      mdri_prefetch(&t->stmt_index[i]);
      start[k % AHEAD] = i;
    }
  }
  return 0;
}

/* The index of the statement of this kind named `name`, or MDR_NONE. */
static uint32_t find_stmt(const mdr_table *t, mdr_str name, int listener) {
  if (!t->stmt_cap || !name.len) return MDR_NONE;
  uint32_t i = stmt_start(stmt_hash(name, listener), t->stmt_cap);
  for (uint32_t e; (e = t->stmt_index[i]) != 0; i = i + 1 == t->stmt_cap ? 0 : i + 1)
    if (((e - 1) & 1u) == (uint32_t)listener && mdri_str_eq(stmt_name(t, e), name))
      return (e - 1) >> 1;
  return MDR_NONE;
}

uint64_t mdri_stmt_probes(const mdr_table *t, mdr_str name, int listener) {
  uint64_t k = 1;
  if (!t->stmt_cap) return 0;
  for (uint32_t i = stmt_start(stmt_hash(name, listener), t->stmt_cap); t->stmt_index[i];
       i = i + 1 == t->stmt_cap ? 0 : i + 1)
    k++;
  return k;
}

static int build(mdr_builder *b, mdr_table **out, mdr_error *err, int consume) {
  if (!b || !out) return MDR_ERR_INVALID_ARGUMENT;
  *out = NULL;
  mdr_str none = { NULL, 0 };
  if (b->n_vhosts > UINT32_MAX / 4 || b->total_names > UINT32_MAX / 4) return MDR_ERR_LIMIT;
  mdri_refs r;
  int rc = mdri_builder_check(b, &r, err);
  mdr_table *t = NULL;
  if (rc) goto out;
  if (consume) mdri_builder_drop_maps(b); /* only adding and checking use them */
  rc = MDR_ERR_NOMEM;
  t = mdri_malloc(&b->mem, sizeof *t);
  if (!t) goto out;
  memset(t, 0, sizeof *t);
  atomic_init(&t->refs, 1u);
  t->mem = b->mem;
  size_t n_ports;
  size_t slen = strings_size(b, &n_ports);
  if ((rc = alloc_blocks(b, &r, t, slen, n_ports))) goto out;
  char *cur = t->strings;
  lay_out_policies(b, &r, t, &cur);
  lay_out_certs(b, t, &cur);
  lay_out_listeners(b, &r, t, &cur);
  lay_out_vhosts(b, &r, t, &cur);
  mdri_refs_free(&b->mem, &r);
  if (consume) mdri_builder_release(b); /* the table has its own copies */
  rc = build_index(t, slen, err);
  if (!rc) rc = build_stmt_index(t);
  if (!rc) rc = mdri_build_origin_index(t);
out:
  mdri_refs_free(&b->mem, &r);
  if (rc) {
    if (rc == MDR_ERR_NOMEM && err)
      set_err(err, MDR_ERR_NOMEM, 0, none, "out of memory while building the table");
    mdri_table_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int mdr_builder_build(mdr_builder *b, mdr_table **out, mdr_error *err) {
  return build(b, out, err, 0);
}

int mdri_builder_build_consume(mdr_builder *b, mdr_table **out, mdr_error *err) {
  return build(b, out, err, 1);
}

/* ---- table accessors ----------------------------------------------------- */

mdr_table *mdr_table_ref(mdr_table *t) {
  if (t) atomic_fetch_add_explicit(&t->refs, 1u, memory_order_relaxed);
  return t;
}

void mdr_table_unref(mdr_table *t) {
  if (!t) return;
  if (atomic_fetch_sub_explicit(&t->refs, 1u, memory_order_acq_rel) == 1u) mdri_table_free(t);
}

size_t mdr_table_listener_count(const mdr_table *t) { return t ? t->n_listeners : 0; }
size_t mdr_table_vhost_count(const mdr_table *t) { return t ? t->n_vhosts : 0; }

static int find_statement(const mdr_table *t, mdr_str name, mdr_index *out, int listener) {
  if (!out) return MDR_ERR_INVALID_ARGUMENT;
  *out = MDR_NONE;
  if (!t || (!name.ptr && name.len)) return MDR_ERR_INVALID_ARGUMENT;
  *out = find_stmt(t, name, listener);
  return *out == MDR_NONE ? MDR_ERR_NOT_FOUND : 0;
}

int mdr_table_find_listener(const mdr_table *t, mdr_str name, mdr_index *out) {
  return find_statement(t, name, out, 1);
}

int mdr_table_find_vhost(const mdr_table *t, mdr_str name, mdr_index *out) {
  return find_statement(t, name, out, 0);
}

int mdr_table_listener_info(const mdr_table *t, mdr_index li, mdr_listener_info *out) {
  if (!t || !out || li >= t->n_listeners) return MDR_ERR_INVALID_ARGUMENT;
  const mdri_listener *l = &t->listeners[li];
  out->name = l->name;
  out->tls = l->tls;
  out->port = l->port;
  out->public_port = l->public_port;
  out->default_vhost = l->default_vhost;
  out->unknown_host = l->unknown_host;
  out->unknown_sni = l->unknown_sni;
  out->no_sni = l->no_sni;
  out->sni_host = l->sni_host;
  out->line = mdri_listener_line(t, li);
  return 0;
}

int mdr_table_vhost_info(const mdr_table *t, mdr_index vi, mdr_vhost_info *out) {
  if (!t || !out || vi >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
  const mdri_vhost *v = &t->vhosts[vi];
  const mdri_policy *p = &t->policies[v->policy];
  mdr_str none = { "", 0 };
  memset(out, 0, sizeof *out);
  out->name = mdri_vhost_name(t, vi);
  out->line = mdri_vhost_line(t, vi);
  out->canonical = t->names[v->names_begin].host;
  out->cert = v->cert != MDR_NONE ? t->certs[v->cert].name : none;
  out->cert_file = v->cert != MDR_NONE ? t->certs[v->cert].file : none;
  out->cert_key = v->cert != MDR_NONE ? t->certs[v->cert].key : none;
  out->policy = p->name;
  out->client_auth = p->client_auth;
  out->ca_file = p->ca_file;
  out->min_tls = p->min_tls;
  out->policy_class = p->klass;
  out->http = (mdr_http_mode)v->http;
  out->redirect_status = v->redirect_status;
  out->protocols = v->protocols;
  out->early_data = v->early_data;
  return 0;
}

int mdr_vhost_on_listener(const mdr_table *t, mdr_index vi, mdr_index li) {
  if (!t || vi >= t->n_vhosts) return 0;
  const mdri_vhost *v = &t->vhosts[vi];
  for (uint32_t i = 0; i < v->n_listeners; i++)
    if (mdri_vhost_listener(t, v, i) == li) return 1;
  return 0;
}

mdr_str mdr_vhost_name(const mdr_table *t, mdr_index v) {
  mdr_str none = { "", 0 };
  if (!t || v >= t->n_vhosts) return none;
  return mdri_vhost_name(t, v);
}

int mdr_table_vhost_name_at(const mdr_table *t, mdr_index vi, size_t i, mdr_str *name,
                            int *is_alias) {
  if (!t || !name || vi >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
  const mdri_vhost *v = &t->vhosts[vi];
  if (i >= v->n_names) return MDR_ERR_NOT_FOUND;
  *name = t->names[v->names_begin + i].host;
  if (is_alias) *is_alias = i >= v->n_primary;
  return 0;
}

int mdr_table_cert_covers(const mdr_table *t, mdr_index vi, mdr_str host) {
  if (!t || vi >= t->n_vhosts || (!host.ptr && host.len)) return 0;
  mdr_authority a;
  if (mdri_authority(host.ptr, host.len, &a) != MDR_REASON_COUNT_ || a.port) return 0;
  return mdri_cert_covers(t, t->vhosts[vi].cert, a.host, a.host_len, a.kind);
}
