/* Configuration lint (mdr_table_lint): checks a frozen table for the
 * configurations listed in MDR_LINT_MAP.
 *
 * Every check is linear (or n log n) in the size of the table: per-listener
 * vhost lists are built by counting sort, certificate coverage and name
 * lookups use the table's hash index (mdri_cert_covers, mdri_lookup), and
 * the names under a certificate's wildcard are found by binary search in a
 * sorted array.  Findings are collected as small records, sorted (source
 * line, id, collection order) and only then formatted, so the order is
 * deterministic and the messages are built one at a time.
 *
 * The redirect checks do not re-implement rule 9: they run the core itself
 * (mdr_handshake + mdr_decide) on a request for every configured name and
 * follow the Location it returns, at most MAX_HOPS times. */
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "lint.h"

static const char *const lint_tokens[] = {
#define MDR_X_(e, id, why, fix) id,
  MDR_LINT_MAP(MDR_X_)
#undef MDR_X_
};
static const char *const lint_whys[] = {
#define MDR_X_(e, id, why, fix) why,
  MDR_LINT_MAP(MDR_X_)
#undef MDR_X_
};
static const char *const lint_fixes[] = {
#define MDR_X_(e, id, why, fix) fix,
  MDR_LINT_MAP(MDR_X_)
#undef MDR_X_
};

const char *mdr_lint_token(mdr_lint_id id) {
  return (unsigned)id < MDR_LINT_COUNT_ ? lint_tokens[id] : "unknown";
}
const char *mdr_lint_why(mdr_lint_id id) {
  return (unsigned)id < MDR_LINT_COUNT_ ? lint_whys[id] : "unknown lint id";
}
const char *mdr_lint_fix(mdr_lint_id id) {
  return (unsigned)id < MDR_LINT_COUNT_ ? lint_fixes[id] : "unknown lint id";
}

/* ---- records ------------------------------------------------------------- */

int mdri_lint_add(lint *x, mdr_lint_id id, uint32_t line, uint32_t l, uint32_t v, uint32_t o,
                  mdr_str name, uint32_t aux, uint32_t aux2) {
  if (x->n_recs >= INT32_MAX) return 0; /* the count must fit the return value */
  if (x->n_recs == x->cap_recs &&
      mdri_grow(x->m, (void **)&x->recs, &x->cap_recs, x->n_recs + 1, sizeof *x->recs))
    return MDR_ERR_NOMEM;
  rec *r = &x->recs[x->n_recs];
  r->line = line;
  r->id = (uint32_t)id;
  r->seq = (uint32_t)x->n_recs;
  r->listener = l;
  r->vhost = v;
  r->other = o;
  r->aux = aux;
  r->aux2 = aux2;
  r->more[0] = r->more[1] = MDR_NONE;
  r->keep = 0;
  r->name = name;
  x->n_recs++;
  return 0;
}

/* ---- per-listener vhost lists ---------------------------------------------- */

static int build_listener_lists(lint *x) {
  const mdr_table *t = x->t;
  size_t total = 0;
  for (uint32_t v = 0; v < t->n_vhosts; v++) total += t->vhosts[v].n_listeners;
  x->lv_begin = mdri_malloc(x->m, ((size_t)t->n_listeners + 1) * sizeof *x->lv_begin);
  x->lv = mdri_malloc(x->m, (total + 1) * sizeof *x->lv);
  if (!x->lv_begin || !x->lv) return MDR_ERR_NOMEM;
  memset(x->lv_begin, 0, ((size_t)t->n_listeners + 1) * sizeof *x->lv_begin);
  for (uint32_t v = 0; v < t->n_vhosts; v++)
    for (uint32_t j = 0; j < t->vhosts[v].n_listeners; j++) x->lv_begin[mdri_vhost_listener(t, &t->vhosts[v], j) + 1]++;
  for (uint32_t l = 0; l < t->n_listeners; l++) x->lv_begin[l + 1] += x->lv_begin[l];
  /* Fill in vhost order (stable), using lv_begin[l] as a cursor, then shift back. */
  for (uint32_t v = 0; v < t->n_vhosts; v++)
    for (uint32_t j = 0; j < t->vhosts[v].n_listeners; j++) x->lv[x->lv_begin[mdri_vhost_listener(t, &t->vhosts[v], j)]++] = v;
  for (uint32_t l = t->n_listeners; l > 0; l--) x->lv_begin[l] = x->lv_begin[l - 1];
  x->lv_begin[0] = 0;
  return 0;
}

/* ---- coverage and names -------------------------------------------------- */

static int check_names(lint *x) {
  const mdr_table *t = x->t;
  for (uint32_t v = 0; v < t->n_vhosts; v++) {
    const mdri_vhost *vh = &t->vhosts[v];
    uint32_t line = mdri_vhost_line(t, v);
    int on_tls = vh->first_tls_listener != MDR_NONE;
    int rc;
    for (uint32_t i = 0; i < vh->n_names; i++) {
      const mdri_name *nm = &t->names[vh->names_begin + i];
      if (nm->flags & (MDRI_NAMEF_UPPER | MDRI_NAMEF_DOT | MDRI_NAMEF_FORM))
        if ((rc = add(x, MDR_LINT_NAME_NOT_CANONICAL, line, MDR_NONE, v, MDR_NONE, nm->host,
                      MDR_NONE, i)))
          return rc;
      if (!on_tls) continue;
      /* A wildcard "*.x" is only covered by the cert name "*.x": probing
       * the stored "*.x" finds no exact key (none holds '*'), and its
       * wildcard probe is exactly that cert name. */
      if (!mdri_cert_covers(t, vh->cert, nm->host.ptr, nm->host.len, (mdr_host_kind)nm->host_kind))
        if ((rc = add(x, nm->kind == MDRI_NAME_ALIAS ? MDR_LINT_ALIAS_NOT_COVERED : MDR_LINT_NAME_NOT_COVERED,
                      line, vh->first_tls_listener, v, MDR_NONE, nm->host, vh->cert, i)))
          return rc;
      if (nm->kind == MDRI_NAME_WILD && (vh->protocols & (MDR_PROTO_H2 | MDR_PROTO_H3)))
        if ((rc = add(x, MDR_LINT_WILDCARD_NOT_ADVERTISED, line, vh->first_tls_listener, v, MDR_NONE,
                      nm->host, MDR_NONE, i)))
          return rc;
    }
    if (vh->http == MDR_HTTP_REDIRECT && !on_tls)
      if ((rc = add(x, MDR_LINT_REDIRECT_NO_TLS, line, vh->n_listeners ? mdri_vhost_listener(t, vh, 0) : MDR_NONE,
                    v, MDR_NONE, vname(t, v, 0), MDR_NONE, 0)))
        return rc;
  }
  for (uint32_t c = 0; c < t->n_certs; c++) {
    const mdri_cert *ce = &t->certs[c];
    for (uint32_t i = 0; i < ce->n_names; i++) {
      const mdri_name *nm = &t->cert_names[ce->names_begin + i];
      if (nm->flags & (MDRI_NAMEF_UPPER | MDRI_NAMEF_DOT | MDRI_NAMEF_FORM)) {
        int rc = add(x, MDR_LINT_NAME_NOT_CANONICAL, mdri_cert_line(t, c), MDR_NONE, MDR_NONE,
                     MDR_NONE, nm->host, c, i);
        if (rc) return rc;
      }
    }
  }
  return 0;
}

/* Wildcard-only lookup of a concrete DNS name y.x on a listener: the vhost
 * owning "*.x", or MDR_NONE.  Looking up "*.x" makes the exact probe miss. */
static uint32_t wildcard_owner(const mdr_table *t, uint32_t l, mdr_str host) {
  const char *dot = memchr(host.ptr, '.', host.len);
  if (!dot || dot == host.ptr) return MDR_NONE;
  char buf[MDR_HOST_MAX + 2];
  size_t rest = host.len - (size_t)(dot - host.ptr);
  if (rest + 1 > sizeof buf) return MDR_NONE;
  buf[0] = '*';
  memcpy(buf + 1, dot, rest);
  int kind;
  return mdri_lookup(t, l, buf, rest + 1, MDR_HOST_NAME, &kind);
}

static int check_shadow(lint *x) {
  const mdr_table *t = x->t;
  for (uint32_t e = 0; e < t->n_vhosts; e++) {
    const mdri_vhost *vh = &t->vhosts[e];
    if (vh->first_tls_listener == MDR_NONE) continue;
    for (uint32_t i = 0; i < vh->n_names; i++) {
      const mdri_name *nm = &t->names[vh->names_begin + i];
      if (nm->kind == MDRI_NAME_WILD || nm->host_kind != MDR_HOST_NAME) continue;
      for (uint32_t j = 0; j < vh->n_listeners; j++) {
        uint32_t l = mdri_vhost_listener(t, vh, j);
        if (!t->listeners[l].tls) continue;
        uint32_t w = wildcard_owner(t, l, nm->host);
        if (w == MDR_NONE || w == e || mdri_vhost_class(t, w) == mdri_vhost_class(t, e)) continue;
        int rc = add(x, MDR_LINT_WILDCARD_SHADOW, mdri_vhost_line(t, e), l, e, w, nm->host,
                     MDR_NONE, i);
        if (rc) return rc;
        break; /* one finding per name */
      }
    }
  }
  return 0;
}

static int check_default(lint *x) {
  const mdr_table *t = x->t;
  for (uint32_t l = 0; l < t->n_listeners; l++) {
    const mdri_listener *li = &t->listeners[l];
    if (!li->tls || li->default_vhost == MDR_NONE) continue;
    if (li->unknown_host != MDR_UNKNOWN_HOST_DEFAULT && li->unknown_sni != MDR_UNKNOWN_SNI_DEFAULT)
      continue;
    const mdri_policy *dp = &t->policies[t->vhosts[li->default_vhost].policy];
    uint32_t first = MDR_NONE, count = 0;
    for (uint32_t k = x->lv_begin[l]; k < x->lv_begin[l + 1]; k++) {
      uint32_t v = x->lv[k];
      if (v == li->default_vhost) continue;
      if (policy_stricter(dp, &t->policies[t->vhosts[v].policy])) {
        if (first == MDR_NONE) first = v;
        count++;
      }
    }
    if (first != MDR_NONE) {
      int rc = add(x, MDR_LINT_DEFAULT_STRICTER, mdri_listener_line(t, l), l, li->default_vhost,
                   first, no_name, count, 0);
      if (rc) return rc;
    }
  }
  return 0;
}

/* ---- policies, sni-host=ignore, listener ports --------------------------- */

/* Resolve a ca-file= against base_dir into buf; 0 when it does not fit. */
static size_t ca_path(const lint *x, mdr_str file, char *buf, size_t cap) {
  mdr_str base = x->o.base_dir;
  size_t n = 0;
  if (file.len && file.ptr[0] != '/' && base.len) {
    if (base.len + 1 >= cap) return 0;
    memcpy(buf, base.ptr, base.len);
    n = base.len;
    if (buf[n - 1] != '/') buf[n++] = '/';
  }
  if (n + file.len + 1 > cap) return 0;
  memcpy(buf + n, file.ptr, file.len);
  n += file.len;
  buf[n] = '\0';
  return n;
}

/* Why a CA file cannot be used, as a CA_* code (0 = it can be read). */
enum { CA_MISSING = 1, CA_EMPTY, CA_TOO_LONG, CA_ERRNO_BASE = 16 };

static uint32_t ca_unreadable(const lint *x, mdr_str file) {
  char path[4096];
  if (!ca_path(x, file, path, sizeof path)) return CA_TOO_LONG;
  errno = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return CA_ERRNO_BASE + (uint32_t)(errno > 0 ? errno : 0);
  int c = getc(f);
  int e = ferror(f) ? errno : 0;
  fclose(f);
  if (c != EOF) return 0;
  return e ? CA_ERRNO_BASE + (uint32_t)e : CA_EMPTY;
}

static const char *errno_text(int e) {
  switch (e) {
  case ENOENT: return "not found";
  case EACCES: return "permission denied";
  case EISDIR: return "a directory";
  case ELOOP: return "a symlink loop";
  case ENOTDIR: return "a path component is not a directory";
  default: return "cannot be opened";
  }
}

/* client-auth-no-ca: once per policy that a vhost uses, on its line. */
static int check_policies(lint *x) {
  const mdr_table *t = x->t;
  uint32_t *first = mdri_malloc(x->m, (size_t)t->n_policies * sizeof *first);
  if (!first) return MDR_ERR_NOMEM;
  for (uint32_t p = 0; p < t->n_policies; p++) first[p] = MDR_NONE;
  for (uint32_t v = t->n_vhosts; v > 0; v--) first[t->vhosts[v - 1].policy] = v - 1;
  int rc = 0;
  for (uint32_t p = 1; p < t->n_policies && !rc; p++) {
    const mdri_policy *po = &t->policies[p];
    if (first[p] == MDR_NONE || po->client_auth == MDR_CLIENT_AUTH_NONE) continue;
    uint32_t why = 0;
    if (!po->ca_file.len && !po->ca_identity.len)
      why = CA_MISSING;
    else if (x->o.check_files && po->ca_file.len)
      why = ca_unreadable(x, po->ca_file);
    if (why)
      rc = add(x, MDR_LINT_CLIENT_AUTH_NO_CA, mdri_policy_line(t, p), MDR_NONE, first[p], MDR_NONE,
               po->ca_file, p, why);
  }
  mdri_free(x->m, first);
  return rc;
}

/* sni-host-ignore-client-auth: once per TLS listener with sni-host=ignore
 * and a vhost whose policy asks for client certificates. */
static int check_sni_ignore(lint *x) {
  const mdr_table *t = x->t;
  for (uint32_t l = 0; l < t->n_listeners; l++) {
    const mdri_listener *li = &t->listeners[l];
    if (!li->tls || li->sni_host != MDR_SNI_HOST_IGNORE) continue;
    uint32_t first = MDR_NONE, count = 0;
    for (uint32_t k = x->lv_begin[l]; k < x->lv_begin[l + 1]; k++) {
      uint32_t v = x->lv[k];
      if (t->policies[t->vhosts[v].policy].client_auth == MDR_CLIENT_AUTH_NONE) continue;
      if (first == MDR_NONE) first = v;
      count++;
    }
    if (first != MDR_NONE) {
      int rc = add(x, MDR_LINT_SNI_IGNORE_CLIENT_AUTH, mdri_listener_line(t, l), l, first, MDR_NONE,
                   vname(t, first, 0), count, 0);
      if (rc) return rc;
    }
  }
  return 0;
}

/* duplicate-listener-port: every listener whose port an earlier one has,
 * naming the first (what "the same address and port" means when the file
 * has no addresses: see docs/lint.md). */
static int check_ports(lint *x) {
  const mdr_table *t = x->t;
  if (t->n_listeners < 2) return 0;
  uint32_t *by_port = mdri_malloc(x->m, 65536 * sizeof *by_port);
  if (!by_port) return MDR_ERR_NOMEM;
  for (size_t i = 0; i < 65536; i++) by_port[i] = MDR_NONE;
  int rc = 0;
  for (uint32_t l = 0; l < t->n_listeners && !rc; l++) {
    uint16_t port = t->listeners[l].port;
    if (by_port[port] == MDR_NONE)
      by_port[port] = l;
    else
      rc = add(x, MDR_LINT_DUPLICATE_LISTENER_PORT, mdri_listener_line(t, l), l, MDR_NONE, MDR_NONE,
               no_name, by_port[port], 0);
  }
  mdri_free(x->m, by_port);
  return rc;
}

/* ---- redirects (simulated with the core) -------------------------------- */

#define MAX_HOPS 8
#define LOC_CAP (8 + MDR_HOST_MAX + 8 + 2)

enum { SIM_NONE = 0, SIM_SERVED, SIM_REFUSED, SIM_LOOP, SIM_NO_LISTENER };

typedef struct sim_step {
  uint32_t listener;
  int tls;
  char host[MDR_HOST_MAX + 1];
  size_t host_len;
  unsigned port;       /* as requested (public port) */
} sim_step;

typedef struct sim {
  int outcome;          /* SIM_* once a redirect happened; SIM_NONE when the first answer is no redirect */
  unsigned hops;        /* redirects followed */
  size_t n_steps;
  sim_step steps[MAX_HOPS + 2];
  uint32_t vhost[MAX_HOPS + 2]; /* vhost that answered each step (MDR_NONE if refused) */
  /* the refusal at the last step */
  unsigned status;      /* HTTP status, 0 for an alert */
  unsigned alert;
  mdr_reason reason;
  uint32_t redirector;  /* vhost whose redirect led to a missing listener */
} sim;

/* The listener a client reaches for tls://host:port: among the listeners
 * that accept the port (their own or a public-ports= entry), one where the
 * host is configured, then one whose own port it is, then the first in the
 * file.  (The configuration does not say which addresses names resolve to;
 * this is lint's model, documented in docs/lint.md.) */
static uint32_t target_listener(const mdr_table *t, int tls, unsigned port, const mdr_authority *a,
                                int *configured) {
  uint32_t best = MDR_NONE;
  int best_score = -1;
  for (uint32_t l = 0; l < t->n_listeners; l++) {
    const mdri_listener *li = &t->listeners[l];
    if (li->tls != tls || !mdri_listener_port_ok(li, port)) continue;
    int kind;
    int score = (mdri_lookup(t, l, a->host, a->host_len, a->kind, &kind) != MDR_NONE) * 2 +
                (li->port == port);
    if (score > best_score) {
      best = l;
      best_score = score;
    }
  }
  *configured = best_score >= 2;
  return best;
}

/* One request: GET / for step s.  Returns 1 with the next step filled for a
 * redirect, 0 otherwise (sm->status... set). */
static int sim_request(const mdr_table *t, const sim_step *s, sim *sm, sim_step *next,
                       uint32_t *answered) {
  const mdri_listener *li = &t->listeners[s->listener];
  char auth[MDR_HOST_MAX + 8];
  size_t an = s->host_len;
  memcpy(auth, s->host, s->host_len);
  if (s->port != mdri_default_port(s->tls)) an += (size_t)snprintf(auth + an, sizeof auth - an, ":%u", s->port);
  mdr_str av = { auth, an };
  mdr_conn c;
  memset(&c, 0, sizeof c);
  c.listener = s->listener;
  mdr_request r;
  memset(&r, 0, sizeof r);
  r.has_target = 1;
  r.target = (mdr_str)MDR_STR_LIT("/");
  r.version = MDR_HTTP_1_1;
  r.host = &av;
  r.n_host = 1;
  *answered = MDR_NONE;
  if (li->tls) {
    mdr_handshake_result hs;
    int is_name = s->host_len && s->host[0] != '[' && mdri_sni_valid(s->host, s->host_len, &(mdr_authority){0});
    if (mdr_handshake(t, s->listener, is_name, s->host, is_name ? s->host_len : 0, &hs) != 0) return 0;
    if (hs.outcome != MDR_HS_ACCEPT) {
      sm->status = 0;
      sm->alert = hs.alert;
      sm->reason = hs.reason;
      return 0;
    }
    c.has_hs_vhost = 1;
    c.hs_vhost = hs.vhost;
    c.has_sni = is_name;
    c.sni.ptr = s->host;
    c.sni.len = is_name ? s->host_len : 0;
    unsigned pr = t->vhosts[hs.vhost].protocols;
    c.has_alpn = 1;
    if (pr & MDR_PROTO_H1) {
      c.alpn = (mdr_str)MDR_STR_LIT("http/1.1");
    } else {
      c.alpn = (pr & MDR_PROTO_H2) ? (mdr_str)MDR_STR_LIT("h2") : (mdr_str)MDR_STR_LIT("h3");
      r.version = (pr & MDR_PROTO_H2) ? MDR_HTTP_2 : MDR_HTTP_3;
      r.has_scheme = 1;
      r.scheme = (mdr_str)MDR_STR_LIT("https");
      r.authority = &av;
      r.n_authority = 1;
      r.host = NULL;
      r.n_host = 0;
    }
  }
  mdr_decision d;
  char loc[LOC_CAP + 1];
  if (mdr_decide(t, &c, &r, &d, loc, sizeof loc) != 0) return 0;
  sm->status = d.status;
  sm->alert = 0;
  sm->reason = d.reason;
  if (d.kind == MDR_SERVE) *answered = d.vhost;
  if (d.kind != MDR_REDIRECT) return 0;
  *answered = d.vhost;
  /* Location: scheme "://" authority "/" (built by the core from configured names). */
  size_t ln = d.location_len;
  int tls = ln > 8 && memcmp(loc, "https://", 8) == 0;
  size_t as = tls ? 8 : 7, ae = as;
  while (ae < ln && loc[ae] != '/') ae++;
  mdr_authority a;
  if (mdri_authority(loc + as, ae - as, &a) != MDR_REASON_COUNT_) return 0;
  next->tls = tls;
  next->port = a.port ? a.port : mdri_default_port(tls);
  memcpy(next->host, a.host, a.host_len + 1);
  next->host_len = a.host_len;
  int configured;
  next->listener = target_listener(t, tls, next->port, &a, &configured);
  /* A vhost with http=redirect and no TLS listener sends clients to an
   * https origin "served elsewhere" (docs/decision-rules.md rule 9): follow it here only
   * when a listener on that port has the name configured. */
  const mdri_vhost *rv = &t->vhosts[d.vhost];
  if (tls && !li->tls && rv->http == MDR_HTTP_REDIRECT && rv->first_tls_listener == MDR_NONE && !configured)
    next->listener = MDR_NONE;
  return 1;
}

/* Follow the redirects of GET / for `host` on listener l. */
static void simulate(const mdr_table *t, uint32_t l, mdr_str host, sim *sm) {
  sm->outcome = SIM_NONE;
  sm->hops = 0;
  sm->n_steps = 1;
  sm->redirector = MDR_NONE;
  sim_step *s = &sm->steps[0];
  s->listener = l;
  s->tls = t->listeners[l].tls;
  s->port = t->listeners[l].public_port;
  memcpy(s->host, host.ptr, host.len);
  s->host[host.len] = '\0';
  s->host_len = host.len;
  for (;;) {
    sim_step *cur = &sm->steps[sm->n_steps - 1];
    sim_step *next = &sm->steps[sm->n_steps];
    uint32_t ans;
    int redirected = sim_request(t, cur, sm, next, &ans);
    sm->vhost[sm->n_steps - 1] = ans;
    if (!redirected) {
      if (sm->hops) sm->outcome = ans != MDR_NONE ? SIM_SERVED : SIM_REFUSED;
      return;
    }
    sm->hops++;
    sm->n_steps++;
    if (next->listener == MDR_NONE) {
      sm->vhost[sm->n_steps - 1] = MDR_NONE;
      sm->outcome = SIM_NO_LISTENER;
      sm->redirector = ans;
      return;
    }
    for (size_t i = 0; i + 1 < sm->n_steps; i++) {
      if (sm->steps[i].listener == next->listener && sm->steps[i].host_len == next->host_len &&
          memcmp(sm->steps[i].host, next->host, next->host_len) == 0) {
        sm->vhost[sm->n_steps - 1] = MDR_NONE;
        sm->outcome = SIM_LOOP;
        return;
      }
    }
    if (sm->hops > MAX_HOPS) {
      sm->vhost[sm->n_steps - 1] = MDR_NONE;
      sm->outcome = SIM_LOOP;
      return;
    }
  }
}

/* A concrete name to request for configured name nm: the name itself, or a
 * made-up label under a wildcard.  Returns 0 when there is none. */
static const char probe_label[] = "lint-probe";

static int probe_host(const mdri_name *nm, char *buf, mdr_str *out) {
  if (nm->kind != MDRI_NAME_WILD) {
    *out = nm->host;
    return 1;
  }
  size_t rest = nm->host.len - 1; /* ".x" */
  if (sizeof probe_label - 1 + rest > MDR_HOST_MAX) return 0;
  memcpy(buf, probe_label, sizeof probe_label - 1);
  memcpy(buf + sizeof probe_label - 1, nm->host.ptr + 1, rest);
  out->ptr = buf;
  out->len = sizeof probe_label - 1 + rest;
  return 1;
}

static int check_redirects(lint *x, sim *sm) {
  const mdr_table *t = x->t;
  for (uint32_t v = 0; v < t->n_vhosts; v++) {
    const mdri_vhost *vh = &t->vhosts[v];
    for (uint32_t j = 0; j < vh->n_listeners; j++) {
      uint32_t l = mdri_vhost_listener(t, vh, j);
      for (uint32_t i = 0; i < vh->n_names; i++) {
        const mdri_name *nm = &t->names[vh->names_begin + i];
        /* Only requests that can redirect: an alias, or cleartext on an
         * http=redirect vhost (anything else is answered without a
         * Location; the simulation would stop at once). */
        if (nm->kind != MDRI_NAME_ALIAS && !(vh->http == MDR_HTTP_REDIRECT && !t->listeners[l].tls))
          continue;
        char buf[MDR_HOST_MAX + 1];
        mdr_str h;
        if (!probe_host(nm, buf, &h)) continue;
        int kind;
        if (nm->kind == MDRI_NAME_WILD &&
            mdri_lookup(t, l, h.ptr, h.len, MDR_HOST_NAME, &kind) != v)
          continue;
        simulate(t, l, h, sm);
        mdr_lint_id id;
        switch (sm->outcome) {
        case SIM_SERVED:
          if (sm->hops < 2) continue;
          id = MDR_LINT_REDIRECT_CHAIN;
          break;
        case SIM_LOOP: id = MDR_LINT_REDIRECT_LOOP; break;
        case SIM_REFUSED: id = MDR_LINT_REDIRECT_DEAD_END; break;
        case SIM_NO_LISTENER:
          if (sm->redirector != MDR_NONE && t->vhosts[sm->redirector].http == MDR_HTTP_REDIRECT &&
              t->vhosts[sm->redirector].first_tls_listener == MDR_NONE && sm->steps[sm->n_steps - 1].tls)
            continue; /* reported as redirect-no-tls-listener */
          id = MDR_LINT_REDIRECT_DEAD_END;
          break;
        default: continue;
        }
        uint32_t last = MDR_NONE;
        for (size_t k = sm->n_steps; k > 1; k--)
          if (sm->vhost[k - 1] != MDR_NONE && sm->vhost[k - 1] != v) {
            last = sm->vhost[k - 1];
            break;
          }
        int rc = add(x, id, mdri_vhost_line(t, v), l, v, last, nm->host, i, 0);
        if (rc) return rc;
      }
    }
  }
  return 0;
}

/* ---- formatting ---------------------------------------------------------- */

typedef struct out {
  char *p;
  size_t cap, len;
} out;

static void put(out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(out *o, const char *fmt, ...) {
  if (o->len + 1 >= o->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  o->len += (size_t)n;
  if (o->len >= o->cap) {
    o->len = o->cap - 1;
    /* mark the truncation */
    if (o->cap >= 4) memcpy(o->p + o->cap - 4, "...", 4);
  }
}

#define SF(s) (int)((s).len > 200 ? 200 : (s).len), ((s).ptr ? (s).ptr : "")

static void put_policy(out *o, const mdr_table *t, uint32_t v) {
  const mdri_policy *p = &t->policies[t->vhosts[v].policy];
  put(o, "policy '%.*s'", SF(p->name));
  if (t->vhosts[v].policy == 0) return;
  static const char *const ca[] = { "none", "optional", "required" };
  put(o, ": client-auth=%s", ca[p->client_auth]);
  if (p->ca_file.len) put(o, " ca-file=%.*s", SF(p->ca_file));
  if (p->min_tls == MDR_TLS_1_3) put(o, " min-tls=1.3");
}

static void put_url(out *o, const sim_step *s) {
  put(o, "%s://%s", s->tls ? "https" : "http", s->host);
  if (s->port != mdri_default_port(s->tls)) put(o, ":%u", s->port);
  put(o, "/");
}

static void put_path(out *o, const mdr_table *t, const sim *sm) {
  for (size_t k = 0; k < sm->n_steps; k++) {
    const sim_step *s = &sm->steps[k];
    if (k) put(o, " -> ");
    put_url(o, s);
    if (s->listener != MDR_NONE) put(o, " on '%.*s'", SF(t->listeners[s->listener].name));
  }
}

static void format(const lint *x, const rec *r, mdr_lint_finding *f, sim *sm) {
  const mdr_table *t = x->t;
  out o = { f->message, sizeof f->message, 0 };
  f->message[0] = '\0';
  mdr_str vn = r->vhost != MDR_NONE ? mdri_vhost_name(t, r->vhost) : no_name;
  mdr_str on = r->other != MDR_NONE ? mdri_vhost_name(t, r->other) : no_name;
  mdr_str ln = r->listener != MDR_NONE ? t->listeners[r->listener].name : no_name;
  switch ((mdr_lint_id)r->id) {
  case MDR_LINT_COALESCE_POLICY:
    put(&o, "vhost '%.*s' (", SF(vn));
    put_policy(&o, t, r->vhost);
    if (r->aux2 <= 1) {
      put(&o, ") and vhost '%.*s' (", SF(on));
      put_policy(&o, t, r->other);
      put(&o, ") share listener '%.*s', and cert '%.*s' of '%.*s' covers '%.*s'", SF(ln),
          SF(t->certs[r->aux].name), SF(on), SF(r->name));
      break;
    }
    /* grouped: the count, then the first siblings */
    put(&o, ") and %u vhosts with other policies share listener '%.*s', and their certs cover "
            "'%.*s' (cert '%.*s' of '%.*s'): ",
        r->aux2, SF(ln), SF(r->name), SF(t->certs[r->aux].name), SF(on));
    {
      uint32_t shown[1 + COAL_MORE] = { r->other, r->more[0], r->more[1] };
      unsigned n_shown = 0;
      for (unsigned k = 0; k < 1 + COAL_MORE && shown[k] != MDR_NONE; k++, n_shown++) {
        put(&o, "%s'%.*s' (", k ? ", " : "", SF(mdri_vhost_name(t, shown[k])));
        put_policy(&o, t, shown[k]);
        put(&o, ")");
      }
      if (r->aux2 > n_shown) put(&o, " and %u more", r->aux2 - n_shown);
    }
    break;
  case MDR_LINT_NAME_NOT_COVERED:
  case MDR_LINT_ALIAS_NOT_COVERED:
    put(&o, "vhost '%.*s' listens on TLS listener '%.*s', but its %s '%.*s' is not covered by its cert '%.*s'",
        SF(vn), SF(ln), r->id == MDR_LINT_ALIAS_NOT_COVERED ? "redirect name" : "name", SF(r->name),
        SF(t->certs[r->aux].name));
    break;
  case MDR_LINT_WILDCARD_SHADOW: {
    const char *dot = memchr(r->name.ptr, '.', r->name.len);
    mdr_str wild = { dot, r->name.len - (size_t)(dot - r->name.ptr) };
    put(&o, "on listener '%.*s', '%.*s' of vhost '%.*s' (", SF(ln), SF(r->name), SF(vn));
    put_policy(&o, t, r->vhost);
    put(&o, ") falls under '*%.*s' of vhost '%.*s' (", SF(wild), SF(on));
    put_policy(&o, t, r->other);
    put(&o, ")");
    break;
  }
  case MDR_LINT_DEFAULT_STRICTER: {
    const mdri_listener *li = &t->listeners[r->listener];
    put(&o, "listener '%.*s' sends unknown %s to its default vhost '%.*s' (", SF(ln),
        li->unknown_sni == MDR_UNKNOWN_SNI_DEFAULT
            ? (li->unknown_host == MDR_UNKNOWN_HOST_DEFAULT ? "SNI and hosts (unknown-sni=default, unknown-host=default)"
                                                            : "SNI (unknown-sni=default)")
            : "hosts (unknown-host=default)",
        SF(vn));
    put_policy(&o, t, r->vhost);
    put(&o, "), stricter than vhost '%.*s' (", SF(on));
    put_policy(&o, t, r->other);
    put(&o, ")");
    if (r->aux > 1) put(&o, " and %u other vhost%s on it", r->aux - 1, r->aux == 2 ? "" : "s");
    break;
  }
  case MDR_LINT_REDIRECT_CHAIN:
  case MDR_LINT_REDIRECT_LOOP:
  case MDR_LINT_REDIRECT_DEAD_END: {
    const mdri_name *nm = &t->names[t->vhosts[r->vhost].names_begin + r->aux];
    char buf[MDR_HOST_MAX + 1];
    mdr_str h = nm->host;
    (void)probe_host(nm, buf, &h);
    simulate(t, r->listener, h, sm);
    put(&o, "vhost '%.*s' on listener '%.*s': ", SF(vn), SF(ln));
    put_url(&o, &sm->steps[0]);
    if (r->id == MDR_LINT_REDIRECT_CHAIN) {
      put(&o, " takes %u redirects before vhost '%.*s' serves it: ", sm->hops,
          SF(mdri_vhost_name(t, sm->vhost[sm->n_steps - 1])));
    } else if (r->id == MDR_LINT_REDIRECT_LOOP) {
      put(&o, " redirects in a loop: ");
    } else if (sm->outcome == SIM_NO_LISTENER) {
      const sim_step *s = &sm->steps[sm->n_steps - 1];
      put(&o, " is redirected to a port no listener serves (%s port %u): ", s->tls ? "https" : "http",
          s->port);
    } else if (sm->status == 0) {
      put(&o, " is redirected to an origin refused with alert %s (%s): ", mdr_alert_name(sm->alert),
          mdr_reason_token(sm->reason));
    } else {
      put(&o, " is redirected to an origin refused with %u (%s): ", sm->status,
          mdr_reason_token(sm->reason));
    }
    put_path(&o, t, sm);
    break;
  }
  case MDR_LINT_REDIRECT_NO_TLS:
    put(&o, "vhost '%.*s' has http=redirect but no TLS listener: it redirects to https://%.*s/ on port 443, which must be served elsewhere",
        SF(vn), SF(r->name));
    break;
  case MDR_LINT_WILDCARD_NOT_ADVERTISED:
    put(&o, "vhost '%.*s' allows %s on TLS listener '%.*s', but its wildcard '%.*s' cannot be listed in an ORIGIN frame",
        SF(vn),
        (t->vhosts[r->vhost].protocols & (MDR_PROTO_H2 | MDR_PROTO_H3)) == (MDR_PROTO_H2 | MDR_PROTO_H3) ? "h2 and h3"
        : (t->vhosts[r->vhost].protocols & MDR_PROTO_H2) ? "h2" : "h3",
        SF(ln), SF(r->name));
    break;
  case MDR_LINT_NAME_NOT_CANONICAL: {
    const mdri_name *nm;
    if (r->vhost != MDR_NONE) {
      nm = &t->names[t->vhosts[r->vhost].names_begin + r->aux2];
      put(&o, "vhost '%.*s': %s '%.*s' is written", SF(vn),
          nm->kind == MDRI_NAME_ALIAS ? "redirect name" : "name", SF(r->name));
    } else {
      nm = &t->cert_names[t->certs[r->aux].names_begin + r->aux2];
      put(&o, "cert '%.*s': name '%.*s' is written", SF(t->certs[r->aux].name), SF(r->name));
    }
    const char *sep = " with ";
    if (nm->flags & MDRI_NAMEF_UPPER) {
      put(&o, "%supper-case letters", sep);
      sep = " and ";
    }
    if (nm->flags & MDRI_NAMEF_DOT) {
      put(&o, "%sa trailing dot", sep);
      sep = " and ";
    }
    if (nm->flags & MDRI_NAMEF_FORM) put(&o, "%sa spelling other than its normal form", sep);
    break;
  }
  case MDR_LINT_CLIENT_AUTH_NO_CA: {
    const mdri_policy *po = &t->policies[r->aux];
    static const char *const ca[] = { "none", "optional", "required" };
    put(&o, "policy '%.*s' (client-auth=%s) of vhost '%.*s' ", SF(po->name), ca[po->client_auth],
        SF(vn));
    if (r->aux2 == CA_MISSING) {
      put(&o, "has no ca-file=: client certificates cannot be verified");
    } else {
      char path[4096];
      if (!ca_path(x, po->ca_file, path, sizeof path)) {
        put(&o, "has a ca-file= path too long to open");
      } else {
        put(&o, "has ca-file=%.*s, which cannot be read: '%.200s' ", SF(po->ca_file), path);
        if (r->aux2 == CA_EMPTY)
          put(&o, "is empty");
        else
          put(&o, "(%s)", errno_text((int)(r->aux2 - CA_ERRNO_BASE)));
      }
    }
    break;
  }
  case MDR_LINT_SNI_IGNORE_CLIENT_AUTH:
    put(&o, "listener '%.*s' has sni-host=ignore and serves vhost '%.*s' (", SF(ln), SF(vn));
    put_policy(&o, t, r->vhost);
    put(&o, ")");
    if (r->aux > 1) put(&o, " and %u other client-certificate vhost%s", r->aux - 1, r->aux == 2 ? "" : "s");
    put(&o, ": a request for '%.*s' on a connection made for another name is served without a client certificate (serve-unchecked)",
        SF(r->name));
    break;
  case MDR_LINT_DUPLICATE_LISTENER_PORT: {
    const mdri_listener *a = &t->listeners[r->aux], *b = &t->listeners[r->listener];
    put(&o, "listener '%.*s' (%s %u) has the port of listener '%.*s' (%s %u, line %u): a server binds both at port %u, and the second cannot listen",
        SF(ln), b->tls ? "https" : "http", (unsigned)b->port, SF(a->name), a->tls ? "https" : "http",
        (unsigned)a->port, mdri_listener_line(t, r->aux), (unsigned)b->port);
    break;
  }
  default: break;
  }
}

static int rec_cmp(const void *pa, const void *pb) {
  const rec *a = pa, *b = pb;
  if (a->line != b->line) return a->line < b->line ? -1 : 1;
  if (a->id != b->id) return a->id < b->id ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int mdr_table_lint(const mdr_table *t, mdr_lint_fn fn, void *user) {
  return mdr_table_lint2(t, NULL, fn, user);
}

int mdr_table_lint2(const mdr_table *t, const mdr_lint_options *o, mdr_lint_fn fn, void *user) {
  if (!t || !fn) return MDR_ERR_INVALID_ARGUMENT;
  if (o && o->base_dir.len && !o->base_dir.ptr) return MDR_ERR_INVALID_ARGUMENT;
  lint x;
  memset(&x, 0, sizeof x);
  x.t = t;
  x.m = &t->mem;
  if (o) x.o = *o;
  int rc;
  sim *sm = mdri_malloc(x.m, sizeof *sm);
  mdr_lint_finding *f = mdri_malloc(x.m, sizeof *f);
  if (!sm || !f) {
    rc = MDR_ERR_NOMEM;
    goto out;
  }
  if ((rc = build_listener_lists(&x)) || (rc = mdri_lint_coalesce(&x)) || (rc = check_names(&x)) ||
      (rc = check_shadow(&x)) || (rc = check_default(&x)) || (rc = check_redirects(&x, sm)) ||
      (rc = check_policies(&x)) || (rc = check_sni_ignore(&x)) || (rc = check_ports(&x)))
    goto out;
  /* renumber after the coalescing dedupe, then order */
  for (size_t i = 0; i < x.n_recs; i++) x.recs[i].seq = (uint32_t)i;
  if (x.n_recs) qsort(x.recs, x.n_recs, sizeof *x.recs, rec_cmp);
  rc = 0;
  for (size_t i = 0; i < x.n_recs; i++) {
    const rec *r = &x.recs[i];
    memset(f, 0, sizeof *f);
    f->id = (mdr_lint_id)r->id;
    f->line = r->line;
    f->listener = r->listener;
    f->vhost = r->vhost;
    f->other_vhost = r->other;
    f->name = r->name;
    format(&x, r, f, sm);
    rc++;
    if (fn(user, f)) break;
  }
out:
  mdri_free(x.m, sm);
  mdri_free(x.m, f);
  mdri_free(x.m, x.recs);
  mdri_free(x.m, x.lv_begin);
  mdri_free(x.m, x.lv);
  return rc;
}
