/* Fuzz target: the decision (mdr_decide) over the fixed table, on random
 * connection + request facts, with invariants checked on every decision:
 *
 *  - mdr_decide returns 0 with a large Location buffer, and the decision is
 *    internally consistent (status matches kind, rule 1-10, reason known);
 *  - a serve names a vhost that listens on the listener; on cleartext it is
 *    never an http=redirect vhost; 0-RTT only for early-data vhosts; the
 *    request's HTTP version is enabled on the vhost; sni-host=strict serves
 *    only the handshake vhost;
 *  - a 3xx Location is "https://" or "http://" + a configured name of the
 *    redirecting vhost (the canonical name for aliases) + optional port +
 *    the request's path; a too-small buffer gives MDR_ERR_BUFFER_TOO_SMALL,
 *    the same decision and no write past the buffer;
 *  - the decision equals the decision for the same request with the
 *    authority (Host, :authority, the absolute-form target's authority)
 *    upper-cased;
 *  - mdr_conn.hs_match (the handshake's match) changes nothing: 0 and other
 *    values decide the same;
 *  - mdr_decide_trace decides the same, mdr_decision_explain stays in bounds,
 *    and mdr_explain_decision agrees with the decision (check_explanation);
 *  - with the connection's computed origin set sent as ORIGIN, a request for
 *    an origin in the set is decided as without it, and every origin of the
 *    set given as :authority is served or redirected;
 *  - rule 7 with any ORIGIN set: under sni-host=ignore a served request is
 *    in the set or the initial origin; on other listeners the set is
 *    advisory, so every request is decided as without it.
 *
 * Input: lines "<tag><value>", tags:
 *   l listener index  v version (1.0 1.1 2 3)  n SNI  p ALPN  r resumed vhost
 *   e early data  x ECH (a|r)  h handshake vhost override  o use the
 *   computed origin set  O origin-set entry  m method  t target  T no target
 *   s :scheme  S no :scheme  a :authority  H Host
 */
#include "fuzz_common.h"

enum { MAX_AUTH = 4, MAX_HOST = 4, MAX_ORIG = 8, MAX_SET = 64 };

typedef struct facts {
  unsigned listener;
  int version;            /* -1 = default */
  int has_sni;
  mdr_str sni;
  int has_alpn;
  mdr_str alpn;
  int resumed;
  mdr_index resumed_vhost;       /* MDR_NONE = unknown */
  int early;
  mdr_ech ech;
  int h_override;
  unsigned h_index;
  int use_set;
  mdr_str origins[MAX_ORIG];
  size_t n_origins;
  int has_origins;
  mdr_str method;
  int has_target, no_target;
  mdr_str target;
  int has_scheme, no_scheme;
  mdr_str scheme;
  mdr_str auth[MAX_AUTH];
  size_t n_auth;
  mdr_str host[MAX_HOST];
  size_t n_host;
} facts;

/* A small number from a value: its decimal value when it is digits, else a
 * hash of its first bytes. */
static unsigned small_num(mdr_str v) {
  unsigned n = 0;
  int digits = v.len > 0;
  for (size_t i = 0; i < v.len; i++)
    if (v.ptr[i] < '0' || v.ptr[i] > '9') digits = 0;
  for (size_t i = 0; i < v.len && i < 4; i++)
    n = digits ? n * 10 + (unsigned)(v.ptr[i] - '0') : n * 31 + (unsigned char)v.ptr[i];
  return n;
}

static void parse_facts(const uint8_t *data, size_t size, facts *f) {
  memset(f, 0, sizeof *f);
  f->version = -1;
  f->resumed_vhost = MDR_NONE;
  size_t i = 0;
  while (i < size) {
    size_t e = i;
    while (e < size && data[e] != '\n') e++;
    if (e > i) {
      char tag = (char)data[i];
      const char *v = (const char *)data + i + 1;
      size_t vl = e - i - 1;
      mdr_str raw = { v, vl };
      switch (tag) {
      case 'l': f->listener = small_num(raw); break;
      case 'v':
        if (vl == 3 && memcmp(v, "1.0", 3) == 0) f->version = MDR_HTTP_1_0;
        else if (vl == 3 && memcmp(v, "1.1", 3) == 0) f->version = MDR_HTTP_1_1;
        else if (vl == 1 && v[0] == '2') f->version = MDR_HTTP_2;
        else if (vl == 1 && v[0] == '3') f->version = MDR_HTTP_3;
        break;
      case 'n': if (!f->has_sni) { f->has_sni = 1; f->sni = fz_dup(v, vl); } break;
      case 'p': if (!f->has_alpn) { f->has_alpn = 1; f->alpn = fz_dup(v, vl); } break;
      case 'r':
        f->resumed = 1;
        f->resumed_vhost = (vl && v[0] == '-') ? MDR_NONE : small_num(raw) % 7;
        break;
      case 'e': f->early = 1; break;
      case 'x': f->ech = (vl && v[0] == 'r') ? MDR_ECH_REJECTED : MDR_ECH_ACCEPTED; break;
      case 'h': f->h_override = 1; f->h_index = small_num(raw); break;
      case 'o': f->use_set = 1; break;
      case 'O':
        f->has_origins = 1;
        if (f->n_origins < MAX_ORIG) f->origins[f->n_origins++] = fz_dup(v, vl);
        break;
      case 'm': if (!f->method.ptr) f->method = fz_dup(v, vl); break;
      case 't': if (!f->has_target) { f->has_target = 1; f->target = fz_dup(v, vl); } break;
      case 'T': f->no_target = 1; break;
      case 's': if (!f->has_scheme) { f->has_scheme = 1; f->scheme = fz_dup(v, vl); } break;
      case 'S': f->no_scheme = 1; break;
      case 'a': if (f->n_auth < MAX_AUTH) f->auth[f->n_auth++] = fz_dup(v, vl); break;
      case 'H': if (f->n_host < MAX_HOST) f->host[f->n_host++] = fz_dup(v, vl); break;
      default: break;
      }
    }
    i = e + 1;
  }
}

static void free_facts(facts *f) {
  fz_free(f->sni);
  fz_free(f->alpn);
  for (size_t i = 0; i < f->n_origins; i++) fz_free(f->origins[i]);
  fz_free(f->method);
  fz_free(f->target);
  fz_free(f->scheme);
  for (size_t i = 0; i < f->n_auth; i++) fz_free(f->auth[i]);
  for (size_t i = 0; i < f->n_host; i++) fz_free(f->host[i]);
}

static int same_decision(const mdr_decision *a, const mdr_decision *b) {
  return a->kind == b->kind && a->status == b->status && a->vhost == b->vhost &&
         a->request_vhost == b->request_vhost && a->handshake_vhost == b->handshake_vhost &&
         a->reason == b->reason && a->rule == b->rule && a->location_len == b->location_len &&
         a->has_authority == b->has_authority &&
         (!a->has_authority || (a->authority.host_len == b->authority.host_len &&
                                strcmp(a->authority.host, b->authority.host) == 0 &&
                                a->authority.port == b->authority.port &&
                                a->authority.kind == b->authority.kind));
}

static void trace_fn(void *user, unsigned rule, const char *what, size_t len) {
  FZ_CHECK(rule >= 1 && rule <= 10);
  FZ_CHECK(len < 512 && memchr(what, '\0', len) == NULL);
  (*(unsigned *)user)++;
}

/* The path (and query) rule 9 appends: the whole origin-form target, or
 * what follows the absolute-form authority.  auth_from and auth_to get the
 * absolute-form authority span (both 0 otherwise). */
static mdr_str target_path(mdr_str t, size_t *auth_from, size_t *auth_to) {
  *auth_from = *auth_to = 0;
  if (t.len == 0 || t.ptr[0] == '/') return t;
  size_t colon = 0;
  while (colon < t.len && t.ptr[colon] != ':') colon++;
  if (colon + 2 >= t.len) return t;
  size_t as = colon + 3, ae = as;
  while (ae < t.len && t.ptr[ae] != '/' && t.ptr[ae] != '?') ae++;
  *auth_from = as;
  *auth_to = ae;
  mdr_str p = { t.ptr + ae, t.len - ae };
  return p;
}

/* Public port of the first TLS listener of each fixture vhost (443 when it
 * has none), for http -> https redirects. */
static const unsigned first_tls_public[] = { 443, 443, 443, 443, 8443, 443, 443 };

static void check_location(const mdr_table *t, const mdr_listener_info *li, const mdr_decision *d,
                           const char *loc, mdr_str target) {
  size_t n = d->location_len;
  mdr_vhost_info vi;
  FZ_CHECK(mdr_table_vhost_info(t, d->vhost, &vi) == 0);
  FZ_CHECK(d->status == vi.redirect_status);
  int to_https = !li->tls && vi.http == MDR_HTTP_REDIRECT;
  int https = to_https || li->tls;
  /* an alias on an http=redirect vhost over cleartext is both: one hop */
  FZ_CHECK(d->reason == MDR_REASON_REDIRECT_ALIAS ||
           (d->reason == MDR_REASON_REDIRECT_HTTPS && to_https));
  const char *scheme = https ? "https://" : "http://";
  size_t sl = strlen(scheme);
  FZ_CHECK(n > sl && memcmp(loc, scheme, sl) == 0);
  size_t hs = sl, he = hs;
  if (loc[hs] == '[') {
    while (he < n && loc[he] != ']') he++;
    FZ_CHECK(he < n);
    he++;
  } else {
    while (he < n && loc[he] != ':' && loc[he] != '/') he++;
  }
  const char *host = loc + hs;
  size_t hl = he - hs;
  /* the host is configured: the canonical name for an alias or a fallback,
   * else a name of the vhost or a name its wildcard matches */
  if (d->reason == MDR_REASON_REDIRECT_ALIAS || !d->has_authority ||
      d->request_vhost != d->vhost) {
    FZ_CHECK(hl == vi.canonical.len && memcmp(host, vi.canonical.ptr, hl) == 0);
  } else {
    FZ_CHECK(fz_vhost_has_name(d->vhost, host, hl) || fz_vhost_wild_match(d->vhost, host, hl) ||
             (hl == vi.canonical.len && memcmp(host, vi.canonical.ptr, hl) == 0));
  }
  for (size_t i = 0; i < hl; i++) FZ_CHECK(!fz_is_upper((unsigned char)host[i]));
  /* the port: the target listener's public port, omitted when default */
  unsigned want_port = to_https ? first_tls_public[d->vhost] : li->public_port;
  unsigned defport = https ? 443 : 80;
  size_t ps = he;
  if (want_port != defport) {
    char pb[8];
    int pl = snprintf(pb, sizeof pb, ":%u", want_port);
    FZ_CHECK(n >= ps + (size_t)pl && memcmp(loc + ps, pb, (size_t)pl) == 0);
    ps += (size_t)pl;
  }
  /* the request's own path and query follow */
  size_t af, at;
  mdr_str path = target_path(target, &af, &at);
  size_t extra = (path.len == 0 || path.ptr[0] != '/') ? 1 : 0;
  FZ_CHECK(n == ps + extra + path.len);
  if (extra) FZ_CHECK(loc[ps] == '/');
  FZ_CHECK(path.len == 0 || memcmp(loc + ps + extra, path.ptr, path.len) == 0);
}

static void check_decision(const mdr_table *t, mdr_index l, const mdr_listener_info *li,
                           const mdr_conn *c, const mdr_request *r, const mdr_decision *d,
                           const char *loc) {
  FZ_CHECK(d->rule >= 1 && d->rule <= 10);
  FZ_CHECK(d->reason < MDR_REASON_COUNT_);
  FZ_CHECK(strcmp(mdr_reason_token(d->reason), "unknown") != 0);
  if (li->tls) {
    FZ_CHECK(d->handshake_vhost != MDR_NONE && mdr_vhost_on_listener(t, d->handshake_vhost, l));
  } else {
    FZ_CHECK(d->handshake_vhost == MDR_NONE);
  }
  if (d->request_vhost != MDR_NONE) FZ_CHECK(mdr_vhost_on_listener(t, d->request_vhost, l));
  if (d->has_authority) {
    FZ_CHECK(strlen(d->authority.host) == d->authority.host_len && d->authority.host_len > 0);
  }
  switch (d->kind) {
  case MDR_SERVE: {
    FZ_CHECK(d->status == 200 && d->rule == 10);
    FZ_CHECK(d->vhost != MDR_NONE && mdr_vhost_on_listener(t, d->vhost, l));
    FZ_CHECK(d->vhost == d->request_vhost);
    mdr_vhost_info vi;
    FZ_CHECK(mdr_table_vhost_info(t, d->vhost, &vi) == 0);
    if (!li->tls) FZ_CHECK(vi.http == MDR_HTTP_SERVE);
    if (c->early_data) FZ_CHECK(vi.early_data);
    unsigned bit = r->version == MDR_HTTP_2 ? MDR_PROTO_H2
                   : r->version == MDR_HTTP_3 ? MDR_PROTO_H3 : MDR_PROTO_H1;
    FZ_CHECK(vi.protocols & bit);
    if (li->tls && li->sni_host == MDR_SNI_HOST_STRICT) FZ_CHECK(d->vhost == d->handshake_vhost);
    if (li->tls && li->sni_host == MDR_SNI_HOST_COMPATIBLE && d->vhost != d->handshake_vhost) {
      mdr_vhost_info hi;
      FZ_CHECK(mdr_table_vhost_info(t, d->handshake_vhost, &hi) == 0);
      FZ_CHECK(hi.policy_class == vi.policy_class);
    }
    if (d->has_authority && d->request_vhost == d->vhost &&
        d->reason != MDR_REASON_SERVE_DEFAULT) {
      /* an alias serves only what cannot be redirected (OPTIONS *, CONNECT) */
      FZ_CHECK(fz_vhost_has_name(d->vhost, d->authority.host, d->authority.host_len) ||
               fz_vhost_wild_match(d->vhost, d->authority.host, d->authority.host_len) ||
               fz_vhost_has_alias(d->vhost, d->authority.host, d->authority.host_len));
    }
    break;
  }
  case MDR_REDIRECT:
    FZ_CHECK(d->status == 301 || d->status == 302 || d->status == 307 || d->status == 308);
    FZ_CHECK(d->rule == 9 && d->vhost != MDR_NONE && mdr_vhost_on_listener(t, d->vhost, l));
    check_location(t, li, d, loc, r->target);
    break;
  case MDR_MISDIRECTED: FZ_CHECK(d->status == 421 && d->vhost == MDR_NONE); break;
  case MDR_BAD_REQUEST: FZ_CHECK(d->status == 400 && d->vhost == MDR_NONE && d->rule <= 2); break;
  case MDR_TOO_EARLY: FZ_CHECK(d->status == 425 && c->early_data && d->rule == 8); break;
  case MDR_NOT_IMPLEMENTED: FZ_CHECK(d->status == 501 && d->rule == 1); break;
  default: FZ_CHECK(!"unknown kind");
  }
  if (d->kind != MDR_REDIRECT) FZ_CHECK(d->location_len == 0);
}

/* The structured explanation agrees with the decision: same outcome and
 * vhosts, 1..MDR_EXPLAIN_MAX_CAUSES distinct known causes ("none" alone and
 * only for serves), `differs` only when both H and R are known. */
static void check_explanation(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                              const mdr_decision *d) {
  mdr_explanation e;
  FZ_CHECK(mdr_explain_decision(t, c, r, d, &e) == 0);
  FZ_CHECK(e.kind == d->kind && e.status == d->status && e.reason == d->reason &&
           e.rule == d->rule && e.listener == c->listener && e.vhost == d->vhost &&
           e.request_vhost == d->request_vhost && e.handshake_vhost == d->handshake_vhost);
  FZ_CHECK(e.n_causes >= 1 && e.n_causes <= MDR_EXPLAIN_MAX_CAUSES);
  for (size_t i = 0; i < e.n_causes; i++) {
    FZ_CHECK(e.causes[i] < MDR_CAUSE_COUNT_);
    FZ_CHECK(strcmp(mdr_cause_token(e.causes[i]), "unknown") != 0);
    for (size_t j = 0; j < i; j++) FZ_CHECK(e.causes[i] != e.causes[j]);
    if (e.causes[i] == MDR_CAUSE_NONE) FZ_CHECK(e.n_causes == 1 && d->kind == MDR_SERVE);
  }
  if (d->request_vhost == MDR_NONE || d->handshake_vhost == MDR_NONE) FZ_CHECK(e.differs == 0);
  if (e.differs & MDR_DIFF_VHOST) FZ_CHECK(d->request_vhost != d->handshake_vhost);
  if (d->has_authority)
    FZ_CHECK(e.request_host.len == d->authority.host_len &&
             memcmp(e.request_host.ptr, d->authority.host, e.request_host.len) == 0);
  FZ_CHECK(e.has_sni == c->has_sni);
  FZ_CHECK(e.has_host == (r->n_host > 0));
}

/* "https://host[:port]" of the decision's authority into buf; length. */
static size_t request_origin(const mdr_decision *d, char *buf, size_t cap) {
  unsigned port = d->authority.port ? d->authority.port : 443;
  int n = port == 443 ? snprintf(buf, cap, "https://%s", d->authority.host)
                      : snprintf(buf, cap, "https://%s:%u", d->authority.host, port);
  FZ_CHECK(n > 0 && (size_t)n < cap);
  return (size_t)n;
}

static int in_set(const mdr_str *set, size_t n, const char *o, size_t ol) {
  for (size_t i = 0; i < n; i++)
    if (set[i].len == ol && memcmp(set[i].ptr, o, ol) == 0) return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  const mdr_table *t = fz_fixture();
  facts f;
  parse_facts(data, size, &f);
  mdr_index l = f.listener % (unsigned)mdr_table_listener_count(t);
  mdr_listener_info li;
  FZ_CHECK(mdr_table_listener_info(t, l, &li) == 0);

  mdr_http_version ver;
  if (f.version >= 0) ver = (mdr_http_version)f.version;
  else if (f.has_alpn && f.alpn.len == 2 && memcmp(f.alpn.ptr, "h2", 2) == 0) ver = MDR_HTTP_2;
  else if (f.has_alpn && f.alpn.len == 2 && memcmp(f.alpn.ptr, "h3", 2) == 0) ver = MDR_HTTP_3;
  else ver = MDR_HTTP_1_1;
  const int h2plus = ver == MDR_HTTP_2 || ver == MDR_HTTP_3;

  mdr_conn c;
  memset(&c, 0, sizeof c);
  c.listener = l;
  mdr_handshake_result hs;
  memset(&hs, 0, sizeof hs);
  if (li.tls) {
    FZ_CHECK(mdr_handshake(t, l, f.has_sni, f.sni.ptr, f.sni.len, &hs) == 0);
    fz_check_handshake(t, l, f.has_sni, f.sni.ptr, f.sni.len, &hs);
    if (f.h_override) {
      /* any vhost on the listener, or MDR_NONE (= the listener default) */
      mdr_index on[16];
      unsigned n_on = 0;
      for (mdr_index v = 0; v < mdr_table_vhost_count(t) && n_on < 16; v++)
        if (mdr_vhost_on_listener(t, v, l)) on[n_on++] = v;
      unsigned k = f.h_index % (n_on + 1);
      c.has_hs_vhost = k != n_on;
      c.hs_vhost = k == n_on ? 0 : on[k];
      if (!c.has_hs_vhost && li.default_vhost == MDR_NONE) goto out;
    } else if (hs.outcome != MDR_HS_ACCEPT) {
      goto out; /* the connection was refused */
    } else {
      c.has_hs_vhost = 1;
      c.hs_vhost = hs.vhost;
    }
  } else {
    FZ_CHECK(mdr_handshake(t, l, f.has_sni, f.sni.ptr, f.sni.len, &hs) == MDR_ERR_WRONG_LISTENER);
  }
  c.has_sni = f.has_sni;
  c.sni = f.sni;
  c.has_alpn = f.has_alpn;
  c.alpn = f.alpn;
  c.ech = f.ech;
  c.resumed = f.resumed;
  c.has_resumed_from = f.resumed_vhost != MDR_NONE;
  c.resumed_from = c.has_resumed_from ? f.resumed_vhost : 0;
  c.early_data = f.early;
  c.has_origin_set = f.has_origins;
  c.origin_set = f.n_origins ? f.origins : NULL;
  c.n_origin_set = f.n_origins;
  c.hs_match = li.tls ? hs.match : 0; /* a hint: any value decides the same (checked below) */

  mdr_request r;
  memset(&r, 0, sizeof r);
  r.version = ver;
  r.method = f.method;
  r.has_target = !f.no_target;
  static const char slash[] = "/";
  r.target = f.has_target ? f.target : (mdr_str){ slash, 1 };
  if (h2plus && !f.no_scheme) {
    r.has_scheme = 1;
    r.scheme = f.has_scheme ? f.scheme : li.tls ? (mdr_str)MDR_STR_LIT("https")
                                                : (mdr_str)MDR_STR_LIT("http");
  } else if (!h2plus && f.has_scheme) {
    r.has_scheme = 1;
    r.scheme = f.scheme;
  }
  r.authority = f.n_auth ? f.auth : NULL;
  r.n_authority = f.n_auth;
  r.host = f.n_host ? f.host : NULL;
  r.n_host = f.n_host;

  size_t loc_cap = r.target.len + 600;
  char *loc = malloc(loc_cap);
  FZ_CHECK(loc != NULL);
  mdr_decision d;
  int rc = mdr_decide(t, &c, &r, &d, loc, loc_cap);
  FZ_CHECK(rc == 0);
  {
    static int debug = -1;
    if (debug < 0) debug = getenv("MISDIRECT_FUZZ_DEBUG") != NULL;
    if (debug)
      fprintf(stderr, "decide: listener %u H %d -> %u %s rule %u vhost %d%s%.*s\n", (unsigned)l,
              (int)d.handshake_vhost, d.status, mdr_reason_token(d.reason), d.rule, (int)d.vhost,
              d.kind == MDR_REDIRECT ? " location " : "",
              d.kind == MDR_REDIRECT ? (int)d.location_len : 0, loc);
  }
  check_decision(t, l, &li, &c, &r, &d, loc);

  /* The handshake's match is only a hint: without it, or with another
   * value (a neighbouring slot, one from the input), the decision and the
   * Location are the same. */
  {
    uint32_t hints[] = { 0, hs.match + 1, hs.match ? hs.match - 1 : 0, f.h_index };
    mdr_conn cm = c;
    mdr_decision dm;
    char *locm = malloc(loc_cap);
    FZ_CHECK(locm != NULL);
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
      cm.hs_match = hints[i];
      FZ_CHECK(mdr_decide(t, &cm, &r, &dm, locm, loc_cap) == 0);
      FZ_CHECK(same_decision(&d, &dm));
      FZ_CHECK(d.kind != MDR_REDIRECT || memcmp(loc, locm, d.location_len) == 0);
    }
    free(locm);
  }

  /* With an ORIGIN frame, rule 7: under sni-host=ignore a served origin is
   * in it or is the initial one; elsewhere the set is advisory, so the
   * answer is the same without it. */
  if (c.has_origin_set && li.tls && li.sni_host == MDR_SNI_HOST_IGNORE &&
      d.kind == MDR_SERVE && d.has_authority) {
    char o[300];
    size_t ol = request_origin(&d, o, sizeof o);
    int initial = hs.sni_valid && hs.sni_len == d.authority.host_len &&
                  memcmp(hs.sni, d.authority.host, hs.sni_len) == 0;
    FZ_CHECK(in_set(c.origin_set, c.n_origin_set, o, ol) || initial);
  } else if (c.has_origin_set && li.tls && li.sni_host != MDR_SNI_HOST_IGNORE) {
    mdr_conn cn = c;
    cn.has_origin_set = 0;
    cn.origin_set = NULL;
    cn.n_origin_set = 0;
    mdr_decision dn;
    char *locn = malloc(loc_cap ? loc_cap : 1);
    FZ_CHECK(locn != NULL);
    FZ_CHECK(mdr_decide(t, &cn, &r, &dn, locn, loc_cap) == 0);
    FZ_CHECK(same_decision(&d, &dn));
    free(locn);
  }

  /* A too-small Location buffer: same decision, error, nothing written past. */
  if (d.kind == MDR_REDIRECT) {
    size_t small = d.location_len / 2;
    char *loc2 = small ? malloc(small) : NULL;
    mdr_decision d2;
    FZ_CHECK(mdr_decide(t, &c, &r, &d2, loc2, small) == MDR_ERR_BUFFER_TOO_SMALL);
    FZ_CHECK(same_decision(&d, &d2));
    if (small) FZ_CHECK(memcmp(loc2, loc, small) == 0);
    free(loc2);
  }

  /* Upper-cased authority: the same decision and Location. */
  {
    mdr_str ua[MAX_AUTH], uh[MAX_HOST];
    for (size_t i = 0; i < f.n_auth; i++) ua[i] = fz_dup_upper(f.auth[i], 0, f.auth[i].len);
    for (size_t i = 0; i < f.n_host; i++) uh[i] = fz_dup_upper(f.host[i], 0, f.host[i].len);
    size_t af, at;
    target_path(r.target, &af, &at);
    mdr_str ut = fz_dup_upper(r.target, af, at);
    mdr_request ur = r;
    ur.authority = f.n_auth ? ua : NULL;
    ur.host = f.n_host ? uh : NULL;
    ur.target = ut;
    char *uloc = malloc(loc_cap);
    mdr_decision du;
    FZ_CHECK(mdr_decide(t, &c, &ur, &du, uloc, loc_cap) == 0);
    if (!same_decision(&d, &du)) {
      fprintf(stderr, "lower: %u %s rule %u; upper: %u %s rule %u\n", d.status,
              mdr_reason_token(d.reason), d.rule, du.status, mdr_reason_token(du.reason), du.rule);
    }
    FZ_CHECK(same_decision(&d, &du));
    if (d.kind == MDR_REDIRECT) FZ_CHECK(memcmp(loc, uloc, d.location_len) == 0);
    free(uloc);
    fz_free(ut);
    for (size_t i = 0; i < f.n_auth; i++) fz_free(ua[i]);
    for (size_t i = 0; i < f.n_host; i++) fz_free(uh[i]);
  }

  /* The traced decision is the same decision; explanations stay in bounds. */
  {
    unsigned steps = 0;
    mdr_decision dt;
    char *tloc = malloc(loc_cap);
    FZ_CHECK(mdr_decide_trace(t, &c, &r, &dt, tloc, loc_cap, trace_fn, &steps) == 0);
    FZ_CHECK(same_decision(&d, &dt) && steps > 0);
    free(tloc);
    char *eb = malloc(24);
    size_t full = mdr_decision_explain(t, &c, &d, eb, 24);
    FZ_CHECK(strlen(eb) == (full < 23 ? full : 23));
    free(eb);
    eb = malloc(full + 1);
    FZ_CHECK(mdr_decision_explain(t, &c, &d, eb, full + 1) == full && strlen(eb) == full);
    free(eb);
    check_explanation(t, &c, &r, &d);
  }

  /* The connection's own origin set as ORIGIN frame. */
  if (li.tls && h2plus && f.use_set) {
    static char buf[MAX_SET][300];
    mdr_str set[MAX_SET];
    size_t n = fz_origin_set(t, l, c.has_hs_vhost ? c.hs_vhost : MDR_NONE, ver, buf, set,
                             MAX_SET);
    mdr_conn c0 = c, cs = c;
    c0.has_origin_set = 0;
    c0.origin_set = NULL;
    c0.n_origin_set = 0;
    cs.has_origin_set = 1;
    cs.origin_set = n ? set : NULL;
    cs.n_origin_set = n;
    mdr_decision d0, ds;
    FZ_CHECK(mdr_decide(t, &c0, &r, &d0, loc, loc_cap) == 0);
    FZ_CHECK(mdr_decide(t, &cs, &r, &ds, loc, loc_cap) == 0);
    if (ds.has_authority) {
      char o[300];
      size_t ol = request_origin(&ds, o, sizeof o);
      if (in_set(set, n, o, ol)) FZ_CHECK(same_decision(&d0, &ds));
      /* Rule 7: outside sni-host=ignore the set is advisory (it changes no
       * answer); under ignore it bounds what is served. */
      if (li.sni_host != MDR_SNI_HOST_IGNORE) FZ_CHECK(same_decision(&d0, &ds));
      else if (ds.kind == MDR_SERVE) {
        int initial = hs.sni_valid && hs.sni_len == ds.authority.host_len &&
                      memcmp(hs.sni, ds.authority.host, hs.sni_len) == 0;
        FZ_CHECK(in_set(set, n, o, ol) || initial);
      }
    }
  }
  free(loc);
out:
  free_facts(&f);
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const mdr_table *t = fz_fixture();
  /* The origin set of every TLS connection is served or redirected. */
  for (mdr_index l = 0; l < mdr_table_listener_count(t); l++) {
    mdr_listener_info li;
    FZ_CHECK(mdr_table_listener_info(t, l, &li) == 0);
    if (!li.tls) continue;
    for (mdr_index h = 0; h < mdr_table_vhost_count(t); h++) {
      if (!mdr_vhost_on_listener(t, h, l)) continue;
      fz_check_origin_set(t, l, h, MDR_HTTP_2);
      fz_check_origin_set(t, l, h, MDR_HTTP_3);
    }
  }
  return 0;
}
