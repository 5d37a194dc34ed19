/*
 * The server's origin set comes from the core (mdr_origin_set_each); this
 * test checks it against the codec and against mdr_decide, for every TLS
 * listener and every SNI the handshake accepts, over the test tables:
 *
 *  - every advertised origin is canonical for the strict decoder and survives
 *    HTTP/2 and HTTP/3 encoding and decoding unchanged;
 *  - every advertised origin is served or redirected on that connection
 *    (with and without the advertised set passed to decide);
 *  - every concrete configured name that is not advertised (other than the
 *    connection's initial origin) is refused on that connection;
 *  - rule 7: under sni-host=ignore the advertised set bounds what is served,
 *    so a name under a wildcard is refused once the set was advertised;
 *    under compatible and strict the set is advisory: every decision is the
 *    same with the set as without it.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "origin_testutil.h"

#define MAX_NAMES 256
#define MAX_SET 256

typedef struct name_list {
  size_t n;
  char name[MAX_NAMES][MDR_HOST_MAX + 1];
  int wildcard[MAX_NAMES]; /* 1: an instance ("zz.") of a wildcard pattern */
} name_list;

typedef struct set_list {
  size_t n;
  char origin[MAX_SET][MDR_ORIGIN_BUFSIZE];
  mdr_str str[MAX_SET];
} set_list;

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  static char buf[1 << 16];
  *len = fread(buf, 1, sizeof buf - 1, f);
  assert_true(*len < sizeof buf - 1);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

static void add_name(name_list *nl, const char *s, size_t n) {
  int wild = n > 2 && s[0] == '*' && s[1] == '.';
  char tmp[MDR_HOST_MAX + 3];
  if (wild) {
    snprintf(tmp, sizeof tmp, "zz.%.*s", (int)(n - 2), s + 2);
  } else {
    snprintf(tmp, sizeof tmp, "%.*s", (int)n, s);
  }
  for (size_t i = 0; i < nl->n; i++)
    if (strcmp(nl->name[i], tmp) == 0) return;
  assert_true(nl->n < MAX_NAMES);
  assert_true(strlen(tmp) <= MDR_HOST_MAX);
  strcpy(nl->name[nl->n], tmp);
  nl->wildcard[nl->n] = wild;
  nl->n++;
}

/* Every names=/redirect-names= value of every vhost line (the candidates). */
static void collect_names(const char *text, name_list *nl) {
  const char *keys[] = {"names=", "redirect-names="};
  for (size_t k = 0; k < 2; k++) {
    const char *p = text;
    size_t kl = strlen(keys[k]);
    while ((p = strstr(p, keys[k])) != NULL) {
      if (p > text && p[-1] != ' ' && p[-1] != '\t') {
        p += kl;
        continue;
      }
      p += kl;
      for (;;) {
        size_t n = strcspn(p, ", \t\r\n\\");
        if (n) add_name(nl, p, n);
        p += n;
        if (*p != ',') break;
        p++;
      }
    }
  }
  add_name(nl, "unknown.example.com", 19);
  add_name(nl, "unknown.invalid", 15);
}

static int collect_origin(void *user, const char *origin, size_t len) {
  set_list *s = user;
  assert_true(s->n < MAX_SET);
  assert_true(len < MDR_ORIGIN_BUFSIZE);
  memcpy(s->origin[s->n], origin, len);
  s->origin[s->n][len] = '\0';
  s->str[s->n].ptr = s->origin[s->n];
  s->str[s->n].len = len;
  s->n++;
  return 0;
}

static int in_set(const set_list *s, const char *origin) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->origin[i], origin) == 0) return 1;
  return 0;
}

/* Encode with HTTP/2 (small frames, to force splitting) and HTTP/3, decode,
 * compare. */
static void check_codec(const set_list *s) {
  static ot_list l;
  static uint8_t buf[1 << 16];
  size_t len, frames;
  for (size_t i = 0; i < s->n; i++)
    if (!mdr_origin_is_canonical(s->str[i].ptr, s->str[i].len))
      fail_msg("core advertised a non-canonical origin '%s'", s->origin[i]);
  assert_int_equal(mdr_origin_h2_encode(s->str, s->n, 64, buf, sizeof buf, &len, &frames), 0);
  memset(&l, 0, sizeof l);
  size_t off = 0;
  for (size_t f = 0; f < frames; f++) {
    mdr_origin_result res;
    assert_int_equal(mdr_origin_h2_decode(buf + off, len - off, ot_collect, &l, &res), 0);
    assert_int_equal(res.status, MDR_ORIGIN_PROCESSED);
    off += res.consumed;
  }
  assert_int_equal(off, len);
  assert_int_equal(l.n, s->n);
  for (size_t i = 0; i < s->n; i++) assert_string_equal(l.str[i], s->origin[i]);
  assert_int_equal(mdr_origin_h3_encode(s->str, s->n, buf, sizeof buf, &len), 0);
  memset(&l, 0, sizeof l);
  mdr_origin_result res;
  assert_int_equal(mdr_origin_h3_decode(buf, len, ot_collect, &l, &res), 0);
  assert_int_equal(l.n, s->n);
}

typedef struct conn_ctx {
  const mdr_table *t;
  mdr_index listener;
  mdr_index hs_vhost;
  int has_sni;
  const char *sni;
  uint16_t public_port;
  mdr_http_version version;
  const set_list *set;
} conn_ctx;

static mdr_decision decide_for(const conn_ctx *c, const char *host, int with_set) {
  mdr_conn conn;
  memset(&conn, 0, sizeof conn);
  conn.listener = c->listener;
  conn.has_hs_vhost = c->hs_vhost != MDR_NONE;
  conn.hs_vhost = c->hs_vhost;
  conn.has_sni = c->has_sni;
  if (c->has_sni) {
    conn.sni.ptr = c->sni;
    conn.sni.len = strlen(c->sni);
  }
  conn.has_alpn = 1;
  conn.alpn.ptr = c->version == MDR_HTTP_2 ? "h2" : "h3";
  conn.alpn.len = 2;
  if (with_set) {
    conn.has_origin_set = 1;
    conn.origin_set = c->set->str;
    conn.n_origin_set = c->set->n;
  }
  char auth[MDR_ORIGIN_BUFSIZE];
  if (c->public_port == 443)
    snprintf(auth, sizeof auth, "%s", host);
  else
    snprintf(auth, sizeof auth, "%s:%u", host, (unsigned)c->public_port);
  mdr_str authority = {auth, strlen(auth)};
  mdr_request req;
  memset(&req, 0, sizeof req);
  req.version = c->version;
  req.method.ptr = "GET";
  req.method.len = 3;
  req.has_target = 1;
  req.target.ptr = "/";
  req.target.len = 1;
  req.has_scheme = 1;
  req.scheme.ptr = "https";
  req.scheme.len = 5;
  req.authority = &authority;
  req.n_authority = 1;
  mdr_decision d;
  char loc[1024];
  assert_int_equal(mdr_decide(c->t, &conn, &req, &d, loc, sizeof loc), 0);
  return d;
}

static size_t g_checked_sets, g_checked_in, g_checked_out, g_checked_advisory, g_checked_bounding;

static void check_table(const char *path) {
  size_t len;
  const char *text = read_file(path, &len);
  mdr_table *t = NULL;
  mdr_error err;
  mdr_str src = {path, strlen(path)};
  if (mdr_table_parse(text, len, src, NULL, &t, &err) != 0) fail_msg("%s", err.message);
  static name_list names;
  memset(&names, 0, sizeof names);
  collect_names(text, &names);
  static set_list set;
  for (mdr_index li = 0; li < mdr_table_listener_count(t); li++) {
    mdr_listener_info linfo;
    assert_int_equal(mdr_table_listener_info(t, li, &linfo), 0);
    if (!linfo.tls) {
      memset(&set, 0, sizeof set);
      assert_int_equal(mdr_origin_set_each(t, li, MDR_NONE, MDR_HTTP_2, collect_origin, &set),
                       MDR_ERR_WRONG_LISTENER);
      continue;
    }
    /* Every SNI candidate (and no SNI) the handshake accepts. */
    for (size_t si = 0; si <= names.n; si++) {
      int has_sni = si < names.n;
      const char *sni = has_sni ? names.name[si] : NULL;
      mdr_handshake_result hs;
      assert_int_equal(mdr_handshake(t, li, has_sni, sni, has_sni ? strlen(sni) : 0, &hs), 0);
      if (hs.outcome != MDR_HS_ACCEPT) continue;
      for (int ver = 0; ver < 2; ver++) {
        conn_ctx c = {t, li, hs.vhost, has_sni && hs.sni_valid, sni, linfo.public_port,
                      ver ? MDR_HTTP_3 : MDR_HTTP_2, &set};
        memset(&set, 0, sizeof set);
        int n = mdr_origin_set_each(t, li, hs.vhost, c.version, collect_origin, &set);
        assert_int_equal(n, (int)set.n);
        g_checked_sets++;
        check_codec(&set);
        /* Initial origin of this connection (https + SNI + public port). */
        char initial[MDR_ORIGIN_BUFSIZE] = "";
        size_t il;
        if (c.has_sni)
          assert_int_equal(mdr_origin_serialize(sni, strlen(sni), linfo.public_port, initial,
                                                sizeof initial, &il), 0);
        /* Advertised → served or redirected. */
        for (size_t k = 0; k < set.n; k++) {
          mdr_origin_parts parts;
          assert_int_equal(mdr_origin_parse(set.str[k].ptr, set.str[k].len, &parts), 0);
          assert_int_equal(parts.port, linfo.public_port);
          char host[MDR_HOST_MAX + 1];
          snprintf(host, sizeof host, "%.*s", (int)parts.host.len, parts.host.ptr);
          for (int with_set = 0; with_set < 2; with_set++) {
            mdr_decision d = decide_for(&c, host, with_set);
            if (d.kind != MDR_SERVE && d.kind != MDR_REDIRECT)
              fail_msg("%s: listener %.*s sni %s v%d: advertised %s got %u %s (with set %d)", path,
                       (int)linfo.name.len, linfo.name.ptr, sni ? sni : "-", ver ? 3 : 2, set.origin[k], d.status,
                       mdr_reason_token(d.reason), with_set);
            g_checked_in++;
          }
        }
        /* Not advertised → refused (the initial origin excepted). */
        for (size_t k = 0; k < names.n; k++) {
          char o[MDR_ORIGIN_BUFSIZE];
          size_t ol;
          if (mdr_origin_serialize(names.name[k], strlen(names.name[k]), linfo.public_port, o,
                                   sizeof o, &ol) != 0)
            continue;
          if (in_set(&set, o) || strcmp(o, initial) == 0) continue;
          int bounding = linfo.sni_host == MDR_SNI_HOST_IGNORE;
          if (!bounding) {
            /* Advisory: the set changes no answer. */
            mdr_decision d0 = decide_for(&c, names.name[k], 0);
            mdr_decision d1 = decide_for(&c, names.name[k], 1);
            if (d0.status != d1.status || d0.reason != d1.reason)
              fail_msg("%s: listener %.*s sni %s v%d: %s got %u %s with the set, %u %s without",
                       path, (int)linfo.name.len, linfo.name.ptr, sni ? sni : "-", ver ? 3 : 2, o,
                       d1.status, mdr_reason_token(d1.reason), d0.status,
                       mdr_reason_token(d0.reason));
            g_checked_advisory++;
          }
          for (int with_set = 0; with_set < 2; with_set++) {
            /* A name under a wildcard may be coalesced: the set cannot list
             * it, so only a bounding set refuses it. */
            if ((!with_set || !bounding) && names.wildcard[k]) continue;
            /* unknown-host=default serves any name by the default vhost. */
            if (!bounding && linfo.unknown_host == MDR_UNKNOWN_HOST_DEFAULT) continue;
            if (with_set && bounding && names.wildcard[k]) g_checked_bounding++;
            mdr_decision d = decide_for(&c, names.name[k], with_set);
            if (d.kind == MDR_SERVE || d.kind == MDR_REDIRECT)
              fail_msg("%s: listener %.*s sni %s v%d: %s is not advertised but got %u %s (with set %d)",
                       path, (int)linfo.name.len, linfo.name.ptr, sni ? sni : "-", ver ? 3 : 2, o, d.status,
                       mdr_reason_token(d.reason), with_set);
            g_checked_out++;
          }
        }
      }
    }
  }
  mdr_table_unref(t);
}

static void test_rules_table(void **state) {
  (void)state;
  g_checked_sets = g_checked_in = g_checked_out = 0;
  check_table(ORIGIN_TABLES "/rules.vhosts");
  /* The table has many TLS listeners and SNIs: the checks really ran. */
  print_message("rules.vhosts: %zu sets, %zu advertised and %zu other decisions checked\n", g_checked_sets, g_checked_in, g_checked_out);
  assert_true(g_checked_sets >= 20);
  assert_true(g_checked_in >= 50);
  assert_true(g_checked_out >= 50);
}

static void test_basic_table(void **state) {
  (void)state;
  g_checked_sets = g_checked_in = g_checked_out = 0;
  check_table(ORIGIN_TABLES "/basic.vhosts");
  assert_true(g_checked_sets >= 4);
  assert_true(g_checked_in > 0);
  assert_true(g_checked_out > 0);
}

/* options.vhosts has a sni-host=ignore listener (the set bounds what is
 * served there) next to strict and compatible ones (the set is advisory). */
static void test_options_table(void **state) {
  (void)state;
  g_checked_sets = g_checked_in = g_checked_out = g_checked_advisory = g_checked_bounding = 0;
  check_table(ORIGIN_TABLES "/options.vhosts");
  print_message("options.vhosts: %zu sets, %zu advisory and %zu bounding checks\n",
                g_checked_sets, g_checked_advisory, g_checked_bounding);
  assert_true(g_checked_sets >= 10);
  assert_true(g_checked_in > 0);
  assert_true(g_checked_advisory >= 20);
  assert_true(g_checked_bounding > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_options_table),
    cmocka_unit_test(test_basic_table),
    cmocka_unit_test(test_rules_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
