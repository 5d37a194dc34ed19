/* The fixed table of the decision targets, built with the builder API, and
 * invariant checks shared by several targets. */
#include "fuzz_common.h"
#include "internal.h" /* mdri_origin_set_walk_all */

/* Listeners: 0 web (TLS 443, public 443,8443), 1 alt (TLS 8443, strict,
 * unknown-sni=default, unknown-host=default), 2 plain (http 80,
 * unknown-host=default), 3 nat (http 8080 published as 80), 4 ign (TLS 9443,
 * sni-host=ignore, no-sni=reject, unknown-sni=reject, no default). */
enum { V_A, V_B, V_C, V_D, V_E, V_G, V_H, N_VHOSTS };

static const char *const names_a[] = { "a.example", NULL };
static const char *const wild_a[] = { "a.example", NULL };
static const char *const alias_a[] = { "www.a.example", "old.example", NULL };
static const char *const names_b[] = { "b.example", NULL };
static const char *const names_c[] = { "c.example", NULL };
static const char *const names_d[] = { "192.0.2.1", "[2001:db8::1]", NULL };
static const char *const names_e[] = { "e.example", "f.example", NULL };
static const char *const wild_e[] = { "e.example", NULL };
static const char *const names_g[] = { "g.example", NULL };
static const char *const names_h[] = { "h.example", NULL };
static const char *const wild_h[] = { "h.example", NULL };
static const char *const none[] = { NULL };

static const char *const *const vnames[N_VHOSTS] = { names_a, names_b, names_c, names_d,
                                                     names_e, names_g, names_h };
static const char *const *const vwild[N_VHOSTS] = { wild_a, none, none, none, wild_e, none, wild_h };
static const char *const *const valias[N_VHOSTS] = { alias_a, none, none, none, none, none, none };

const char *const *fz_vhost_names(mdr_index v) { return v < N_VHOSTS ? vnames[v] : none; }
const char *const *fz_vhost_wildcards(mdr_index v) { return v < N_VHOSTS ? vwild[v] : none; }
const char *const *fz_vhost_aliases(mdr_index v) { return v < N_VHOSTS ? valias[v] : none; }

int fz_vhost_has_name(mdr_index v, const char *h, size_t n) {
  for (const char *const *p = fz_vhost_names(v); *p; p++)
    if (strlen(*p) == n && memcmp(*p, h, n) == 0) return 1;
  return 0;
}

int fz_vhost_has_alias(mdr_index v, const char *h, size_t n) {
  for (const char *const *p = fz_vhost_aliases(v); *p; p++)
    if (strlen(*p) == n && memcmp(*p, h, n) == 0) return 1;
  return 0;
}

int fz_vhost_wild_match(mdr_index v, const char *h, size_t n) {
  const char *dot = memchr(h, '.', n);
  if (!dot || dot == h) return 0;
  size_t rest = n - (size_t)(dot + 1 - h);
  for (const char *const *p = fz_vhost_wildcards(v); *p; p++)
    if (strlen(*p) == rest && memcmp(*p, dot + 1, rest) == 0) return 1;
  return 0;
}

#define S(x) { (x), sizeof(x) - 1 }

static void must(int rc) {
  if (rc != 0) {
    fprintf(stderr, "fixture: builder call failed: %d\n", rc);
    abort();
  }
}

static mdr_table *build_fixture(void) {
  mdr_builder *b = NULL;
  mdr_error err;
  must(mdr_builder_new(&b, NULL));
  static const uint16_t web_pp[] = { 443, 8443 }, nat_pp[] = { 80 };
  mdr_listener_conf web = { .name = S("web"), .tls = 1, .port = 443, .default_vhost = S("a"),
                            .public_ports = web_pp, .n_public_ports = 2 };
  mdr_listener_conf alt = { .name = S("alt"), .tls = 1, .port = 8443, .default_vhost = S("e"),
                            .sni_host = MDR_SNI_HOST_STRICT, .unknown_sni = MDR_UNKNOWN_SNI_DEFAULT,
                            .unknown_host = MDR_UNKNOWN_HOST_DEFAULT };
  mdr_listener_conf plain = { .name = S("plain"), .tls = 0, .port = 80, .default_vhost = S("a"),
                              .unknown_host = MDR_UNKNOWN_HOST_DEFAULT };
  mdr_listener_conf nat = { .name = S("nat"), .tls = 0, .port = 8080, .public_ports = nat_pp,
                            .n_public_ports = 1 };
  mdr_listener_conf ign = { .name = S("ign"), .tls = 1, .port = 9443,
                            .sni_host = MDR_SNI_HOST_IGNORE, .no_sni = MDR_NO_SNI_REJECT };
  must(mdr_builder_add_listener(b, &web, &err));
  must(mdr_builder_add_listener(b, &alt, &err));
  must(mdr_builder_add_listener(b, &plain, &err));
  must(mdr_builder_add_listener(b, &nat, &err));
  must(mdr_builder_add_listener(b, &ign, &err));

  mdr_str ca_n[] = { S("a.example"), S("*.a.example"), S("www.a.example"), S("b.example"),
                     S("c.example") };
  mdr_str cc_n[] = { S("c.example") };
  mdr_str cip_n[] = { S("192.0.2.1"), S("[2001:db8::1]") };
  mdr_str ce_n[] = { S("e.example"), S("*.e.example"), S("f.example") };
  mdr_cert_conf ca = { .name = S("ca"), .names = ca_n, .n_names = 5 };
  mdr_cert_conf cc = { .name = S("cc"), .names = cc_n, .n_names = 1 };
  mdr_cert_conf cip = { .name = S("cip"), .names = cip_n, .n_names = 2 };
  mdr_cert_conf ce = { .name = S("ce"), .names = ce_n, .n_names = 3 };
  must(mdr_builder_add_cert(b, &ca, &err));
  must(mdr_builder_add_cert(b, &cc, &err));
  must(mdr_builder_add_cert(b, &cip, &err));
  must(mdr_builder_add_cert(b, &ce, &err));

  mdr_policy_conf mtls = { .name = S("mtls"), .client_auth = MDR_CLIENT_AUTH_REQUIRED,
                           .ca_file = S("ca.pem") };
  mdr_policy_conf same = { .name = S("same") };
  mdr_policy_conf t13 = { .name = S("t13"), .min_tls = MDR_TLS_1_3 };
  must(mdr_builder_add_policy(b, &mtls, &err));
  must(mdr_builder_add_policy(b, &same, &err));
  must(mdr_builder_add_policy(b, &t13, &err));

  mdr_str l_a[] = { S("web"), S("plain"), S("alt") }, n_a[] = { S("a.example"), S("*.a.example") },
          r_a[] = { S("www.a.example"), S("old.example") };
  mdr_vhost_conf a = { .name = S("a"), .listeners = l_a, .n_listeners = 3, .names = n_a, .n_names = 2,
                       .redirect_names = r_a, .n_redirect_names = 2, .cert = S("ca"),
                       .http = MDR_HTTP_REDIRECT };
  mdr_str l_b[] = { S("web") }, n_b[] = { S("b.example") };
  mdr_vhost_conf vb = { .name = S("b"), .listeners = l_b, .n_listeners = 1, .names = n_b, .n_names = 1,
                        .cert = S("ca"), .policy = S("mtls"), .early_data = 1 };
  mdr_str l_c[] = { S("web"), S("plain"), S("nat") }, n_c[] = { S("c.example") };
  mdr_vhost_conf vc = { .name = S("c"), .listeners = l_c, .n_listeners = 3, .names = n_c, .n_names = 1,
                        .cert = S("cc"), .policy = S("same"), .redirect_status = 301,
                        .protocols = MDR_PROTO_H1 | MDR_PROTO_H2 };
  mdr_str l_d[] = { S("web"), S("plain"), S("ign") }, n_d[] = { S("192.0.2.1"), S("[2001:DB8:0::1]") };
  mdr_vhost_conf vd = { .name = S("d"), .listeners = l_d, .n_listeners = 3, .names = n_d, .n_names = 2,
                        .cert = S("cip"), .policy = S("same") };
  mdr_str l_e[] = { S("alt"), S("ign"), S("nat") },
          n_e[] = { S("e.example"), S("*.e.example"), S("F.example.") };
  mdr_vhost_conf ve = { .name = S("e"), .listeners = l_e, .n_listeners = 3, .names = n_e, .n_names = 3,
                        .cert = S("ce"), .policy = S("t13"), .http = MDR_HTTP_REDIRECT,
                        .redirect_status = 307, .early_data = 1 };
  mdr_str l_g[] = { S("plain") }, n_g[] = { S("g.example") };
  mdr_vhost_conf vg = { .name = S("g"), .listeners = l_g, .n_listeners = 1, .names = n_g, .n_names = 1,
                        .http = MDR_HTTP_REDIRECT };
  mdr_str l_h[] = { S("web") }, n_h[] = { S("h.example"), S("*.h.example") };
  mdr_vhost_conf vh = { .name = S("h"), .listeners = l_h, .n_listeners = 1, .names = n_h, .n_names = 2,
                        .cert = S("ca"), .protocols = MDR_PROTO_H2 | MDR_PROTO_H3 };
  must(mdr_builder_add_vhost(b, &a, &err));
  must(mdr_builder_add_vhost(b, &vb, &err));
  must(mdr_builder_add_vhost(b, &vc, &err));
  must(mdr_builder_add_vhost(b, &vd, &err));
  must(mdr_builder_add_vhost(b, &ve, &err));
  must(mdr_builder_add_vhost(b, &vg, &err));
  must(mdr_builder_add_vhost(b, &vh, &err));
  mdr_table *t = NULL;
  if (mdr_builder_build(b, &t, &err) != 0) {
    fprintf(stderr, "fixture: build failed: %s\n", err.message);
    abort();
  }
  mdr_builder_free(b);
  if (mdr_table_vhost_count(t) != N_VHOSTS) abort();
  return t;
}

const mdr_table *fz_fixture(void) {
  static mdr_table *t;
  if (!t) t = build_fixture();
  return t;
}

/* ---- shared checks --------------------------------------------------------- */

void fz_check_handshake(const mdr_table *t, mdr_index l, int has_sni, const char *sni,
                        size_t sni_len, const mdr_handshake_result *hs) {
  mdr_listener_info li;
  FZ_CHECK(mdr_table_listener_info(t, l, &li) == 0 && li.tls);
  if (hs->outcome == MDR_HS_ACCEPT) {
    FZ_CHECK(hs->vhost != MDR_NONE && mdr_vhost_on_listener(t, hs->vhost, l));
    FZ_CHECK(hs->reason == MDR_REASON_SNI_MATCH || hs->reason == MDR_REASON_SNI_NONE_DEFAULT ||
             hs->reason == MDR_REASON_SNI_UNKNOWN_DEFAULT);
    if (hs->reason != MDR_REASON_SNI_MATCH) FZ_CHECK(hs->vhost == li.default_vhost);
  } else {
    FZ_CHECK(hs->outcome == MDR_HS_ALERT);
    FZ_CHECK(hs->alert == MDR_ALERT_UNRECOGNIZED_NAME || hs->alert == MDR_ALERT_MISSING_EXTENSION);
    FZ_CHECK(hs->vhost == MDR_NONE);
  }
  if (!has_sni) {
    FZ_CHECK(!hs->sni_valid);
    FZ_CHECK(hs->reason == (li.no_sni == MDR_NO_SNI_REJECT ? MDR_REASON_SNI_MISSING
                                                          : MDR_REASON_SNI_NONE_DEFAULT));
  }
  if (hs->sni_valid) {
    FZ_CHECK(has_sni && hs->sni_len > 0 && hs->sni_len <= MDR_HOST_MAX);
    FZ_CHECK(strlen(hs->sni) == hs->sni_len);
    for (size_t i = 0; i < hs->sni_len; i++) FZ_CHECK(!fz_is_upper((unsigned char)hs->sni[i]));
    FZ_CHECK(hs->sni[hs->sni_len - 1] != '.');
    /* the normalised SNI is itself a valid SNI naming the same vhost */
    mdr_handshake_result again;
    FZ_CHECK(mdr_handshake(t, l, 1, hs->sni, hs->sni_len, &again) == 0);
    FZ_CHECK(again.sni_valid && again.sni_len == hs->sni_len &&
             memcmp(again.sni, hs->sni, hs->sni_len) == 0);
    FZ_CHECK(again.outcome == hs->outcome && again.vhost == hs->vhost && again.reason == hs->reason);
  } else if (has_sni) {
    FZ_CHECK(hs->reason != MDR_REASON_SNI_MATCH);
    /* an SNI holding NUL or longer than 255 is never valid */
    (void)sni;
    (void)sni_len;
  }
  if (has_sni && sni_len > 255) FZ_CHECK(!hs->sni_valid);
  if (has_sni && sni && memchr(sni, '\0', sni_len)) FZ_CHECK(!hs->sni_valid);
}

typedef struct collect {
  char (*buf)[300];
  mdr_str *out;
  size_t n, cap;
} collect;

static int collect_fn(void *user, const char *origin, size_t len) {
  collect *c = user;
  FZ_CHECK(len > 8 && len < 300 && memcmp(origin, "https://", 8) == 0);
  if (c->n == c->cap) return 1;
  memcpy(c->buf[c->n], origin, len);
  c->out[c->n].ptr = c->buf[c->n];
  c->out[c->n].len = len;
  c->n++;
  return 0;
}

size_t fz_origin_set(const mdr_table *t, mdr_index l, mdr_index h, mdr_http_version v,
                     char (*buf)[300], mdr_str *out, size_t cap) {
  collect c = { buf, out, 0, cap };
  int rc = mdr_origin_set_each(t, l, h, v, collect_fn, &c);
  FZ_CHECK(rc >= 0);
  FZ_CHECK((size_t)rc == c.n || (c.n == cap && (size_t)rc == cap + 1));
  /* The set's shortcuts give what the walk over every vhost gives, in the
   * same order (lib/origin_set.c). */
  enum { ALL_MAX = 64 };
  static char abuf[ALL_MAX][300];
  mdr_str aout[ALL_MAX];
  size_t acap = cap < ALL_MAX ? cap : ALL_MAX;
  collect a = { abuf, aout, 0, acap };
  int arc = mdri_origin_set_walk_all(t, l, h, v, NULL, collect_fn, &a);
  if (acap == cap) FZ_CHECK(arc == rc);
  FZ_CHECK(a.n == (c.n < acap ? c.n : acap));
  for (size_t i = 0; i < a.n; i++) FZ_CHECK(fz_str_eq(aout[i], out[i]));
  return c.n;
}

enum { MAX_ORIGINS = 64 };

void fz_check_origin_set(const mdr_table *t, mdr_index l, mdr_index h, mdr_http_version v) {
  static char buf[MAX_ORIGINS][300];
  mdr_str set[MAX_ORIGINS];
  size_t n = fz_origin_set(t, l, h, v, buf, set, MAX_ORIGINS);
  mdr_index hv = h;
  if (hv == MDR_NONE) {
    mdr_listener_info li;
    FZ_CHECK(mdr_table_listener_info(t, l, &li) == 0);
    hv = li.default_vhost;
  }
  for (size_t i = 0; i < n; i++) {
    /* canonical: lower-case, no ":443" */
    for (size_t k = 0; k < set[i].len; k++) FZ_CHECK(!fz_is_upper((unsigned char)set[i].ptr[k]));
    FZ_CHECK(!(set[i].len > 4 && memcmp(set[i].ptr + set[i].len - 4, ":443", 4) == 0));
    for (size_t k = 0; k < i; k++) FZ_CHECK(!fz_str_eq(set[k], set[i]));
    mdr_str auth = fz_dup(set[i].ptr + 8, set[i].len - 8);
    mdr_str alpn = v == MDR_HTTP_2 ? (mdr_str)S("h2") : (mdr_str)S("h3");
    mdr_conn c = { .listener = l, .has_hs_vhost = h != MDR_NONE, .hs_vhost = hv, .has_alpn = 1,
                   .alpn = alpn, .has_origin_set = 1, .origin_set = set, .n_origin_set = n };
    mdr_request r = { .version = v, .has_target = 1, .target = S("/"), .has_scheme = 1,
                      .scheme = S("https"), .authority = &auth, .n_authority = 1 };
    mdr_decision d;
    char loc[600];
    FZ_CHECK(mdr_decide(t, &c, &r, &d, loc, sizeof loc) == 0);
    if (d.kind != MDR_SERVE && d.kind != MDR_REDIRECT) {
      fprintf(stderr, "origin %.*s (listener %u, H %u, HTTP/%d) -> %u %s\n", (int)set[i].len,
              set[i].ptr, (unsigned)l, (unsigned)hv, v == MDR_HTTP_2 ? 2 : 3, d.status,
              mdr_reason_token(d.reason));
    }
    FZ_CHECK(d.kind == MDR_SERVE || d.kind == MDR_REDIRECT);
    FZ_CHECK(d.handshake_vhost == hv);
    /* and without the ORIGIN frame, the same answer (the set only narrows) */
    c.has_origin_set = 0;
    mdr_decision d2;
    FZ_CHECK(mdr_decide(t, &c, &r, &d2, loc, sizeof loc) == 0);
    FZ_CHECK(d2.kind == d.kind && d2.vhost == d.vhost && d2.status == d.status);
    fz_free(auth);
  }
}
