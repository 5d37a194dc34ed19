/* The origin set's shortcuts give the origins the full walk gives, in the
 * same order, under every cap (issue 12: the ORIGIN frame at scale).
 *
 * mdr_origin_set_each2 used to look at every vhost of the table for each
 * connection: with 100,000 vhosts, each on a certificate of its own, that
 * was 2.7 ms per HTTP/2 connection for a set of one origin.  Where the rules
 * let no other vhost onto the connection (sni-host=strict, or compatible
 * without a certificate for the handshake vhost H), or H's certificate lists
 * exact names only, it now looks up those names instead.  This test compares
 * it with the full walk (mdri_origin_set_walk_all) for every TLS listener,
 * every vhost as H, both versions and caps of 1, 2, 3, the default and none,
 * over the test tables and a table made to reach each shortcut and each way
 * around it.  A certificate with wildcards takes its cover groups (the
 * vhosts with a name under each wildcard, kept by the table): a table made
 * for those compares them too. */
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

#define MAX_SET 512

typedef struct seq {
  size_t n;
  char *o[MAX_SET];
} seq;

static int collect(void *user, const char *origin, size_t len) {
  seq *s = user;
  assert_true(s->n < MAX_SET);
  s->o[s->n] = malloc(len + 1);
  assert_non_null(s->o[s->n]);
  memcpy(s->o[s->n], origin, len);
  s->o[s->n][len] = '\0';
  s->n++;
  return 0;
}

static void seq_free(seq *s) {
  for (size_t i = 0; i < s->n; i++) free(s->o[i]);
  s->n = 0;
}

typedef struct tally {
  size_t compared;  /* (listener, H, version, cap) combinations */
  size_t others;    /* of them, sets holding an origin of a vhost other than H */
} tally;

static void compare_table(const mdr_table *t, const char *what, tally *ty) {
  const size_t caps[] = { 1, 2, 3, 0, SIZE_MAX };
  size_t nl = mdr_table_listener_count(t), nv = mdr_table_vhost_count(t);
  for (mdr_index l = 0; l < nl; l++) {
    mdr_listener_info li;
    assert_int_equal(mdr_table_listener_info(t, l, &li), 0);
    if (!li.tls) continue;
    for (mdr_index h = 0; h < nv; h++) {
      for (int ver = MDR_HTTP_2; ver <= MDR_HTTP_3; ver++) {
        for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
          mdr_origin_set_options o = { caps[c] };
          seq fast = { 0 }, all = { 0 };
          int nf = mdr_origin_set_each2(t, l, h, (mdr_http_version)ver, &o, collect, &fast);
          int na = mdri_origin_set_walk_all(t, l, h, (mdr_http_version)ver, &o, collect, &all);
          if (nf != na || fast.n != all.n)
            fail_msg("%s: listener %u, H %u, HTTP/%d, cap %zu: %d origins, the full walk %d",
                     what, (unsigned)l, (unsigned)h, ver, caps[c], nf, na);
          for (size_t i = 0; i < fast.n; i++)
            if (strcmp(fast.o[i], all.o[i]) != 0)
              fail_msg("%s: listener %u, H %u, HTTP/%d, cap %zu: origin %zu is %s, the full walk's %s",
                       what, (unsigned)l, (unsigned)h, ver, caps[c], i, fast.o[i], all.o[i]);
          ty->compared++;
          if (caps[c] == SIZE_MAX && ver == MDR_HTTP_2) {
            /* count the sets that hold a name of a vhost other than H */
            mdr_vhost_info vi;
            assert_int_equal(mdr_table_vhost_info(t, h, &vi), 0);
            size_t mine = 0;
            for (size_t i = 0; i < fast.n; i++)
              for (size_t k = 0;; k++) {
                mdr_str nm;
                if (mdr_table_vhost_name_at(t, h, k, &nm, NULL) != 0) break;
                const char *p = fast.o[i] + 8; /* after "https://" */
                if (strncmp(p, nm.ptr, nm.len) == 0 && (p[nm.len] == '\0' || p[nm.len] == ':')) {
                  mine++;
                  break;
                }
              }
            if (mine < fast.n) ty->others++;
          }
          seq_free(&fast);
          seq_free(&all);
        }
      }
    }
  }
}

/* A vhosts file written line by line into a fixed buffer (PUT). */
typedef struct vtext {
  char buf[1 << 15];
  size_t len;
} vtext;

static void put(vtext *x, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(vtext *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(x->buf + x->len, sizeof x->buf - x->len, fmt, ap);
  va_end(ap);
  assert_true(n >= 0 && (size_t)n < sizeof x->buf - x->len);
  x->len += (size_t)n;
}

#define PUT(...) put(tx, __VA_ARGS__)

static mdr_table *parse_text(const char *text, const char *src) {
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  mdr_str s = { src, strlen(src) };
  if (mdr_table_parse(text, strlen(text), s, NULL, &t, &err) != 0)
    fail_msg("%s: %s", src, err.message);
  return t;
}

static void test_case_tables(void **state) {
  (void)state;
  const char *dir = getenv("MISDIRECT_TEST_DATA");
  assert_non_null(dir);
  const char *files[] = { "basic", "rules", "options", "policies", "origin-ignore", "wildcard-hint" };
  tally ty = { 0, 0 };
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/cases/%s.vhosts", dir, files[f]);
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    static char buf[1 << 17];
    size_t len = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    assert_true(len < sizeof buf - 1);
    buf[len] = '\0';
    mdr_table *t = parse_text(buf, path);
    compare_table(t, path, &ty);
    mdr_table_unref(t);
  }
  print_message("case tables: %zu sets compared, %zu with other vhosts' origins\n", ty.compared,
                ty.others);
  assert_true(ty.compared > 1000);
  assert_true(ty.others > 0);
}

/* Every way into and around the shortcuts: exact-name certificates shared
 * by vhosts (primary names, redirect names, an IP literal, a name on
 * another listener only, another policy, HTTP/3 off), a name two
 * certificates list, a certificate with a wildcard, one with more names
 * than the lookup takes (257), a vhost without a certificate, and the
 * strict and ignore listeners; and a certificate that names its vhosts in
 * the reverse of their order in the table. */
static void test_made_table(void **state) {
  (void)state;
  vtext *tx = calloc(1, sizeof *tx);
  assert_non_null(tx);
  PUT("listener web    https 443  default=a\n");
  PUT("listener strict https 8443 default=a sni-host=strict\n");
  PUT("listener open   https 8444 default=a sni-host=ignore\n");
  PUT("listener other  https 8445 default=e\n");
  PUT("listener plain  http  80\n");
  PUT("cert ab a.example b.example c.example 192.0.2.7 d.example gone.example\n");
  PUT("cert b2 b.example z.example\n");
  PUT("cert wild *.w.example a.example\n");
  PUT("cert big");
  for (int i = 0; i < 257; i++) PUT(" n%d.example", i);
  PUT("\n");
  /* names in the reverse of their vhosts' table order */
  PUT("cert rev r.example last.example n8.example d.example b.example a.example\n");
  PUT("policy staff client-auth=required\n");
  PUT("vhost a  listen=web,strict,open names=a.example cert=ab\n");
  PUT("vhost b  listen=web,strict,open names=b.example redirect-names=c.example cert=b2\n");
  PUT("vhost ip listen=web,open names=192.0.2.7 cert=ab\n");
  PUT("vhost d  listen=web names=d.example cert=ab policy=staff\n");
  PUT("vhost e  listen=other names=gone.example cert=ab\n");
  PUT("vhost z  listen=web,strict names=z.example cert=b2 protocols=h1,h2\n");
  PUT("vhost w1 listen=web,open names=x.w.example cert=wild\n");
  PUT("vhost w2 listen=web,open names=y.w.example cert=ab\n");
  PUT("vhost nc listen=plain names=nc.example\n"); /* H without a cert */
  for (int i = 0; i < 65; i += 8)
    PUT("vhost n%d listen=web,open names=n%d.example cert=%s\n", i, i, i % 16 ? "big" : "ab");
  PUT("vhost last listen=web,strict,open names=last.example cert=ab\n");
  PUT("vhost r listen=web names=r.example cert=rev\n");
  mdr_table *t = parse_text(tx->buf, "made.vhosts");
  free(tx);
  tally ty = { 0, 0 };
  compare_table(t, "made.vhosts", &ty);
  print_message("made table: %zu sets compared, %zu with other vhosts' origins\n", ty.compared,
                ty.others);
  assert_true(ty.others >= 6);
  mdr_table_unref(t);
}

/* Certificates with wildcards: the candidates are the looked-up exact
 * names' vhosts and the cover groups' vhosts, merged in table order.  Two
 * wildcards of one certificate whose vhosts interleave, a suffix two
 * certificates share, a vhost with two names under one wildcard and one
 * with names under two, a redirect name under a wildcard (one vhost's only
 * covered name), H inside its own
 * certificate's group, a name two labels below (not covered), a vhost
 * wildcard (never listed), an IP literal, another listener, another
 * policy, HTTP/3 off, a wildcard nothing is under, more vhosts under one
 * wildcard than the smallest caps take, and a certificate of 101 names
 * listing its vhosts out of order. */
static void test_wildcard_table(void **state) {
  (void)state;
  vtext *tx = calloc(1, sizeof *tx);
  assert_non_null(tx);
  PUT("listener web  https 443  default=v0\n");
  PUT("listener alt  https 8443 default=v6\n");
  PUT("listener open https 8444 default=v0 sni-host=ignore\n");
  PUT("cert cw    *.w.example *.v.example a.example 192.0.2.9\n");
  PUT("cert cw2   *.w.example\n");
  PUT("cert cdeep *.deep.w.example\n");
  PUT("cert ctop  *.example\n");
  PUT("cert co    *.o.example *.none.example\n");
  PUT("policy staff client-auth=required\n");
  PUT("vhost v0  listen=web,open names=p.v.example cert=co\n");
  PUT("vhost g0  listen=web names=g0.w.example cert=cw\n");
  PUT("vhost v1  listen=web,open names=x.w.example,y.w.example cert=cw\n");
  PUT("vhost v2  listen=web names=a.example cert=co\n");
  PUT("vhost g1  listen=web names=g1.w.example cert=co\n");
  PUT("vhost v3  listen=web names=q.w.example redirect-names=r.v.example cert=cw2\n");
  PUT("vhost v4  listen=web names=z.deep.w.example cert=cw\n");
  PUT("vhost v5  listen=web names=*.w.example cert=cw\n");
  PUT("vhost g2  listen=web names=g2.w.example cert=cw2\n");
  PUT("vhost v6  listen=alt names=s.w.example cert=cw\n");
  PUT("vhost v7  listen=web names=t.w.example cert=cw policy=staff\n");
  PUT("vhost v8  listen=web,open names=u.v.example cert=cw protocols=h1,h2\n");
  PUT("vhost v9  listen=web names=w.example cert=ctop\n");
  PUT("vhost v10 listen=web names=192.0.2.9 cert=co\n");
  PUT("vhost v11 listen=web names=m.o.example cert=co\n");
  PUT("vhost al  listen=web names=al.example redirect-names=al.v.example cert=co\n");
  for (int i = 3; i < 12; i++)
    PUT("vhost g%d listen=web names=g%d.w.example,g%d.v.example cert=%s\n", i, i, i,
        i % 3 == 0 ? "cw" : i % 3 == 1 ? "co" : "ctop");
  /* 100 exact names, listed out of their vhosts' order, and a wildcard */
  PUT("cert many *.mw.example");
  for (int i = 0; i < 100; i++) PUT(" m%d.example", (i * 37) % 100);
  PUT("\n");
  for (int i = 0; i < 100; i += 7) {
    PUT("vhost m%d listen=web names=m%d.example cert=%s\n", i, i, i % 2 ? "many" : "co");
    PUT("vhost mw%d listen=web names=x%d.mw.example cert=co\n", i, i);
  }
  mdr_table *t = parse_text(tx->buf, "wildcard.vhosts");
  free(tx);
  assert_true(t->n_cover_groups == 7); /* w, v, deep.w, example, o, none, mw */
  tally ty = { 0, 0 };
  compare_table(t, "wildcard.vhosts", &ty);
  print_message("wildcard table: %zu sets compared, %zu with other vhosts' origins\n",
                ty.compared, ty.others);
  assert_true(ty.others >= 15);
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_case_tables),
    cmocka_unit_test(test_made_table),
    cmocka_unit_test(test_wildcard_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
