/* Internals shared by the lint's files (lint.c: the driver, the checks and
 * the messages; lint_coalesce.c: the coalescing check).  Not installed. */
#ifndef MISDIRECT_LINT_H
#define MISDIRECT_LINT_H

#include "internal.h"

/* ---- records ------------------------------------------------------------- */

/* Siblings a grouped coalescing finding names besides `other`. */
#define COAL_MORE 2

/* One finding before formatting.  `aux` is check-specific: the cert
 * (coalescing, coverage), the count of other vhosts (default-stricter,
 * sni-host-ignore-client-auth), the name index (redirects), the cert name's
 * cert (name-not-canonical), the policy (client-auth-no-ca) or the first
 * listener of the port (duplicate-listener-port); `aux2` the count of
 * siblings (coalescing) or why the CA file cannot be used. */
typedef struct rec {
  uint32_t line;
  uint32_t id;
  uint32_t seq;
  uint32_t listener, vhost, other;
  uint32_t aux, aux2;
  uint32_t more[COAL_MORE]; /* coalescing: the second and third siblings named */
  uint32_t keep;            /* coalescing: reported on this vhost */
  mdr_str name;
} rec;

typedef struct lint {
  const mdr_table *t;
  const mdr_mem *m;
  mdr_lint_options o;
  rec *recs;
  size_t n_recs, cap_recs;
  /* vhosts on each listener: lv[lv_begin[l] .. lv_begin[l + 1]) */
  uint32_t *lv_begin;
  uint32_t *lv;
} lint;

/* Record a finding (0 or MDR_ERR_NOMEM). */
int mdri_lint_add(lint *x, mdr_lint_id id, uint32_t line, uint32_t l, uint32_t v, uint32_t o,
                  mdr_str name, uint32_t aux, uint32_t aux2);
#define add mdri_lint_add

#define no_name ((mdr_str){ "", 0 })

static inline mdr_str vname(const mdr_table *t, uint32_t v, uint32_t i) {
  return t->names[t->vhosts[v].names_begin + i].host;
}

/* Order of strictness of a policy (lint's own notion, see docs/lint.md):
 * a is stricter than b when it is at least as strict in client-auth and
 * min-tls and stricter in one of them.  A CA set alone is not compared. */
static inline int policy_stricter(const mdri_policy *a, const mdri_policy *b) {
  if (a->client_auth < b->client_auth || a->min_tls < b->min_tls) return 0;
  return a->client_auth > b->client_auth || a->min_tls > b->min_tls;
}

/* A total rank used only to pick which side of a coalescing pair a finding
 * is reported on (the stricter one). */
static inline unsigned policy_rank(const mdri_policy *p) {
  return (unsigned)p->client_auth * 4u + (unsigned)p->min_tls * 2u + (p->ca_file.len || p->ca_identity.len);
}

/* ---- checks in other files -------------------------------------------- */

/* coalesce-policy-mismatch (lint_coalesce.c); needs the listener lists. */
int mdri_lint_coalesce(lint *x);

#endif
