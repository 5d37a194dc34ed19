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

int mdr_origin_set_each2(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                         mdr_http_version version, const mdr_origin_set_options *opts,
                         mdr_origin_fn fn, void *user) {
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
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t vi = 0; vi < t->n_vhosts && !w.stopped; vi++) {
      int same = cert != MDR_NONE && t->vhosts[vi].cert == cert;
      if (vi != h && same == (pass == 0)) walk_vhost(&w, vi);
    }
  }
  return w.count;
}

int mdr_origin_set_each(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                        mdr_http_version version, mdr_origin_fn fn, void *user) {
  return mdr_origin_set_each2(t, listener, handshake_vhost, version, NULL, fn, user);
}
