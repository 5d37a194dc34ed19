/* The origin set of a connection: what an ORIGIN frame advertises. */
#include <stdint.h>
#include <stdio.h>

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

/* The vhosts other than H that can have a name in the set, when a few
 * lookups find them all: on a compatible listener a name of R != H is in
 * the set only if H's certificate covers it, so when that certificate
 * lists exact names only, the vhosts holding those names on this listener
 * (one each at most) are all there is.  Returns how many were written to
 * out (ascending, no repeats), or -1 when the walk must look at every
 * vhost: a wildcard among the names, or more names than out holds. */
enum { FEW_CERT_NAMES = 64 };
static int exact_cert_candidates(const origin_walk *w, uint32_t cert, uint32_t *out) {
  const mdr_table *t = w->t;
  const mdri_cert *c = &t->certs[cert];
  if (c->n_names > FEW_CERT_NAMES) return -1;
  int n = 0;
  for (uint32_t k = 0; k < c->n_names; k++) {
    const mdri_name *nm = &t->cert_names[c->names_begin + k];
    if (nm->kind == MDRI_NAME_WILD) return -1;
    int kind;
    mdr_index r = mdri_lookup(t, w->listener, nm->host.ptr, nm->host.len,
                              (mdr_host_kind)nm->host_kind, &kind);
    if (r == MDR_NONE || r == w->h || kind == MDRI_NAME_WILD) continue;
    /* insert in order, once */
    int j = n;
    while (j > 0 && out[j - 1] > r) j--;
    if (j > 0 && out[j - 1] == r) continue;
    for (int m = n; m > j; m--) out[m] = out[m - 1];
    out[j] = r;
    n++;
  }
  return n;
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
   * (a certificate of exact names), the walk skips the vhosts that could
   * not add a name: the same origins in the same order, without looking at
   * every vhost of the table for each connection. */
  if (!walk_all && (l->sni_host == MDR_SNI_HOST_STRICT ||
                    (l->sni_host == MDR_SNI_HOST_COMPATIBLE && cert == MDR_NONE)))
    return w.count;
  if (!walk_all && l->sni_host == MDR_SNI_HOST_COMPATIBLE) {
    uint32_t cand[FEW_CERT_NAMES];
    int n = exact_cert_candidates(&w, cert, cand);
    if (n >= 0) {
      for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < n && !w.stopped; k++)
          if ((t->vhosts[cand[k]].cert == cert) == (pass == 0)) walk_vhost(&w, cand[k]);
      return w.count;
    }
  }
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t vi = 0; vi < t->n_vhosts && !w.stopped; vi++) {
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
