/* coalesce-policy-mismatch: the vhosts whose names a certificate on a TLS
 * listener covers, reached on connections of vhosts with another policy.
 * One finding per vhost reached and listener (issue 12): the vhosts of a
 * (listener, cert) group are sorted by policy class, so the siblings of
 * another class are counted from the class runs, never paired one by one;
 * time and output are linear in the table. */
#include <limits.h>
#include <stdlib.h>

#include "lint.h"

/* ---- coalescing ---------------------------------------------------------- */

/* A DNS name (or wildcard) on a listener, keyed by its parent domain (the
 * part after the first label), for the names under a cert's "*.x". */
typedef struct pent {
  uint32_t listener;
  uint32_t vhost;
  mdr_str parent;
} pent;

static int pent_cmp(const void *pa, const void *pb) {
  const pent *a = pa, *b = pb;
  if (a->listener != b->listener) return a->listener < b->listener ? -1 : 1;
  size_t n = a->parent.len < b->parent.len ? a->parent.len : b->parent.len;
  int c = n ? memcmp(a->parent.ptr, b->parent.ptr, n) : 0;
  if (c) return c;
  if (a->parent.len != b->parent.len) return a->parent.len < b->parent.len ? -1 : 1;
  return a->vhost < b->vhost ? -1 : a->vhost > b->vhost;
}

static mdr_str parent_of(mdr_str h) {
  const char *dot = memchr(h.ptr, '.', h.len);
  mdr_str p = { "", 0 };
  if (dot) {
    p.ptr = dot + 1;
    p.len = h.len - (size_t)(dot + 1 - h.ptr);
  }
  return p;
}

/* vhosts on a listener grouped by (cert, policy class). */
typedef struct cgent {
  uint32_t cert, klass, vhost;
} cgent;

static int cgent_cmp(const void *pa, const void *pb) {
  const cgent *a = pa, *b = pb;
  if (a->cert != b->cert) return a->cert < b->cert ? -1 : 1;
  if (a->klass != b->klass) return a->klass < b->klass ? -1 : 1;
  return a->vhost < b->vhost ? -1 : a->vhost > b->vhost;
}

/* A vhost reached on the connections of a (listener, cert) group, through
 * the cert name `name`. */
typedef struct reach {
  uint32_t vhost;
  mdr_str name;
} reach;

typedef struct coal {
  lint *x;
  uint32_t l;
  const cgent *grp;    /* the vhosts with cert C on l, by class */
  size_t n_grp;
  uint32_t *stamp;     /* per vhost: the (l, C) visit that last reached it */
  uint32_t visit;
  uint32_t cert;
  reach *reached;      /* the vhosts reached in this visit, once each */
  size_t n_reached, cap_reached;
  uint32_t *rec_of;    /* per vhost: its finding on listener l (rec index) */
  uint32_t *rec_l;     /* per vhost: l + 1 when rec_of is for listener l */
} coal;

/* R is reachable on a connection of cert C through `name` (once per visit). */
static int coal_reach(coal *co, uint32_t r, mdr_str name) {
  if (r == MDR_NONE || co->stamp[r] == co->visit) return 0;
  co->stamp[r] = co->visit;
  if (co->n_reached == co->cap_reached &&
      mdri_grow(co->x->m, (void **)&co->reached, &co->cap_reached, co->n_reached + 1,
                sizeof *co->reached))
    return MDR_ERR_NOMEM;
  co->reached[co->n_reached].vhost = r;
  co->reached[co->n_reached].name = name;
  co->n_reached++;
  return 0;
}

/* [lo, hi): the run of class k in the group (sorted by class). */
static void class_run(const coal *co, uint32_t k, size_t *lo_out, size_t *hi_out) {
  size_t lo = 0, hi = co->n_grp;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (co->grp[mid].klass < k) lo = mid + 1; else hi = mid;
  }
  size_t a = lo, b = co->n_grp;
  while (a < b) {
    size_t mid = a + (b - a) / 2;
    if (co->grp[mid].klass <= k) a = mid + 1; else b = mid;
  }
  *lo_out = lo;
  *hi_out = a;
}

/* After a visit: every vhost R reached gets (or adds to) its one finding on
 * the listener, counting the group's vhosts of other classes, whose
 * connections coalesce into R, and naming the first few.  R's finding is
 * kept only when some of them is not reported the other way round: a
 * sibling S is, when S is stricter than R (lint's rank), R has the same cert
 * (so S's names are reached on R's connections) and S was reached too.
 * So a pair is reported once, on the stricter vhost, whenever the two
 * reach each other; vhosts of equal rank (another CA set) are both
 * reported.  Linear in the group and the vhosts reached. */
static int coal_visit_done(coal *co) {
  lint *x = co->x;
  const mdr_table *t = x->t;
  /* The two smallest keys of distinct classes, key = the sibling's rank,
   * or -1 when it was not reached (so its pair is never reported on it). */
  long k1 = LONG_MAX, k2 = LONG_MAX;
  uint32_t c1 = MDR_NONE;
  for (size_t i = 0; i < co->n_grp; i++) {
    uint32_t s = co->grp[i].vhost;
    long key = co->stamp[s] == co->visit ? (long)policy_rank(&t->policies[t->vhosts[s].policy]) : -1;
    uint32_t k = co->grp[i].klass;
    if (key < k1) {
      if (k != c1) k2 = k1;
      k1 = key;
      c1 = k;
    } else if (k != c1 && key < k2) {
      k2 = key;
    }
  }
  for (size_t i = 0; i < co->n_reached; i++) {
    uint32_t r = co->reached[i].vhost;
    uint32_t rk = mdri_vhost_class(t, r);
    size_t lo, hi;
    class_run(co, rk, &lo, &hi);
    size_t n_other = co->n_grp - (hi - lo);
    if (n_other == 0) continue;
    long rank = (long)policy_rank(&t->policies[t->vhosts[r].policy]);
    long least_other = c1 != rk ? k1 : k2;
    int keep = t->vhosts[r].cert != co->cert || least_other <= rank;
    rec *f;
    if (co->rec_l[r] == co->l + 1) {
      f = &x->recs[co->rec_of[r]];
    } else {
      int rc = add(x, MDR_LINT_COALESCE_POLICY, mdri_vhost_line(t, r), co->l, r, MDR_NONE,
                   co->reached[i].name, co->cert, 0);
      if (rc) return rc;
      f = &x->recs[x->n_recs - 1];
      f->more[0] = f->more[1] = MDR_NONE;
      f->keep = 0;
      co->rec_l[r] = co->l + 1;
      co->rec_of[r] = (uint32_t)(x->n_recs - 1);
    }
    f->keep |= (uint32_t)keep;
    /* count (saturating) and the first siblings, in group order */
    f->aux2 = (uint32_t)(f->aux2 + n_other < f->aux2 || n_other > UINT32_MAX ? UINT32_MAX
                                                                            : f->aux2 + n_other);
    for (size_t g = 0; g < co->n_grp; g++) {
      if (g == lo) g = hi;
      if (g >= co->n_grp) break;
      uint32_t *slot = f->other == MDR_NONE ? &f->other
                       : f->more[0] == MDR_NONE ? &f->more[0]
                       : f->more[1] == MDR_NONE ? &f->more[1]
                                                : NULL;
      if (!slot) break;
      *slot = co->grp[g].vhost;
    }
  }
  co->n_reached = 0;
  return 0;
}

int mdri_lint_coalesce(lint *x) {
  const mdr_table *t = x->t;
  int rc = MDR_ERR_NOMEM;
  size_t first_rec = x->n_recs;
  size_t n_pent = 0, max_on = 0;
  for (uint32_t l = 0; l < t->n_listeners; l++) {
    size_t on = x->lv_begin[l + 1] - x->lv_begin[l];
    if (on > max_on) max_on = on;
    if (!t->listeners[l].tls || t->listeners[l].sni_host != MDR_SNI_HOST_COMPATIBLE) continue;
    for (uint32_t k = x->lv_begin[l]; k < x->lv_begin[l + 1]; k++) n_pent += t->vhosts[x->lv[k]].n_names;
  }
  coal co;
  memset(&co, 0, sizeof co);
  pent *pe = mdri_malloc(x->m, (n_pent + 1) * sizeof *pe);
  cgent *cg = mdri_malloc(x->m, (max_on + 1) * sizeof *cg);
  uint32_t *stamp = mdri_malloc(x->m, ((size_t)t->n_vhosts + 1) * sizeof *stamp);
  co.rec_of = mdri_malloc(x->m, ((size_t)t->n_vhosts + 1) * sizeof *co.rec_of);
  co.rec_l = mdri_malloc(x->m, ((size_t)t->n_vhosts + 1) * sizeof *co.rec_l);
  if (!pe || !cg || !stamp || !co.rec_of || !co.rec_l) goto out;
  memset(stamp, 0, ((size_t)t->n_vhosts + 1) * sizeof *stamp);
  memset(co.rec_l, 0, ((size_t)t->n_vhosts + 1) * sizeof *co.rec_l);
  n_pent = 0;
  for (uint32_t l = 0; l < t->n_listeners; l++) {
    if (!t->listeners[l].tls || t->listeners[l].sni_host != MDR_SNI_HOST_COMPATIBLE) continue;
    for (uint32_t k = x->lv_begin[l]; k < x->lv_begin[l + 1]; k++) {
      uint32_t v = x->lv[k];
      for (uint32_t i = 0; i < t->vhosts[v].n_names; i++) {
        const mdri_name *nm = &t->names[t->vhosts[v].names_begin + i];
        if (nm->host_kind != MDR_HOST_NAME) continue;
        pe[n_pent].listener = l;
        pe[n_pent].vhost = v;
        pe[n_pent].parent = parent_of(nm->host);
        n_pent++;
      }
    }
  }
  qsort(pe, n_pent, sizeof *pe, pent_cmp);

  co.x = x;
  co.stamp = stamp;
  for (uint32_t l = 0; l < t->n_listeners; l++) {
    if (!t->listeners[l].tls || t->listeners[l].sni_host != MDR_SNI_HOST_COMPATIBLE) continue;
    size_t n = 0;
    for (uint32_t k = x->lv_begin[l]; k < x->lv_begin[l + 1]; k++) {
      uint32_t v = x->lv[k];
      cg[n].cert = t->vhosts[v].cert;
      cg[n].klass = mdri_vhost_class(t, v);
      cg[n].vhost = v;
      n++;
    }
    qsort(cg, n, sizeof *cg, cgent_cmp);
    /* the names of l in pe */
    size_t lo = 0, hi = n_pent;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (pe[mid].listener < l) lo = mid + 1; else hi = mid;
    }
    size_t pl_begin = lo;
    for (size_t g = 0; g < n;) {
      size_t ge = g;
      while (ge < n && cg[ge].cert == cg[g].cert) ge++;
      uint32_t c = cg[g].cert;
      /* The walk below is linear in the cert's names and the names under
       * its wildcards on l. */
      if (c != MDR_NONE) {
        co.l = l;
        co.grp = cg + g;
        co.n_grp = ge - g;
        co.cert = c;
        co.visit++;
        const mdri_cert *ce = &t->certs[c];
        for (uint32_t i = 0; i < ce->n_names; i++) {
          const mdri_name *cn = &t->cert_names[ce->names_begin + i];
          if (cn->kind != MDRI_NAME_WILD) {
            int kind;
            uint32_t r = mdri_lookup(t, l, cn->host.ptr, cn->host.len, (mdr_host_kind)cn->host_kind, &kind);
            if ((rc = coal_reach(&co, r, cn->host))) goto out;
            continue;
          }
          /* "*.x": every name on l whose parent is x (y.x and *.x). */
          pent k2 = { l, 0, { cn->host.ptr + 2, cn->host.len - 2 } };
          size_t a = pl_begin, b = n_pent;
          while (a < b) {
            size_t mid = a + (b - a) / 2;
            k2.vhost = 0;
            if (pent_cmp(&pe[mid], &k2) < 0) a = mid + 1; else b = mid;
          }
          for (size_t j = a; j < n_pent && pe[j].listener == l && mdri_str_eq(pe[j].parent, k2.parent); j++) {
            uint32_t r = pe[j].vhost;
            if (stamp[r] == co.visit) continue;
            /* name it by the vhost's own name under x */
            mdr_str shown = cn->host;
            const mdri_vhost *rv = &t->vhosts[r];
            for (uint32_t q = 0; q < rv->n_names; q++) {
              mdr_str h = t->names[rv->names_begin + q].host;
              if (t->names[rv->names_begin + q].host_kind == MDR_HOST_NAME && mdri_str_eq(parent_of(h), k2.parent)) {
                shown = h;
                break;
              }
            }
            if ((rc = coal_reach(&co, r, shown))) goto out;
          }
        }
        if ((rc = coal_visit_done(&co))) goto out;
      }
      g = ge;
    }
  }
  /* Drop the findings whose every pair is reported on the other vhost. */
  {
    size_t w = first_rec;
    for (size_t i = first_rec; i < x->n_recs; i++)
      if (x->recs[i].keep) x->recs[w++] = x->recs[i];
    x->n_recs = w;
  }
  rc = 0;
out:
  mdri_free(x->m, pe);
  mdri_free(x->m, cg);
  mdri_free(x->m, stamp);
  mdri_free(x->m, co.reached);
  mdri_free(x->m, co.rec_of);
  mdri_free(x->m, co.rec_l);
  return rc;
}

