/* The fast lookup against a simple reference.  Random tables are built
 * through the builder API (exact names, wildcards, redirect aliases, IPv4 and
 * IPv6 names, two listeners, certificates with their own names, two TLS
 * policies); random queries (configured names in random case, with a
 * trailing dot, names under wildcards, apexes, two labels under a wildcard,
 * unknown names, IP literals, aliases) are decided by mdr_decide and
 * mdr_handshake, and looked up by mdri_lookup / mdri_cert_covers, and every
 * answer is compared with a linear-scan reference written here. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "internal.h"
#include "testutil.h"

/* ---- deterministic random numbers --------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static unsigned below(unsigned n) { return (unsigned)(rnd() % n); }

/* ---- the random table ----------------------------------------------------- */

#define MAX_VHOSTS 160
#define MAX_NAMES 4   /* names= per vhost */
#define MAX_ALIASES 2
#define MAX_CERT_NAMES 24
#define N_CERTS 3
#define NAME_CAP 96

enum { L_TLS = 0, L_PLAIN = 1 };

typedef struct rname {
  char s[NAME_CAP]; /* as configured (lower-case; wildcards keep "*.") */
  int wild, alias;
} rname;

typedef struct rvhost {
  char name[16];
  rname names[MAX_NAMES + MAX_ALIASES];
  int n_names, n_aliases;
  int on[2];   /* listens on L_TLS / L_PLAIN */
  int cert;    /* index */
  int policy;  /* 0 = default, 1 = "staff" (client-auth required) */
} rvhost;

typedef struct rtable {
  rvhost v[MAX_VHOSTS];
  int n;
  char cert_names[N_CERTS][MAX_CERT_NAMES][NAME_CAP];
  int n_cert_names[N_CERTS];
  int unknown_host[2]; /* 1 = default */
  int default_vhost;   /* on both listeners */
  mdr_table *t;
} rtable;

/* Small label alphabet so that suffixes collide a lot. */
static const char *const labels[] = { "a", "b", "ab", "www", "x-y", "_s", "zz9", "m0", "api",
                                      "c-d-e", "q", "xn--p1ai" };
#define N_LABELS (sizeof labels / sizeof labels[0])
static const char *const tlds[] = { "example", "test", "org", "co" };

static void random_dns(char *out, int min_labels) {
  int nl = min_labels + (int)below(3);
  out[0] = '\0';
  for (int i = 0; i < nl; i++) {
    strcat(out, labels[below(N_LABELS)]);
    strcat(out, ".");
  }
  strcat(out, tlds[below(4)]);
}

static void random_ip(char *out) {
  if (below(2))
    snprintf(out, NAME_CAP, "192.0.2.%u", below(40));
  else
    snprintf(out, NAME_CAP, "[2001:db8::%x]", 1 + below(40)); /* canonical */
}

/* Is the lower-case name already claimed anywhere (names are unique in the
 * table so that no two vhosts clash on a listener)? */
static int taken(const rtable *r, const char *s) {
  for (int i = 0; i < r->n; i++)
    for (int k = 0; k < r->v[i].n_names + r->v[i].n_aliases; k++)
      if (strcmp(r->v[i].names[k].s, s) == 0) return 1;
  return 0;
}

static void random_config_name(const rtable *r, rname *out, int allow_wild) {
  for (int tries = 0; tries < 1000; tries++) {
    int kind = (int)below(10);
    out->wild = 0;
    if (allow_wild && kind < 3) {
      out->s[0] = '*';
      out->s[1] = '.';
      random_dns(out->s + 2, 1);
      out->wild = 1;
    } else if (allow_wild && kind == 3) {
      random_ip(out->s);
    } else {
      random_dns(out->s, 1);
    }
    if (!taken(r, out->s)) return;
  }
  fail_msg("could not draw a fresh name");
}

static void make_table(rtable *r, int n_vhosts) {
  memset(r, 0, sizeof *r);
  r->n = 0;
  for (int c = 0; c < N_CERTS; c++) {
    r->n_cert_names[c] = 1 + (int)below(MAX_CERT_NAMES);
    for (int k = 0; k < r->n_cert_names[c]; k++) {
      char *s = r->cert_names[c][k];
      if (below(3) == 0) {
        s[0] = '*';
        s[1] = '.';
        random_dns(s + 2, 1);
      } else if (below(6) == 0) {
        random_ip(s);
      } else {
        random_dns(s, 1);
      }
    }
  }
  for (int i = 0; i < n_vhosts; i++) {
    rvhost *v = &r->v[i];
    snprintf(v->name, sizeof v->name, "v%d", i);
    int want_names = 1 + (int)below(MAX_NAMES), want_aliases = (int)below(MAX_ALIASES + 1);
    v->n_names = v->n_aliases = 0;
    r->n = i + 1; /* taken() sees this vhost's earlier names too */
    for (int k = 0; k < want_names; k++) {
      random_config_name(r, &v->names[v->n_names], 1);
      v->names[v->n_names++].alias = 0;
    }
    for (int k = 0; k < want_aliases; k++) {
      rname *nm = &v->names[v->n_names + v->n_aliases];
      random_config_name(r, nm, 0); /* concrete DNS names only */
      nm->alias = 1;
      v->n_aliases++;
    }
    if (v->n_aliases && v->names[0].wild) {
      /* redirect-names= needs a concrete first name: swap one in. */
      int j = 1;
      while (j < v->n_names && v->names[j].wild) j++;
      if (j < v->n_names) {
        rname tmp = v->names[0];
        v->names[0] = v->names[j];
        v->names[j] = tmp;
      } else {
        v->n_aliases = 0;
      }
    }
    int on = (int)below(3);
    v->on[L_TLS] = on != 1;
    v->on[L_PLAIN] = on != 0;
    v->cert = (int)below(N_CERTS);
    v->policy = below(4) == 0;
  }
  r->n = n_vhosts;
  r->default_vhost = 0;
  r->v[0].on[L_TLS] = r->v[0].on[L_PLAIN] = 1;
  r->unknown_host[L_TLS] = (int)below(2);
  r->unknown_host[L_PLAIN] = (int)below(2);

  /* Build it through the public builder. */
  mdr_builder *b = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(mdr_builder_new(&b, NULL), 0);
  mdr_listener_conf lc[2];
  memset(lc, 0, sizeof lc);
  lc[L_TLS].name = tu_str("tls");
  lc[L_TLS].tls = 1;
  lc[L_TLS].port = 443;
  lc[L_PLAIN].name = tu_str("plain");
  lc[L_PLAIN].port = 80;
  for (int l = 0; l < 2; l++) {
    lc[l].default_vhost = tu_str(r->v[0].name);
    lc[l].unknown_host = r->unknown_host[l] ? MDR_UNKNOWN_HOST_DEFAULT : MDR_UNKNOWN_HOST_REJECT;
    assert_int_equal(mdr_builder_add_listener(b, &lc[l], &err), 0);
  }
  char cname[N_CERTS][8];
  for (int c = 0; c < N_CERTS; c++) {
    mdr_str names[MAX_CERT_NAMES];
    for (int k = 0; k < r->n_cert_names[c]; k++) names[k] = tu_str(r->cert_names[c][k]);
    snprintf(cname[c], sizeof cname[c], "c%d", c);
    mdr_cert_conf cc = { .name = tu_str(cname[c]), .names = names,
                         .n_names = (size_t)r->n_cert_names[c] };
    assert_int_equal(mdr_builder_add_cert(b, &cc, &err), 0);
  }
  mdr_policy_conf staff = { .name = tu_str("staff"), .client_auth = MDR_CLIENT_AUTH_REQUIRED };
  assert_int_equal(mdr_builder_add_policy(b, &staff, &err), 0);
  for (int i = 0; i < r->n; i++) {
    rvhost *v = &r->v[i];
    mdr_str names[MAX_NAMES], aliases[MAX_ALIASES], ls[2];
    size_t nl = 0;
    if (v->on[L_TLS]) ls[nl++] = tu_str("tls");
    if (v->on[L_PLAIN]) ls[nl++] = tu_str("plain");
    for (int k = 0; k < v->n_names; k++) names[k] = tu_str(v->names[k].s);
    for (int k = 0; k < v->n_aliases; k++) aliases[k] = tu_str(v->names[v->n_names + k].s);
    mdr_vhost_conf vc = { .name = tu_str(v->name), .listeners = ls, .n_listeners = nl,
                          .names = names, .n_names = (size_t)v->n_names,
                          .redirect_names = aliases, .n_redirect_names = (size_t)v->n_aliases,
                          .cert = tu_str(cname[v->cert]),
                          .policy = tu_str(v->policy ? "staff" : "") };
    int rc = mdr_builder_add_vhost(b, &vc, &err);
    if (rc) print_error("add_vhost %s: %s\n", v->name, err.message);
    assert_int_equal(rc, 0);
  }
  int rc = mdr_builder_build(b, &r->t, &err);
  if (rc) print_error("build: %s\n", err.message);
  assert_int_equal(rc, 0);
  mdr_builder_free(b);
}

/* ---- the reference ----------------------------------------------------- */

/* Lower-case, strip one trailing dot. */
static void ref_norm(const char *q, char *out) {
  size_t n = strlen(q);
  for (size_t i = 0; i < n; i++) out[i] = (char)mdri_lower((unsigned char)q[i]);
  if (n && out[n - 1] == '.') n--;
  out[n] = '\0';
}

static int is_ip(const char *h) {
  if (h[0] == '[') return 1;
  const char *last = strrchr(h, '.');
  last = last ? last + 1 : h;
  return *last >= '0' && *last <= '9';
}

/* The vhost on listener l serving normalised host h; *kind = MDRI_NAME_*. */
static int ref_lookup(const rtable *r, int l, const char *h, int *kind) {
  for (int i = 0; i < r->n; i++) {
    if (!r->v[i].on[l]) continue;
    for (int k = 0; k < r->v[i].n_names + r->v[i].n_aliases; k++) {
      const rname *nm = &r->v[i].names[k];
      if (!nm->wild && strcmp(nm->s, h) == 0) {
        *kind = nm->alias ? MDRI_NAME_ALIAS : MDRI_NAME_EXACT;
        return i;
      }
    }
  }
  const char *dot = strchr(h, '.');
  if (!dot || is_ip(h)) return -1;
  for (int i = 0; i < r->n; i++) {
    if (!r->v[i].on[l]) continue;
    for (int k = 0; k < r->v[i].n_names; k++) {
      const rname *nm = &r->v[i].names[k];
      if (nm->wild && strcmp(nm->s + 2, dot + 1) == 0) {
        *kind = MDRI_NAME_WILD;
        return i;
      }
    }
  }
  return -1;
}

static int ref_covers(const rtable *r, int c, const char *h) {
  for (int k = 0; k < r->n_cert_names[c]; k++)
    if (strcmp(r->cert_names[c][k], h) == 0) return 1;
  const char *dot = strchr(h, '.');
  if (!dot || is_ip(h)) return 0;
  for (int k = 0; k < r->n_cert_names[c]; k++) {
    const char *s = r->cert_names[c][k];
    if (s[0] == '*' && strcmp(s + 2, dot + 1) == 0) return 1;
  }
  return 0;
}

/* ---- queries -------------------------------------------------------------- */

static void random_case(char *s) {
  for (; *s; s++)
    if (*s >= 'a' && *s <= 'z' && below(3) == 0) *s = (char)(*s - 32);
}

static void random_query(const rtable *r, char *q) {
  const rvhost *v = &r->v[below((unsigned)r->n)];
  const rname *nm = &v->names[below((unsigned)(v->n_names + v->n_aliases))];
  unsigned pick = below(8);
  if (pick <= 2 && is_ip(nm->s)) pick = 0; /* no labels around an IP */
  switch (pick) {
  case 0: case 1: /* a configured name (wildcards: a name under it) */
    if (nm->wild)
      snprintf(q, 2 * NAME_CAP, "%s%s", labels[below(N_LABELS)], nm->s + 1);
    else
      snprintf(q, 2 * NAME_CAP, "%s", nm->s);
    break;
  case 2: /* the apex of a wildcard, or two labels under it */
    if (nm->wild && below(2))
      snprintf(q, 2 * NAME_CAP, "%s", nm->s + 2);
    else if (nm->wild)
      snprintf(q, 2 * NAME_CAP, "%s.%s%s", labels[below(N_LABELS)], labels[below(N_LABELS)], nm->s + 1);
    else
      snprintf(q, 2 * NAME_CAP, "%s.%s", labels[below(N_LABELS)], nm->s);
    break;
  case 3: /* a cert name */
    {
      int c = (int)below(N_CERTS);
      const char *s = r->cert_names[c][below((unsigned)r->n_cert_names[c])];
      if (s[0] == '*')
        snprintf(q, 2 * NAME_CAP, "%s%s", labels[below(N_LABELS)], s + 1);
      else
        snprintf(q, 2 * NAME_CAP, "%s", s);
    }
    break;
  case 4: random_ip(q); break;
  default: random_dns(q, 1); break;
  }
  if (q[0] != '[' && below(4) == 0) random_case(q);
  if (q[0] == '[' && below(4) == 0) random_case(q); /* hex digits in upper case */
  if (q[0] != '[' && below(10) == 0) strcat(q, ".");
}

/* ---- the comparison ---------------------------------------------------- */

static void check_query(const rtable *r, const char *q) {
  char h[2 * NAME_CAP + 2];
  ref_norm(q, h);
  mdr_authority a;
  int valid = 0;
  mdr_reason why;
  assert_int_equal(mdr_authority_parse(q, strlen(q), 0, &a, &valid, &why), 0);
  if (!valid) print_error("query '%s' invalid: %s\n", q, mdr_reason_token(why));
  assert_true(valid);
  if (h[0] != '[') assert_string_equal(a.host, h);

  for (int l = 0; l < 2; l++) {
    int kind = -1, fkind = -1;
    int want = ref_lookup(r, l, a.host, &kind);
    mdr_index got = mdri_lookup(r->t, (mdr_index)l, a.host, a.host_len, a.kind, &fkind);
    if ((int)got != (want < 0 ? (int)MDR_NONE : want) || (want >= 0 && fkind != kind))
      print_error("listener %d query '%s': fast %d/%d, reference %d/%d\n", l, q, (int)got, fkind,
                  want, kind);
    assert_int_equal((int)got, want < 0 ? (int)MDR_NONE : want);
    if (want >= 0) assert_int_equal(fkind, kind);
  }
  for (int c = 0; c < N_CERTS; c++) {
    int fast = mdri_cert_covers(r->t, (uint32_t)c, a.host, a.host_len, a.kind);
    if (fast != ref_covers(r, c, a.host)) print_error("cert %d query '%s': fast %d\n", c, q, fast);
    assert_int_equal(fast, ref_covers(r, c, a.host));
  }

  /* The handshake step (SNI never carries an IP). */
  if (a.kind == MDR_HOST_NAME) {
    mdr_handshake_result hr;
    assert_int_equal(mdr_handshake(r->t, L_TLS, 1, q, strlen(q), &hr), 0);
    int kind;
    int want = ref_lookup(r, L_TLS, a.host, &kind);
    if (want >= 0) {
      assert_int_equal(hr.outcome, MDR_HS_ACCEPT);
      assert_int_equal((int)hr.vhost, want);
    } else {
      assert_int_equal(hr.outcome, MDR_HS_ALERT); /* unknown-sni=reject */
    }
  }

  /* Full decisions: HTTP/1.1 GET / with Host = q on both listeners; over
   * TLS with a random handshake vhost. */
  for (int l = 0; l < 2; l++) {
    int kind = 0;
    int rv = ref_lookup(r, l, a.host, &kind);
    int fallback = 0;
    int hv = -1;
    if (l == L_TLS) {
      do hv = (int)below((unsigned)r->n); while (!r->v[hv].on[L_TLS]);
    }
    mdr_conn c;
    memset(&c, 0, sizeof c);
    c.listener = (mdr_index)l;
    c.has_hs_vhost = hv >= 0;
    c.hs_vhost = hv < 0 ? 0 : (mdr_index)hv;
    mdr_str host = tu_str(q);
    mdr_request rq;
    memset(&rq, 0, sizeof rq);
    rq.version = MDR_HTTP_1_1;
    rq.has_target = 1;
    rq.target = tu_str("/");
    rq.host = &host;
    rq.n_host = 1;
    mdr_decision d;
    char loc[256];
    assert_int_equal(mdr_decide(r->t, &c, &rq, &d, loc, sizeof loc), 0);
    if (rv < 0) {
      if (!r->unknown_host[l]) {
        assert_int_equal(d.status, 421);
        assert_int_equal(d.reason, MDR_REASON_UNKNOWN_HOST);
        assert_int_equal(d.request_vhost, MDR_NONE);
        continue;
      }
      rv = r->default_vhost;
      fallback = 1;
    }
    assert_int_equal((int)d.request_vhost, rv);
    if (l == L_TLS && rv != hv) {
      const rvhost *H = &r->v[hv];
      if (!ref_covers(r, H->cert, a.host)) {
        assert_int_equal(d.status, 421);
        assert_int_equal(d.reason, MDR_REASON_CERT_NOT_COVERING);
        continue;
      }
      if (H->policy != r->v[rv].policy) {
        assert_int_equal(d.status, 421);
        assert_int_equal(d.reason, MDR_REASON_POLICY_MISMATCH);
        continue;
      }
    }
    assert_int_equal((int)d.vhost, rv);
    if (!fallback && kind == MDRI_NAME_ALIAS) {
      char want[NAME_CAP + 16];
      snprintf(want, sizeof want, "%s://%s/", l == L_TLS ? "https" : "http", r->v[rv].names[0].s);
      assert_int_equal(d.kind, MDR_REDIRECT);
      assert_int_equal(d.status, 308);
      assert_string_equal(loc, want);
    } else {
      assert_int_equal(d.kind, MDR_SERVE);
      assert_int_equal(d.status, 200);
    }
  }
}

static void test_random_tables(void **state) {
  (void)state;
  rtable *r = malloc(sizeof *r);
  assert_non_null(r);
  rng_state = 20261126;
  char q[NAME_CAP * 2];
  for (int round = 0; round < 120; round++) {
    int n = 1 + (int)below(round < 60 ? 12 : MAX_VHOSTS);
    make_table(r, n);
    for (int i = 0; i < 400; i++) {
      random_query(r, q);
      check_query(r, q);
    }
    mdr_table_unref(r->t);
  }
  free(r);
}

/* The reference itself must be able to fail: a table where a wildcard and
 * an exact name share a suffix, checked by hand. */
static void test_reference_by_hand(void **state) {
  (void)state;
  rtable *r = calloc(1, sizeof *r);
  assert_non_null(r);
  r->n = 2;
  strcpy(r->v[0].names[0].s, "a.example");
  r->v[0].n_names = 1;
  r->v[0].on[0] = 1;
  strcpy(r->v[1].names[0].s, "*.example");
  r->v[1].names[0].wild = 1;
  strcpy(r->v[1].names[1].s, "b.a.example");
  r->v[1].names[1].alias = 1;
  r->v[1].n_names = 1;
  r->v[1].n_aliases = 1;
  r->v[1].on[0] = 1;
  int kind;
  assert_int_equal(ref_lookup(r, 0, "a.example", &kind), 0);
  assert_int_equal(kind, MDRI_NAME_EXACT);
  assert_int_equal(ref_lookup(r, 0, "z.example", &kind), 1);
  assert_int_equal(kind, MDRI_NAME_WILD);
  assert_int_equal(ref_lookup(r, 0, "example", &kind), -1);
  assert_int_equal(ref_lookup(r, 0, "x.z.example", &kind), -1);
  assert_int_equal(ref_lookup(r, 0, "b.a.example", &kind), 1);
  assert_int_equal(kind, MDRI_NAME_ALIAS);
  assert_int_equal(ref_lookup(r, 1, "a.example", &kind), -1);
  free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_reference_by_hand),
    cmocka_unit_test(test_random_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
