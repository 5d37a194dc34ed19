/* The origin set of a connection: what an ORIGIN frame advertises. */
#include <stdio.h>

#include "internal.h"

int mdr_origin_set_each(const mdr_table *t, mdr_index listener, mdr_index handshake_vhost,
                        mdr_http_version version, mdr_origin_fn fn, void *user) {
  if (!t || !fn || listener >= t->n_listeners) return MDR_ERR_INVALID_ARGUMENT;
  if (version != MDR_HTTP_2 && version != MDR_HTTP_3) return MDR_ERR_INVALID_ARGUMENT;
  const mdri_listener *l = &t->listeners[listener];
  if (!l->tls) return MDR_ERR_WRONG_LISTENER;
  mdr_index h = handshake_vhost == MDR_NONE ? l->default_vhost : handshake_vhost;
  if (h >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
  unsigned bit = version == MDR_HTTP_2 ? MDR_PROTO_H2 : MDR_PROTO_H3;
  int count = 0;
  char buf[8 + MDR_HOST_MAX + 8];
  for (uint32_t vi = 0; vi < t->n_vhosts; vi++) {
    const mdri_vhost *v = &t->vhosts[vi];
    if (!(v->protocols & bit) || !mdr_vhost_on_listener(t, vi, listener)) continue;
    for (uint32_t k = 0; k < v->n_names; k++) {
      const mdri_name *nm = &t->names[v->names_begin + k];
      if (nm->kind == MDRI_NAME_WILD) continue; /* wildcards cannot be listed */
      mdr_reason r = mdri_sni_host_check(t, l, h, vi, nm->host.ptr, nm->host.len,
                                         (mdr_host_kind)nm->host_kind);
      if (r != MDR_REASON_SERVE_HANDSHAKE_VHOST && r != MDR_REASON_SERVE_COALESCED &&
          r != MDR_REASON_SERVE_UNCHECKED)
        continue;
      int n = l->public_port == 443
                  ? snprintf(buf, sizeof buf, "https://%.*s", (int)nm->host.len, nm->host.ptr)
                  : snprintf(buf, sizeof buf, "https://%.*s:%u", (int)nm->host.len, nm->host.ptr,
                             (unsigned)l->public_port);
      if (n < 0 || (size_t)n >= sizeof buf) continue;
      if (count == INT32_MAX) return count;
      count++;
      if (fn(user, buf, (size_t)n)) return count;
    }
  }
  return count;
}
