/*
 * Client side: certificate name coverage (RFC 9525) and the origin set of a
 * connection (RFC 8336 §2.3-2.4), in caller-provided storage.
 */
#include "origin_internal.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Certificate coverage                                                       */
/* ------------------------------------------------------------------------ */

/* One presented name against a normalised host. */
static int name_covers(const mdr_str *name, const char *host, size_t host_len,
                       mdr_host_kind host_kind) {
  char norm[MDRO_HOST_BUF];
  size_t n;
  mdr_host_kind kind;
  if (name->ptr == NULL || name->len == 0) return 0;
  if (memchr(name->ptr, '*', name->len) != NULL) {
    /* Only "*." + a name of at least two labels, '*' nowhere else. */
    if (name->len < 3 || name->ptr[0] != '*' || name->ptr[1] != '.') return 0;
    const char *rest = name->ptr + 2;
    size_t rest_len = name->len - 2;
    if (memchr(rest, '*', rest_len) != NULL) return 0;
    if (mdro_host_normalize(rest, rest_len, 0, norm, &n, &kind) != 0) return 0;
    if (kind != MDR_HOST_NAME || memchr(norm, '.', n) == NULL) return 0;
    if (host_kind != MDR_HOST_NAME || host_len < n + 2) return 0;
    size_t label_len = host_len - n - 1;
    if (host[label_len] != '.' || memcmp(host + label_len + 1, norm, n) != 0) return 0;
    return memchr(host, '.', label_len) == NULL; /* exactly one label */
  }
  if (mdro_host_normalize(name->ptr, name->len, 1, norm, &n, &kind) != 0) return 0;
  return kind == host_kind && n == host_len && memcmp(norm, host, n) == 0;
}

int mdr_origin_names_cover(const mdr_str *names, size_t n, const char *host, size_t host_len) {
  char h[MDRO_HOST_BUF];
  size_t hl;
  mdr_host_kind kind;
  if (names == NULL || host == NULL) return 0;
  if (mdro_host_normalize(host, host_len, 0, h, &hl, &kind) != 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (name_covers(&names[i], h, hl, kind)) return 1;
  return 0;
}

int mdr_origin_names_covers_cb(void *cert_names, const char *host, size_t host_len) {
  const mdr_origin_cert_names *cn = cert_names;
  if (cn == NULL) return 0;
  return mdr_origin_names_cover(cn->names, cn->n, host, host_len);
}

/* ------------------------------------------------------------------------ */
/* Client origin set                                                          */
/* ------------------------------------------------------------------------ */

int mdr_origin_client_init(mdr_origin_client *c, mdr_origin_slot *slots, size_t cap,
                           const char *sni_or_ip, size_t len, uint16_t port) {
  if (c == NULL || (slots == NULL && cap > 0)) return MDR_ERR_INVALID_ARGUMENT;
  memset(c, 0, sizeof *c);
  c->slots = slots;
  c->cap = cap;
  size_t ol;
  int rv = mdr_origin_serialize(sni_or_ip, len, port, c->initial, sizeof c->initial, &ol);
  if (rv != 0) {
    memset(c, 0, sizeof *c);
    return MDR_ERR_INVALID_ARGUMENT;
  }
  c->initial_len = ol;
  return 0;
}

mdr_str mdr_origin_client_initial(const mdr_origin_client *c) {
  mdr_str s = {NULL, 0};
  if (c && c->initial_len) {
    s.ptr = c->initial;
    s.len = c->initial_len;
  }
  return s;
}

void mdr_origin_client_activate(mdr_origin_client *c) {
  if (c) c->activated = 1;
}

static int is_initial(const mdr_origin_client *c, const char *o, size_t len) {
  return c->initial_len == len && memcmp(c->initial, o, len) == 0;
}

static mdr_origin_slot *find_slot(const mdr_origin_client *c, const char *o, size_t len) {
  for (size_t i = 0; i < c->n; i++)
    if (c->slots[i].len == len && memcmp(c->slots[i].origin, o, len) == 0) return &c->slots[i];
  return NULL;
}

static mdr_origin_slot *new_slot(mdr_origin_client *c, const char *o, size_t len) {
  if (c->n >= c->cap) return NULL;
  mdr_origin_slot *s = &c->slots[c->n++];
  memset(s, 0, sizeof *s);
  s->len = (uint16_t)len;
  memcpy(s->origin, o, len);
  return s;
}

int mdr_origin_client_add(mdr_origin_client *c, const char *origin, size_t len) {
  if (c == NULL) return MDR_ERR_INVALID_ARGUMENT;
  c->activated = 1;
  if (!mdr_origin_is_canonical(origin, len)) return 0; /* skipped, RFC 8336 §2.2 */
  if (is_initial(c, origin, len)) {
    c->initial_refused = 0;
    return 0;
  }
  mdr_origin_slot *s = find_slot(c, origin, len);
  if (s) {
    s->refused = 0;
    return 0;
  }
  return new_slot(c, origin, len) ? 0 : MDR_ERR_LIMIT;
}

int mdr_origin_client_add_cb(void *client, const char *origin, size_t len) {
  return mdr_origin_client_add(client, origin, len);
}

int mdr_origin_client_on_h2_frame(mdr_origin_client *c, const uint8_t *in, size_t len,
                                  mdr_origin_result *res) {
  if (c == NULL) return MDR_ERR_INVALID_ARGUMENT;
  int rv = mdr_origin_h2_decode(in, len, mdr_origin_client_add_cb, c, res);
  if (res && res->status == MDR_ORIGIN_PROCESSED) c->activated = 1;
  return rv;
}

int mdr_origin_client_on_h3_frame(mdr_origin_client *c, const uint8_t *in, size_t len,
                                  mdr_origin_result *res) {
  if (c == NULL) return MDR_ERR_INVALID_ARGUMENT;
  int rv = mdr_origin_h3_decode(in, len, mdr_origin_client_add_cb, c, res);
  if (rv == 0 && res && res->status == MDR_ORIGIN_PROCESSED) c->activated = 1;
  return rv;
}

int mdr_origin_client_on_421(mdr_origin_client *c, const char *origin, size_t len) {
  if (c == NULL || !mdr_origin_is_canonical(origin, len)) return MDR_ERR_INVALID_ARGUMENT;
  if (is_initial(c, origin, len)) {
    c->initial_refused = 1;
    return 0;
  }
  mdr_origin_slot *s = find_slot(c, origin, len);
  if (s == NULL) s = new_slot(c, origin, len);
  if (s == NULL) return MDR_ERR_LIMIT;
  s->refused = 1;
  return 0;
}

int mdr_origin_client_contains(const mdr_origin_client *c, const char *origin, size_t len) {
  if (c == NULL || origin == NULL) return 0;
  if (is_initial(c, origin, len)) return !c->initial_refused;
  const mdr_origin_slot *s = find_slot(c, origin, len);
  return s != NULL && !s->refused;
}

mdr_origin_reuse mdr_origin_client_may_reuse(const mdr_origin_client *c, const char *origin,
                                             size_t len, mdr_origin_covers_fn covers,
                                             void *user) {
  mdr_origin_parts parts;
  if (c == NULL || covers == NULL) return MDR_ORIGIN_REUSE_NO;
  if (mdr_origin_parse(origin, len, &parts) != 0) return MDR_ORIGIN_REUSE_NO;
  if (!covers(user, parts.host.ptr, parts.host.len)) return MDR_ORIGIN_REUSE_NO;
  if (is_initial(c, origin, len)) return c->initial_refused ? MDR_ORIGIN_REUSE_NO : MDR_ORIGIN_REUSE_YES;
  const mdr_origin_slot *s = find_slot(c, origin, len);
  if (s != NULL) return s->refused ? MDR_ORIGIN_REUSE_NO : MDR_ORIGIN_REUSE_YES;
  return c->activated ? MDR_ORIGIN_REUSE_NO : MDR_ORIGIN_REUSE_IF_DNS;
}
