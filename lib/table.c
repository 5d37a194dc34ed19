/* Builder (single-threaded) and freezing into an immutable table. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* ---- string arena: chunks whose addresses never move -------------------- */

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  max_align_t align_[]; /* data follows */
} arena_chunk;

typedef struct arena {
  arena_chunk *head;
} arena;

static void *arena_alloc(const mdr_mem *m, arena *a, size_t n) {
  n = (n + 7) & ~(size_t)7;
  if (!a->head || a->head->cap - a->head->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    arena_chunk *c = mdri_malloc(m, sizeof *c + cap);
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

static void arena_free(const mdr_mem *m, arena *a) {
  arena_chunk *c = a->head;
  while (c) {
    arena_chunk *n = c->next;
    mdri_free(m, c);
    c = n;
  }
  a->head = NULL;
}

static int arena_str(const mdr_mem *m, arena *a, mdr_str in, mdr_str *out) {
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

/* ---- builder ------------------------------------------------------------ */

/* Name -> statement index map (open addressing; stores index + 1). */
typedef struct strmap {
  uint32_t *slots; /* index + 1; 0 = empty */
  size_t mask;
  size_t count;
} strmap;

static int strmap_init(const mdr_mem *m, strmap *sm, size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  sm->slots = mdri_malloc(m, cap * sizeof *sm->slots);
  if (!sm->slots) return MDR_ERR_NOMEM;
  memset(sm->slots, 0, cap * sizeof *sm->slots);
  sm->mask = cap - 1;
  return 0;
}

static uint64_t strhash(mdr_str s) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < s.len; i++) h = (h ^ (unsigned char)s.ptr[i]) * 1099511628211ull;
  return h;
}

/* names[i] is at base + i*stride (an mdr_str). */
static void strmap_put(strmap *sm, mdr_str key, uint32_t idx) {
  size_t i = (size_t)strhash(key) & sm->mask;
  while (sm->slots[i]) i = (i + 1) & sm->mask;
  sm->slots[i] = idx + 1;
  sm->count++;
}

static uint32_t strmap_get(const strmap *sm, mdr_str key, const void *base, size_t stride) {
  size_t i = (size_t)strhash(key) & sm->mask;
  while (sm->slots[i]) {
    uint32_t idx = sm->slots[i] - 1;
    const mdr_str *s = (const mdr_str *)((const char *)base + idx * stride);
    if (mdri_str_eq(*s, key)) return idx;
    i = (i + 1) & sm->mask;
  }
  return MDR_NONE;
}

/* Add to a map that grows; names are re-read from base when rehashing. */
static int strmap_add(const mdr_mem *m, strmap *sm, mdr_str key, uint32_t idx, const void *base,
                      size_t stride) {
  if (!sm->slots || (sm->count + 1) * 2 > sm->mask + 1) {
    strmap bigger = { NULL, 0, 0 };
    if (strmap_init(m, &bigger, (sm->count + 1) * 2)) return MDR_ERR_NOMEM;
    for (size_t i = 0; sm->slots && i <= sm->mask; i++) {
      if (!sm->slots[i]) continue;
      uint32_t j = sm->slots[i] - 1;
      strmap_put(&bigger, *(const mdr_str *)((const char *)base + j * stride), j);
    }
    mdri_free(m, sm->slots);
    *sm = bigger;
  }
  strmap_put(sm, key, idx);
  return 0;
}



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

typedef struct b_vhost {
  mdr_vhost_conf c;
  mdri_name *norm; /* names then redirect names, normalised */
  uint32_t n_norm;
} b_vhost;

struct mdr_builder {
  mdr_mem mem;
  arena strings;
  b_listener *listeners;
  size_t n_listeners, cap_listeners;
  b_cert *certs;
  size_t n_certs, cap_certs;
  b_policy *policies;
  size_t n_policies, cap_policies;
  b_vhost *vhosts;
  size_t n_vhosts, cap_vhosts;
  size_t total_names;
  size_t total_cert_names;
  strmap vhost_names; /* statement name -> index, for duplicates */
  strmap cert_names;
};

static void set_err(mdr_error *err, int code, unsigned line, mdr_str token, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static void set_err(mdr_error *err, int code, unsigned line, mdr_str token, const char *fmt, ...) {
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

/* printf helper for mdr_str: "%.*s", STRF(s).  The name is quoted by the
 * one quoting helper (quote.h: \xHH escapes, cut with "...") into a
 * buffer that lives until the end of the enclosing block. */
#define STRF(s) (int)MDRI_QUOTE, mdri_quote((char[MDRI_QUOTE]){0}, (s).ptr, (s).len)

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

void mdr_builder_free(mdr_builder *b) {
  if (!b) return;
  mdr_mem m = b->mem;
  arena_free(&m, &b->strings);
  mdri_free(&m, b->listeners);
  mdri_free(&m, b->certs);
  mdri_free(&m, b->policies);
  mdri_free(&m, b->vhosts);
  mdri_free(&m, b->vhost_names.slots);
  mdri_free(&m, b->cert_names.slots);
  mdri_free(&m, b);
}

static int valid_stmt_name(mdr_str s) {
  if (s.len == 0 || s.len > 255) return 0;
  for (size_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c <= 0x20 || c >= 0x7f || c == ',' || c == '=' || c == '#' || c == '\'') return 0;
  }
  return 1;
}

static int copy_strs(mdr_builder *b, const mdr_str *in, size_t n, const mdr_str **out) {
  *out = NULL;
  if (n == 0) return 0;
  if (!in) return MDR_ERR_INVALID_ARGUMENT;
  mdr_str *arr = arena_alloc(&b->mem, &b->strings, n * sizeof *arr);
  if (!arr) return MDR_ERR_NOMEM;
  for (size_t i = 0; i < n; i++)
    if (arena_str(&b->mem, &b->strings, in[i], &arr[i])) return MDR_ERR_NOMEM;
  *out = arr;
  return 0;
}

/* Normalise a configured name (vhost names, redirect names, cert names).
 * Returns 0 or MDR_ERR_CONFIG with a description in why. */
static int norm_config_name(mdr_builder *b, mdr_str in, int allow_wild, mdri_name *out,
                            const char **why) {
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
  for (size_t i = 0; i < s.len; i++) {
    if (s.ptr[i] == '*') {
      *why = "a wildcard must be the whole first label ('*.example.com')";
      return MDR_ERR_CONFIG;
    }
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
  char wbuf[MDR_HOST_MAX + 3];
  mdr_str h = { a.host, a.host_len };
  if (wild) {
    wbuf[0] = '*';
    wbuf[1] = '.';
    memcpy(wbuf + 2, a.host, a.host_len);
    h.ptr = wbuf;
    h.len = a.host_len + 2;
  }
  if (arena_str(&b->mem, &b->strings, h, &out->host)) return MDR_ERR_NOMEM;
  out->kind = wild ? MDRI_NAME_WILD : MDRI_NAME_EXACT;
  out->host_kind = (uint8_t)a.kind;
  /* How it was written, for lint: upper case, a trailing dot, or another
   * spelling of the same host (compared after lower-casing and dropping the
   * dot). */
  out->flags = 0;
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
  return 0;
}

int mdr_builder_add_listener(mdr_builder *b, const mdr_listener_conf *c, mdr_error *err) {
  if (!b || !c) return MDR_ERR_INVALID_ARGUMENT;
  mdr_str none = { NULL, 0 };
  if (!valid_stmt_name(c->name)) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "listener: invalid name '%.*s'", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  for (size_t i = 0; i < b->n_listeners; i++) {
    if (mdri_str_eq(b->listeners[i].c.name, c->name)) {
      set_err(err, MDR_ERR_CONFIG, c->line, c->name,
              "listener '%.*s': defined twice (first on line %u)", STRF(c->name),
              b->listeners[i].c.line);
      return MDR_ERR_CONFIG;
    }
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
  b->n_listeners++;
  return 0;
}

int mdr_builder_add_cert(mdr_builder *b, const mdr_cert_conf *c, mdr_error *err) {
  if (!b || !c || (c->n_names && !c->names)) return MDR_ERR_INVALID_ARGUMENT;
  if (!valid_stmt_name(c->name)) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "cert: invalid name '%.*s'", STRF(c->name));
    return MDR_ERR_CONFIG;
  }
  uint32_t prev = b->n_certs ? strmap_get(&b->cert_names, c->name, &b->certs[0].c.name,
                                          sizeof b->certs[0])
                              : MDR_NONE;
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
      int rc = norm_config_name(b, c->names[i], 1, &e->norm[i], &why);
      if (rc == MDR_ERR_CONFIG) {
        set_err(err, rc, c->line, c->names[i], "cert '%.*s': invalid name '%.*s' (%s)",
                STRF(c->name), STRF(c->names[i]), why);
        return rc;
      }
      if (rc) return rc;
    }
  }
  if (strmap_add(&b->mem, &b->cert_names, e->c.name, (uint32_t)b->n_certs, &b->certs[0].c.name,
                 sizeof b->certs[0]))
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
  for (size_t i = 0; i < b->n_policies; i++) {
    if (mdri_str_eq(b->policies[i].c.name, c->name)) {
      set_err(err, MDR_ERR_CONFIG, c->line, c->name,
              "policy '%.*s': defined twice (first on line %u)", STRF(c->name),
              b->policies[i].c.line);
      return MDR_ERR_CONFIG;
    }
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
  uint32_t prev = b->n_vhosts ? strmap_get(&b->vhost_names, c->name, &b->vhosts[0].c.name,
                                           sizeof b->vhosts[0])
                               : MDR_NONE;
  if (prev != MDR_NONE) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->name, "vhost '%.*s': defined twice (first on line %u)",
            STRF(c->name), b->vhosts[prev].c.line);
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
  for (size_t i = 0; i < c->n_listeners; i++)
    for (size_t j = 0; j < i; j++)
      if (mdri_str_eq(c->listeners[i], c->listeners[j])) {
        set_err(err, MDR_ERR_CONFIG, c->line, c->listeners[i],
                "vhost '%.*s': listener '%.*s' named twice in listen=", STRF(c->name),
                STRF(c->listeners[i]));
        return MDR_ERR_CONFIG;
      }
  if (mdri_grow(&b->mem, (void **)&b->vhosts, &b->cap_vhosts, b->n_vhosts + 1, sizeof *b->vhosts))
    return MDR_ERR_NOMEM;
  b_vhost *v = &b->vhosts[b->n_vhosts];
  memset(v, 0, sizeof *v);
  v->c = *c;
  size_t n = c->n_names + c->n_redirect_names;
  if (n > UINT32_MAX / 2) return MDR_ERR_LIMIT;
  v->norm = arena_alloc(&b->mem, &b->strings, n * sizeof *v->norm);
  if (!v->norm) return MDR_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    int alias = i >= c->n_names;
    mdr_str in = alias ? c->redirect_names[i - c->n_names] : c->names[i];
    const char *why = NULL;
    int rc = norm_config_name(b, in, !alias, &v->norm[i], &why);
    if (rc == MDR_ERR_CONFIG) {
      set_err(err, rc, c->line, in, "vhost '%.*s': invalid %s '%.*s' (%s)", STRF(c->name),
              alias ? "redirect name" : "name", STRF(in), why);
      return rc;
    }
    if (rc) return rc;
    if (alias) v->norm[i].kind = MDRI_NAME_ALIAS;
    for (size_t j = 0; j < i; j++) {
      /* Wildcards keep their "*." so they never equal a concrete name. */
      if (mdri_str_eq(v->norm[j].host, v->norm[i].host)) {
        set_err(err, MDR_ERR_CONFIG, c->line, in, "vhost '%.*s': name '%.*s' listed twice",
                STRF(c->name), STRF(in));
        return MDR_ERR_CONFIG;
      }
    }
  }
  if (c->n_redirect_names && v->norm[0].kind == MDRI_NAME_WILD) {
    set_err(err, MDR_ERR_CONFIG, c->line, c->names[0],
            "vhost '%.*s': redirect-names= needs a concrete first name (the redirect target), not '%.*s'",
            STRF(c->name), STRF(c->names[0]));
    return MDR_ERR_CONFIG;
  }
  v->n_norm = (uint32_t)n;
  if (arena_str(&b->mem, &b->strings, c->name, &v->c.name) ||
      arena_str(&b->mem, &b->strings, c->cert, &v->c.cert) ||
      arena_str(&b->mem, &b->strings, c->policy, &v->c.policy) ||
      copy_strs(b, c->listeners, c->n_listeners, &v->c.listeners))
    return MDR_ERR_NOMEM;
  v->c.names = NULL;
  v->c.redirect_names = NULL;
  if (strmap_add(&b->mem, &b->vhost_names, v->c.name, (uint32_t)b->n_vhosts, &b->vhosts[0].c.name,
                 sizeof b->vhosts[0]))
    return MDR_ERR_NOMEM;
  b->total_names += n;
  b->n_vhosts++;
  return 0;
}

/* ---- freeze ------------------------------------------------------------- */

static uint32_t find_listener(const mdr_builder *b, mdr_str name) {
  for (size_t i = 0; i < b->n_listeners; i++)
    if (mdri_str_eq(b->listeners[i].c.name, name)) return (uint32_t)i;
  return MDR_NONE;
}

static uint32_t find_policy(const mdr_builder *b, mdr_str name) {
  for (size_t i = 0; i < b->n_policies; i++)
    if (mdri_str_eq(b->policies[i].c.name, name)) return (uint32_t)i;
  return MDR_NONE;
}

static int policies_equal(const mdri_policy *a, const mdri_policy *b) {
  if (a->client_auth != b->client_auth || a->min_tls != b->min_tls) return 0;
  if (a->ca_identity.len || b->ca_identity.len) return mdri_str_eq(a->ca_identity, b->ca_identity);
  return mdri_str_eq(a->ca_file, b->ca_file);
}

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
  mdri_free(&m, t->strings);
  mdri_free(&m, t->listener_refs);
  mdri_free(&m, t->ports);
  mdri_free(&m, t->lines);
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

int mdr_builder_build(mdr_builder *b, mdr_table **out, mdr_error *err) {
  if (!b || !out) return MDR_ERR_INVALID_ARGUMENT;
  *out = NULL;
  const mdr_mem *m = &b->mem;
  mdr_str none = { NULL, 0 };
  int rc = MDR_ERR_NOMEM;
  strmap vmap = { NULL, 0, 0 }, cmap = { NULL, 0, 0 };
  if (b->n_vhosts > UINT32_MAX / 4 || b->total_names > UINT32_MAX / 4) return MDR_ERR_LIMIT;

  mdr_table *t = mdri_malloc(m, sizeof *t);
  if (!t) return MDR_ERR_NOMEM;
  memset(t, 0, sizeof *t);
  atomic_init(&t->refs, 1u);
  t->mem = *m;

  /* Size of the string block. */
  size_t slen = 16;
  size_t n_refs = 0, n_ports = 0;
  for (size_t i = 0; i < b->n_listeners; i++) {
    slen += b->listeners[i].c.name.len + 1;
    n_ports += b->listeners[i].c.n_public_ports;
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
    slen += v->c.name.len + 1;
    n_refs += v->c.n_listeners;
    for (size_t k = 0; k < v->n_norm; k++) slen += v->norm[k].host.len + 1;
  }
  slen += sizeof "default";

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
  t->listener_refs = mdri_malloc(m, (n_refs + 1) * sizeof *t->listener_refs);
  t->ports = mdri_malloc(m, (n_ports + 1) * sizeof *t->ports);
  t->lines = mdri_malloc(m, ((size_t)t->n_listeners + t->n_certs + t->n_policies + t->n_vhosts) *
                                sizeof *t->lines);
  if (!t->strings || !t->listeners || !t->vhosts || !t->certs || !t->policies || !t->names ||
      !t->cert_names || !t->listener_refs || !t->ports || !t->lines)
    goto fail;
  /* Statement lines (see mdri_*_line). */
  {
    uint32_t *ln = t->lines;
    for (size_t i = 0; i < b->n_listeners; i++) *ln++ = b->listeners[i].c.line;
    for (size_t i = 0; i < b->n_certs; i++) *ln++ = b->certs[i].c.line;
    *ln++ = 0; /* the built-in default policy */
    for (size_t i = 0; i < b->n_policies; i++) *ln++ = b->policies[i].c.line;
    for (size_t i = 0; i < b->n_vhosts; i++) *ln++ = b->vhosts[i].c.line;
  }
  if (strmap_init(m, &vmap, b->n_vhosts) || strmap_init(m, &cmap, b->n_certs)) goto fail;
  char *cur = t->strings;

  /* Policies: [0] is the built-in default. */
  {
    mdri_policy *p0 = &t->policies[0];
    memset(p0, 0, sizeof *p0);
    p0->name = tcopy(&cur, (mdr_str)MDR_STR_LIT("default"));
    p0->ca_file = none;
    p0->ca_identity = none;
    for (size_t i = 0; i < b->n_policies; i++) {
      const mdr_policy_conf *c = &b->policies[i].c;
      mdri_policy *p = &t->policies[i + 1];
      p->name = tcopy(&cur, c->name);
      p->client_auth = c->client_auth;
      p->min_tls = c->min_tls;
      p->ca_file = c->ca_file.len ? tcopy(&cur, c->ca_file) : none;
      mdr_str id = { (const char *)c->ca_identity, c->ca_identity_len };
      p->ca_identity = id.len ? tcopy(&cur, id) : none;
    }
    uint32_t next = 0;
    for (uint32_t i = 0; i < t->n_policies; i++) {
      t->policies[i].klass = MDR_NONE;
      for (uint32_t j = 0; j < i; j++) {
        if (policies_equal(&t->policies[i], &t->policies[j])) {
          t->policies[i].klass = t->policies[j].klass;
          break;
        }
      }
      if (t->policies[i].klass == MDR_NONE) t->policies[i].klass = next++;
    }
  }

  /* Certificates. */
  {
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->n_certs; i++) {
      const b_cert *c = &b->certs[i];
      mdri_cert *tc = &t->certs[i];
      tc->name = tcopy(&cur, c->c.name);
      tc->file = c->c.file.len ? tcopy(&cur, c->c.file) : none;
      tc->key = c->c.key.len ? tcopy(&cur, c->c.key) : none;
      tc->names_begin = k;
      tc->n_names = (uint32_t)c->c.n_names;
      for (size_t j = 0; j < c->c.n_names; j++, k++) {
        t->cert_names[k] = c->norm[j];
        t->cert_names[k].host = tcopy(&cur, c->norm[j].host);
      }
      strmap_put(&cmap, c->c.name, i);
    }
  }

  /* Listeners (default vhost resolved after vhosts). */
  {
    uint32_t pk = 0;
    for (uint32_t i = 0; i < t->n_listeners; i++) {
      const mdr_listener_conf *c = &b->listeners[i].c;
      mdri_listener *l = &t->listeners[i];
      memset(l, 0, sizeof *l);
      l->name = tcopy(&cur, c->name);
      l->tls = c->tls ? 1 : 0;
      l->port = c->port;
      l->public_ports = t->ports + pk;
      l->n_public_ports = (uint32_t)c->n_public_ports;
      for (size_t j = 0; j < c->n_public_ports; j++) t->ports[pk++] = c->public_ports[j];
      l->public_port = c->n_public_ports ? c->public_ports[0] : c->port;
      l->default_vhost = MDR_NONE;
      l->unknown_host = c->unknown_host;
      l->unknown_sni = c->unknown_sni;
      l->no_sni = c->no_sni;
      l->sni_host = c->sni_host;
    }
  }

  /* Vhosts. */
  {
    uint32_t nk = 0, rk = 0;
    for (uint32_t i = 0; i < t->n_vhosts; i++) {
      const b_vhost *bv = &b->vhosts[i];
      const mdr_vhost_conf *c = &bv->c;
      mdri_vhost *v = &t->vhosts[i];
      memset(v, 0, sizeof *v);
      v->name = tcopy(&cur, c->name);
      v->cert = MDR_NONE;
      v->first_tls_listener = MDR_NONE;
      v->http = c->http;
      v->redirect_status = (uint16_t)(c->redirect_status ? c->redirect_status : 308);
      v->protocols = (uint8_t)(c->protocols ? c->protocols : MDR_PROTO_ALL);
      v->early_data = c->early_data ? 1 : 0;
      if (c->cert.len) {
        v->cert = b->n_certs ? strmap_get(&cmap, c->cert, &b->certs[0].c.name, sizeof b->certs[0])
                             : MDR_NONE;
        if (v->cert == MDR_NONE) {
          set_err(err, MDR_ERR_CONFIG, c->line, c->cert, "vhost '%.*s': unknown cert '%.*s'",
                  STRF(c->name), STRF(c->cert));
          rc = MDR_ERR_CONFIG;
          goto fail;
        }
      }
      if (c->policy.len && !mdri_str_eq_lit(c->policy, "default")) {
        uint32_t p = find_policy(b, c->policy);
        if (p == MDR_NONE) {
          set_err(err, MDR_ERR_CONFIG, c->line, c->policy, "vhost '%.*s': unknown policy '%.*s'",
                  STRF(c->name), STRF(c->policy));
          rc = MDR_ERR_CONFIG;
          goto fail;
        }
        v->policy = p + 1;
      }
      v->listeners = t->listener_refs + rk;
      v->n_listeners = (uint32_t)c->n_listeners;
      for (size_t j = 0; j < c->n_listeners; j++) {
        uint32_t l = find_listener(b, c->listeners[j]);
        if (l == MDR_NONE) {
          set_err(err, MDR_ERR_CONFIG, c->line, c->listeners[j],
                  "vhost '%.*s': unknown listener '%.*s'", STRF(c->name), STRF(c->listeners[j]));
          rc = MDR_ERR_CONFIG;
          goto fail;
        }
        t->listener_refs[rk++] = l;
        if (t->listeners[l].tls) {
          if (v->first_tls_listener == MDR_NONE) v->first_tls_listener = l;
          if (v->cert == MDR_NONE) {
            set_err(err, MDR_ERR_CONFIG, c->line, c->listeners[j],
                    "vhost '%.*s': listens on TLS listener '%.*s' but has no cert=", STRF(c->name),
                    STRF(c->listeners[j]));
            rc = MDR_ERR_CONFIG;
            goto fail;
          }
        }
      }
      v->names_begin = nk;
      v->n_names = bv->n_norm;
      v->n_primary = (uint32_t)c->n_names;
      for (uint32_t j = 0; j < bv->n_norm; j++, nk++) {
        t->names[nk] = bv->norm[j];
        t->names[nk].host = tcopy(&cur, bv->norm[j].host);
      }
      strmap_put(&vmap, c->name, i);
    }
  }

  /* Listener defaults and listener-level rules. */
  for (uint32_t i = 0; i < t->n_listeners; i++) {
    const mdr_listener_conf *c = &b->listeners[i].c;
    mdri_listener *l = &t->listeners[i];
    if (c->default_vhost.len) {
      uint32_t v = b->n_vhosts ? strmap_get(&vmap, c->default_vhost, &b->vhosts[0].c.name,
                                            sizeof b->vhosts[0])
                               : MDR_NONE;
      if (v == MDR_NONE) {
        set_err(err, MDR_ERR_CONFIG, c->line, c->default_vhost,
                "listener '%.*s': unknown default vhost '%.*s'", STRF(c->name),
                STRF(c->default_vhost));
        rc = MDR_ERR_CONFIG;
        goto fail;
      }
      int on = 0;
      for (uint32_t j = 0; j < t->vhosts[v].n_listeners; j++)
        if (t->vhosts[v].listeners[j] == i) on = 1;
      if (!on) {
        set_err(err, MDR_ERR_CONFIG, c->line, c->default_vhost,
                "listener '%.*s': default vhost '%.*s' does not listen on it", STRF(c->name),
                STRF(c->default_vhost));
        rc = MDR_ERR_CONFIG;
        goto fail;
      }
      l->default_vhost = v;
    } else {
      if (l->tls && !(l->no_sni == MDR_NO_SNI_REJECT && l->unknown_sni == MDR_UNKNOWN_SNI_REJECT)) {
        set_err(err, MDR_ERR_CONFIG, c->line, c->name,
                "listener '%.*s': a TLS listener needs default= unless it has no-sni=reject and "
                "unknown-sni=reject",
                STRF(c->name));
        rc = MDR_ERR_CONFIG;
        goto fail;
      }
      if (l->unknown_host == MDR_UNKNOWN_HOST_DEFAULT) {
        set_err(err, MDR_ERR_CONFIG, c->line, c->name,
                "listener '%.*s': unknown-host=default needs default=", STRF(c->name));
        rc = MDR_ERR_CONFIG;
        goto fail;
      }
    }
    if (l->unknown_host == MDR_UNKNOWN_HOST_DEFAULT && l->default_vhost != MDR_NONE) {
      const mdri_vhost *dv = &t->vhosts[l->default_vhost];
      if (dv->http == MDR_HTTP_REDIRECT && !l->tls && t->names[dv->names_begin].kind == MDRI_NAME_WILD) {
        set_err(err, MDR_ERR_CONFIG, c->line, c->default_vhost,
                "listener '%.*s': default vhost '%.*s' has http=redirect but a wildcard first "
                "name, so unknown hosts could not be redirected",
                STRF(c->name), STRF(c->default_vhost));
        rc = MDR_ERR_CONFIG;
        goto fail;
      }
    }
  }

  /* Hash index: every vhost name on every listener it listens on, and every
   * cert name. */
  {
    size_t n_keys = t->n_cert_names;
    for (uint32_t i = 0; i < t->n_vhosts; i++)
      n_keys += (size_t)t->vhosts[i].n_names * t->vhosts[i].n_listeners;
    if (slen > UINT32_MAX || t->n_listeners >= MDRI_MAX_OWNER || t->n_certs >= MDRI_MAX_OWNER) {
      set_err(err, MDR_ERR_LIMIT, 0, none, "the table is too large for its hash index");
      rc = MDR_ERR_LIMIT;
      goto fail;
    }
    size_t cap = 16;
    while (cap < n_keys + n_keys / 2 + 1) cap *= 2;
    t->slots = mdri_malloc(m, cap * sizeof *t->slots);
    if (!t->slots) goto fail;
    memset(t->slots, 0, cap * sizeof *t->slots);
    t->slot_mask = cap - 1;
    for (uint32_t i = 0; i < t->n_vhosts; i++) {
      const mdri_vhost *v = &t->vhosts[i];
      for (uint32_t j = 0; j < v->n_listeners; j++) {
        uint32_t l = v->listeners[j];
        for (uint32_t k = 0; k < v->n_names; k++) {
          const mdri_name *nm = &t->names[v->names_begin + k];
          uint8_t kc = nm->kind == MDRI_NAME_WILD ? MDRI_NAME_WILD : MDRI_NAME_EXACT;
          uint32_t other = 0;
          size_t skip = nm->kind == MDRI_NAME_WILD ? 2 : 0;
          uint32_t value = i | (nm->kind == MDRI_NAME_ALIAS ? MDRI_ALIAS_BIT : 0u);
          if (mdri_slot_insert(t, MDRI_SPACE_LISTENER, l, kc, nm->host.ptr + skip,
                               nm->host.len - skip, value, &other)) {
            const mdr_vhost_conf *c = &b->vhosts[i].c;
            mdr_str shown = nm->host;
            if (other == i) {
              /* Same name twice in one vhost was caught at add time. */
              continue;
            }
            set_err(err, MDR_ERR_CONFIG, c->line, shown,
                    "vhost '%.*s': name '%.*s' on listener '%.*s' is already claimed by vhost '%.*s'",
                    STRF(c->name), STRF(shown), STRF(t->listeners[l].name),
                    STRF(t->vhosts[other].name));
            rc = MDR_ERR_CONFIG;
            goto fail;
          }
        }
      }
    }
    for (uint32_t i = 0; i < t->n_certs; i++) {
      const mdri_cert *c = &t->certs[i];
      for (uint32_t k = 0; k < c->n_names; k++) {
        const mdri_name *nm = &t->cert_names[c->names_begin + k];
        uint32_t other;
        size_t skip = nm->kind == MDRI_NAME_WILD ? 2 : 0;
        /* Duplicate names within one cert are harmless. */
        (void)mdri_slot_insert(t, MDRI_SPACE_CERT, i, nm->kind, nm->host.ptr + skip,
                               nm->host.len - skip, i, &other);
      }
    }
  }

  mdri_free(m, vmap.slots);
  mdri_free(m, cmap.slots);
  *out = t;
  (void)none;
  return 0;

fail:
  if (rc == MDR_ERR_NOMEM && err)
    set_err(err, MDR_ERR_NOMEM, 0, none, "out of memory while building the table");
  mdri_free(m, vmap.slots);
  mdri_free(m, cmap.slots);
  mdri_table_free(t);
  return rc;
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

int mdr_table_find_listener(const mdr_table *t, mdr_str name, mdr_index *out) {
  if (!t || !out) return MDR_ERR_INVALID_ARGUMENT;
  for (uint32_t i = 0; i < t->n_listeners; i++)
    if (mdri_str_eq(t->listeners[i].name, name)) {
      *out = i;
      return 0;
    }
  *out = MDR_NONE;
  return MDR_ERR_NOT_FOUND;
}

int mdr_table_find_vhost(const mdr_table *t, mdr_str name, mdr_index *out) {
  if (!t || !out) return MDR_ERR_INVALID_ARGUMENT;
  for (uint32_t i = 0; i < t->n_vhosts; i++)
    if (mdri_str_eq(t->vhosts[i].name, name)) {
      *out = i;
      return 0;
    }
  *out = MDR_NONE;
  return MDR_ERR_NOT_FOUND;
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
  return 0;
}

int mdr_table_vhost_info(const mdr_table *t, mdr_index vi, mdr_vhost_info *out) {
  if (!t || !out || vi >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
  const mdri_vhost *v = &t->vhosts[vi];
  const mdri_policy *p = &t->policies[v->policy];
  mdr_str none = { "", 0 };
  memset(out, 0, sizeof *out);
  out->name = v->name;
  out->canonical = t->names[v->names_begin].host;
  out->cert = v->cert != MDR_NONE ? t->certs[v->cert].name : none;
  out->cert_file = v->cert != MDR_NONE ? t->certs[v->cert].file : none;
  out->cert_key = v->cert != MDR_NONE ? t->certs[v->cert].key : none;
  out->policy = p->name;
  out->client_auth = p->client_auth;
  out->ca_file = p->ca_file;
  out->min_tls = p->min_tls;
  out->policy_class = p->klass;
  out->http = v->http;
  out->redirect_status = v->redirect_status;
  out->protocols = v->protocols;
  out->early_data = v->early_data;
  return 0;
}

int mdr_vhost_on_listener(const mdr_table *t, mdr_index vi, mdr_index li) {
  if (!t || vi >= t->n_vhosts) return 0;
  const mdri_vhost *v = &t->vhosts[vi];
  for (uint32_t i = 0; i < v->n_listeners; i++)
    if (v->listeners[i] == li) return 1;
  return 0;
}

mdr_str mdr_vhost_name(const mdr_table *t, mdr_index v) {
  mdr_str none = { "", 0 };
  if (!t || v >= t->n_vhosts) return none;
  return t->vhosts[v].name;
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
