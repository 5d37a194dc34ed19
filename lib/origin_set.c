/* The origin set of a connection: what an ORIGIN frame advertises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* One walk over the vhosts: the state shared by the passes. */
typedef struct origin_walk {
  const mdr_table *t;
  const mdri_listener *l;
  mdr_index listener, h;
  unsigned bit;                  /* MDR_PROTO_H2 or MDR_PROTO_H3 */
  size_t max;                    /* most origins to enumerate */
  int count;
  int stopped;                   /* fn asked to stop, or the cap was reached */
  mdr_origin_fn fn;
  void *user;
} origin_walk;

/* Enumerate vhost vi's concrete names that the core serves or redirects on
 * this connection. */
static void walk_vhost(origin_walk *w, uint32_t vi) {
  const mdr_table *t = w->t;
  const mdri_vhost *v = &t->vhosts[vi];
  if (!(v->protocols & w->bit) || !mdr_vhost_on_listener(t, vi, w->listener)) return;
  char buf[8 + MDR_HOST_MAX + 8];
  for (uint32_t k = 0; k < v->n_names && !w->stopped; k++) {
    const mdri_name *nm = &t->names[v->names_begin + k];
    if (nm->kind == MDRI_NAME_WILD) continue; /* wildcards cannot be listed */
    mdr_reason r = mdri_sni_host_check(t, w->l, w->h, vi, nm->host.ptr, nm->host.len,
                                       (mdr_host_kind)nm->host_kind, NULL);
    if (r != MDR_REASON_SERVE_HANDSHAKE_VHOST && r != MDR_REASON_SERVE_COALESCED &&
        r != MDR_REASON_SERVE_UNCHECKED)
      continue;
    int n = w->l->public_port == 443
                ? snprintf(buf, sizeof buf, "https://%.*s", (int)nm->host.len, nm->host.ptr)
                : snprintf(buf, sizeof buf, "https://%.*s:%u", (int)nm->host.len, nm->host.ptr,
                           (unsigned)w->l->public_port);
    if (n < 0 || (size_t)n >= sizeof buf) continue;
    w->count++;
    if (w->fn(w->user, buf, (size_t)n) || (size_t)w->count >= w->max || w->count == INT32_MAX)
      w->stopped = 1;
  }
}

/* ---- cover groups --------------------------------------------------------
 *
 * A certificate's wildcard "*.S" covers the names LABEL.S: one label, a dot
 * and S (the certificate probe of lookup.c: the suffix after the name's
 * first dot).  For the certificates the origin set looks into (at most
 * FEW_CERT_NAMES names), the table keeps, per distinct S among their
 * wildcards, the vhosts holding such a name, in table order: a group.  A
 * certificate's wildcard slot names its group, so that the origin set of a
 * connection whose certificate has wildcards looks at those vhosts instead
 * of at every vhost. */

enum { FEW_CERT_NAMES = 256 };

#define COVER_SEED 0x1f83d9abfb41bd6bull

/* The build's map from S to its group: open addressing over cap words (a
 * power of two), 0 = empty, else the group + 1; key[g] is the cert name
 * (its index in cert_names) that made group g. */
typedef struct cover_map {
  uint32_t *word, *key;
  uint32_t cap, n;
} cover_map;

/* The group of S = [p, p+n), made when `add` and it is new; else UINT32_MAX
 * when there is none. */
static uint32_t cover_map_find(const mdr_table *t, cover_map *m, const char *p, size_t n,
                               uint32_t add) {
  uint32_t i = (uint32_t)(mdri_hash_str(p, n, COVER_SEED) >> 32) & (m->cap - 1);
  for (uint32_t e; (e = m->word[i]) != 0; i = (i + 1) & (m->cap - 1)) {
    const mdri_name *k = &t->cert_names[m->key[e - 1]];
    if (k->host.len - 2 == n && memcmp(k->host.ptr + 2, p, n) == 0) return e - 1;
  }
  if (add == UINT32_MAX) return UINT32_MAX;
  m->key[m->n] = add;
  m->word[i] = ++m->n;
  return m->n - 1;
}

/* The group a vhost name is under, or UINT32_MAX. */
static uint32_t name_group(const mdr_table *t, cover_map *m, const mdri_name *nm) {
  if (nm->kind == MDRI_NAME_WILD || nm->host_kind != MDR_HOST_NAME) return UINT32_MAX;
  const char *dot = memchr(nm->host.ptr, '.', nm->host.len);
  if (!dot) return UINT32_MAX;
  size_t d = (size_t)(dot - nm->host.ptr);
  if (d + 1 >= nm->host.len) return UINT32_MAX;
  return cover_map_find(t, m, dot + 1, nm->host.len - d - 1, UINT32_MAX);
}

static int build_groups(mdr_table *t, cover_map *m, uint32_t *of) {
  for (uint32_t c = 0; c < t->n_certs; c++) {
    const mdri_cert *ce = &t->certs[c];
    if (ce->n_names > FEW_CERT_NAMES) continue;
    for (uint32_t k = ce->names_begin; k < ce->names_begin + ce->n_names; k++) {
      const mdri_name *nm = &t->cert_names[k];
      if (nm->kind != MDRI_NAME_WILD) continue;
      uint32_t g = cover_map_find(t, m, nm->host.ptr + 2, nm->host.len - 2, k);
      mdri_cert_wild_set_value(t, c, nm->host.ptr + 2, nm->host.len - 2, g + 1);
    }
  }
  t->n_cover_groups = m->n;
  t->cover_begin = mdri_malloc(&t->mem, ((size_t)m->n + 1) * sizeof *t->cover_begin);
  if (!t->cover_begin) return MDR_ERR_NOMEM;
  memset(t->cover_begin, 0, ((size_t)m->n + 1) * sizeof *t->cover_begin);
  /* Count each group's names (in cover_begin[g + 1]), sum, then list. */
  for (uint32_t k = 0; k < t->n_names; k++)
    if ((of[k] = name_group(t, m, &t->names[k])) != UINT32_MAX) t->cover_begin[of[k] + 1]++;
  for (uint32_t g = 0; g < m->n; g++) t->cover_begin[g + 1] += t->cover_begin[g];
  uint32_t total = t->cover_begin[m->n];
  t->cover_vhosts = mdri_malloc(&t->mem, (size_t)(total ? total : 1) * sizeof *t->cover_vhosts);
  if (!t->cover_vhosts) return MDR_ERR_NOMEM;
  /* m->key is spent: it becomes each group's fill count. */
  memset(m->key, 0, (size_t)m->n * sizeof *m->key);
  for (uint32_t v = 0; v < t->n_vhosts; v++) {
    const mdri_vhost *vh = &t->vhosts[v];
    for (uint32_t k = vh->names_begin; k < vh->names_begin + vh->n_names; k++)
      if (of[k] != UINT32_MAX) t->cover_vhosts[t->cover_begin[of[k]] + m->key[of[k]]++] = v;
  }
  return 0;
}

static int build_cover_groups(mdr_table *t) {
  uint32_t n_wild = 0;
  for (uint32_t c = 0; c < t->n_certs; c++) {
    const mdri_cert *ce = &t->certs[c];
    if (ce->n_names > FEW_CERT_NAMES) continue;
    for (uint32_t k = ce->names_begin; k < ce->names_begin + ce->n_names; k++)
      n_wild += t->cert_names[k].kind == MDRI_NAME_WILD;
  }
  if (!n_wild) return 0;
  cover_map m = { NULL, NULL, 16, 0 };
  while (m.cap < n_wild + n_wild / 2 + 1) m.cap *= 2;
  m.word = mdri_malloc(&t->mem, (size_t)m.cap * sizeof *m.word);
  m.key = mdri_malloc(&t->mem, (size_t)n_wild * sizeof *m.key);
  uint32_t *of = mdri_malloc(&t->mem, (size_t)(t->n_names ? t->n_names : 1) * sizeof *of);
  int rc = MDR_ERR_NOMEM;
  if (m.word && m.key && of) {
    memset(m.word, 0, (size_t)m.cap * sizeof *m.word);
    rc = build_groups(t, &m, of);
  }
  mdri_free(&t->mem, m.word);
  mdri_free(&t->mem, m.key);
  mdri_free(&t->mem, of);
  return rc;
}

/* Each listener's vhosts, when there is more than one listener. */
static int build_listener_vhosts(mdr_table *t) {
  if (t->n_listeners < 2) return 0;
  size_t nb = (size_t)t->n_listeners + 1, refs = 0;
  t->listener_vbegin = mdri_malloc(&t->mem, nb * sizeof *t->listener_vbegin);
  if (!t->listener_vbegin) return MDR_ERR_NOMEM;
  memset(t->listener_vbegin, 0, nb * sizeof *t->listener_vbegin);
  for (uint32_t v = 0; v < t->n_vhosts; v++) refs += t->vhosts[v].n_listeners;
  for (uint32_t v = 0; v < t->n_vhosts; v++)
    for (uint32_t j = 0; j < t->vhosts[v].n_listeners; j++)
      t->listener_vbegin[mdri_vhost_listener(t, &t->vhosts[v], j) + 1]++;
  for (uint32_t l = 0; l < t->n_listeners; l++) t->listener_vbegin[l + 1] += t->listener_vbegin[l];
  t->listener_vhosts = mdri_malloc(&t->mem, (refs ? refs : 1) * sizeof *t->listener_vhosts);
  if (!t->listener_vhosts) return MDR_ERR_NOMEM;
  /* Fill from the front, moving each listener's start as it goes, then
   * move the starts back: vhosts in table order, so each list ascends. */
  for (uint32_t v = 0; v < t->n_vhosts; v++)
    for (uint32_t j = 0; j < t->vhosts[v].n_listeners; j++)
      t->listener_vhosts[t->listener_vbegin[mdri_vhost_listener(t, &t->vhosts[v], j)]++] = v;
  for (uint32_t l = t->n_listeners; l > 0; l--) t->listener_vbegin[l] = t->listener_vbegin[l - 1];
  t->listener_vbegin[0] = 0;
  return 0;
}

int mdri_build_origin_index(mdr_table *t) {
  int rc = build_cover_groups(t);
  return rc ? rc : build_listener_vhosts(t);
}

/* Ascending vhost indexes, for qsort. */
static int cmp_index(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* The vhosts other than H that can have a name in the set, when the
 * certificate says which: on a compatible listener a name of R != H is in
 * the set only if H's certificate covers it, so R holds one of its exact
 * names on this listener (one vhost each at most, looked up) or a name
 * under one of its wildcards (a cover group).  Writes the looked-up vhosts
 * to out (ascending, maybe repeated) and the wildcards' groups to groups;
 * returns how many vhosts it wrote (*n_groups the groups), or -1 when the
 * walk must look at every vhost: more names than the arrays hold. */
static int cert_candidates(const origin_walk *w, uint32_t cert, uint32_t *out,
                           uint32_t *groups, int *n_groups) {
  const mdr_table *t = w->t;
  const mdri_cert *c = &t->certs[cert];
  if (c->n_names > FEW_CERT_NAMES) return -1;
  int n = 0;
  *n_groups = 0;
  for (uint32_t k = 0; k < c->n_names; k++) {
    const mdri_name *nm = &t->cert_names[c->names_begin + k];
    if (nm->kind == MDRI_NAME_WILD) {
      uint32_t g = mdri_cert_wild_value(t, cert, nm->host.ptr + 2, nm->host.len - 2);
      if (g) groups[(*n_groups)++] = g - 1; /* the build made one for each */
      continue;
    }
    int kind;
    mdr_index r = mdri_lookup(t, w->listener, nm->host.ptr, nm->host.len,
                              (mdr_host_kind)nm->host_kind, &kind);
    if (r != MDR_NONE && r != w->h && kind != MDRI_NAME_WILD) out[n++] = r;
  }
  qsort(out, (size_t)n, sizeof *out, cmp_index); /* repeats go in the merge */
  return n;
}

/* A sorted list of vhost indexes being merged: [p, end), not empty. */
typedef struct run {
  const uint32_t *p, *end;
} run;

/* Restore the heap order (smallest head first) of h[0..n) below i. */
static void sift_down(run *h, int n, int i) {
  for (;;) {
    int m = i, l = 2 * i + 1, r = l + 1;
    if (l < n && *h[l].p < *h[m].p) m = l;
    if (r < n && *h[r].p < *h[m].p) m = r;
    if (m == i) return;
    run x = h[i];
    h[i] = h[m];
    h[m] = x;
    i = m;
  }
}

/* One pass (0: the vhosts with H's certificate, 1: the others) over the
 * union of the looked-up vhosts and the cover groups' vhosts, in ascending
 * order, each once, H left out (walked first): a heap merge of the sorted
 * lists, which costs their length times the logarithm of their number. */
static void walk_candidates(origin_walk *w, int pass, const uint32_t *cand, int n,
                            const uint32_t *groups, int n_groups) {
  const mdr_table *t = w->t;
  uint32_t cert = t->vhosts[w->h].cert;
  run h[FEW_CERT_NAMES + 1];
  int nh = 0;
  if (n) h[nh++] = (run){ cand, cand + n };
  for (int g = 0; g < n_groups; g++) {
    const uint32_t *b = t->cover_vhosts + t->cover_begin[groups[g]];
    const uint32_t *e = t->cover_vhosts + t->cover_begin[groups[g] + 1];
    if (b < e) h[nh++] = (run){ b, e };
  }
  for (int i = nh / 2 - 1; i >= 0; i--) sift_down(h, nh, i);
  while (nh && !w->stopped) {
    uint32_t v = *h[0].p;
    do { /* every list whose head is v moves past it */
      while (h[0].p < h[0].end && *h[0].p == v) h[0].p++;
      if (h[0].p == h[0].end) h[0] = h[--nh];
      sift_down(h, nh, 0);
    } while (nh && *h[0].p == v);
    if (v != w->h && (t->vhosts[v].cert == cert) == (pass == 0)) walk_vhost(w, v);
  }
}

static int origin_set(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                      mdr_http_version version, const mdr_origin_set_options *opts,
                      mdr_origin_fn fn, void *user, int walk_all) {
  if (!t || !fn || listener >= t->n_listeners) return MDR_ERR_INVALID_ARGUMENT;
  if (version != MDR_HTTP_2 && version != MDR_HTTP_3) return MDR_ERR_INVALID_ARGUMENT;
  const mdri_listener *l = &t->listeners[listener];
  if (!l->tls) return MDR_ERR_WRONG_LISTENER;
  mdr_index h = handshake_vhost == MDR_NONE ? l->default_vhost : handshake_vhost;
  if (h >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
  origin_walk w = {t, l, listener, h, version == MDR_HTTP_2 ? MDR_PROTO_H2 : MDR_PROTO_H3,
                   opts && opts->max_origins ? opts->max_origins : MDR_ORIGIN_SET_DEFAULT_MAX,
                   0, 0, fn, user};
  /* Most wanted first, so that a cap keeps what matters: the connection's
   * own vhost, then the vhosts on its certificate (what a client most
   * likely coalesces), then the others, each group in table order. */
  uint32_t cert = t->vhosts[h].cert;
  walk_vhost(&w, h);
  /* Where the rules let no other vhost onto H's connection (sni-host=strict,
   * or compatible without a certificate for H), or name all that may come
   * (a certificate of at most 256 names: its exact names looked up, its
   * wildcards' cover groups), the walk skips the vhosts that could not add
   * a name: the same origins in the same order, without looking at every
   * vhost of the table for each connection. */
  if (!walk_all && (l->sni_host == MDR_SNI_HOST_STRICT ||
                    (l->sni_host == MDR_SNI_HOST_COMPATIBLE && cert == MDR_NONE)))
    return w.count;
  if (!walk_all && l->sni_host == MDR_SNI_HOST_COMPATIBLE) {
    uint32_t cand[FEW_CERT_NAMES], groups[FEW_CERT_NAMES];
    int n_groups;
    int n = cert_candidates(&w, cert, cand, groups, &n_groups);
    if (n >= 0) {
      for (int pass = 0; pass < 2; pass++) walk_candidates(&w, pass, cand, n, groups, n_groups);
      return w.count;
    }
  }
  /* Every vhost on the listener (the full walk: every vhost of the table). */
  const uint32_t *on = NULL;
  uint32_t n_on = t->n_vhosts;
  if (!walk_all && t->listener_vhosts) {
    on = t->listener_vhosts + t->listener_vbegin[listener];
    n_on = t->listener_vbegin[listener + 1] - t->listener_vbegin[listener];
  }
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t k = 0; k < n_on && !w.stopped; k++) {
      uint32_t vi = on ? on[k] : k;
      int same = cert != MDR_NONE && t->vhosts[vi].cert == cert;
      if (vi != h && same == (pass == 0)) walk_vhost(&w, vi);
    }
  }
  return w.count;
}

int mdr_origin_set_each2(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                         mdr_http_version version, const mdr_origin_set_options *opts,
                         mdr_origin_fn fn, void *user) {
  return origin_set(t, listener, handshake_vhost, version, opts, fn, user, 0);
}

int mdri_origin_set_walk_all(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                             mdr_http_version version, const mdr_origin_set_options *opts,
                             mdr_origin_fn fn, void *user) {
  return origin_set(t, listener, handshake_vhost, version, opts, fn, user, 1);
}

int mdr_origin_set_each(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                        mdr_http_version version, mdr_origin_fn fn, void *user) {
  return mdr_origin_set_each2(t, listener, handshake_vhost, version, NULL, fn, user);
}
