/* Public-API test linked against the SHARED library: every exported core
 * function is called through the .so, so a missing export (visibility or
 * the version script) fails here rather than in a user's build. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <misdirect/misdirect.h>
#include <misdirect/holder.h>

#define S(x) { x, sizeof(x) - 1 }

static const char vhosts[] =
    "listener web https 443 default=home\n"
    "listener plain http 80\n"
    "cert site example.com www.example.com blog.example.com\n"
    "policy staff client-auth=required\n"
    "vhost home listen=web,plain names=www.example.com redirect-names=example.com cert=site http=redirect\n"
    "vhost blog listen=web names=blog.example.com cert=site\n";

static int count_origin(void *user, const char *o, size_t n) {
  (void)o;
  (void)n;
  (*(int *)user)++;
  return 0;
}

static void test_every_export(void **state) {
  (void)state;
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(mdr_table_parse(vhosts, sizeof vhosts - 1, (mdr_str)S("api.vhosts"), NULL, &t, &err), 0);
  assert_int_equal(mdr_table_listener_count(t), 2);
  assert_int_equal(mdr_table_vhost_count(t), 2);
  mdr_index web, plain, home, blog;
  assert_int_equal(mdr_table_find_listener(t, (mdr_str)S("web"), &web), 0);
  assert_int_equal(mdr_table_find_listener(t, (mdr_str)S("plain"), &plain), 0);
  assert_int_equal(mdr_table_find_vhost(t, (mdr_str)S("home"), &home), 0);
  assert_int_equal(mdr_table_find_vhost(t, (mdr_str)S("blog"), &blog), 0);
  mdr_listener_info li;
  mdr_vhost_info vi;
  assert_int_equal(mdr_table_listener_info(t, web, &li), 0);
  assert_int_equal(li.default_vhost, home);
  assert_int_equal(mdr_table_vhost_info(t, home, &vi), 0);
  assert_int_equal(vi.redirect_status, 308);
  assert_int_equal(mdr_vhost_on_listener(t, blog, plain), 0);
  assert_int_equal(mdr_vhost_name(t, blog).len, 4);
  mdr_str name;
  int alias;
  assert_int_equal(mdr_table_vhost_name_at(t, home, 1, &name, &alias), 0);
  assert_int_equal(alias, 1);
  assert_int_equal(mdr_table_cert_covers(t, home, (mdr_str)S("blog.example.com")), 1);
  assert_ptr_equal(mdr_table_ref(t), t);
  mdr_table_unref(t);

  mdr_handshake_result hs;
  assert_int_equal(mdr_handshake(t, web, 1, "www.example.com", 15, &hs), 0);
  assert_int_equal(hs.vhost, home);
  mdr_conn c;
  mdr_request r;
  memset(&c, 0, sizeof c);
  memset(&r, 0, sizeof r);
  c.listener = web;
  c.has_hs_vhost = 1;
  c.hs_vhost = hs.vhost;
  c.has_sni = 1;
  c.sni = (mdr_str)S("www.example.com");
  mdr_str auth = S("blog.example.com");
  r.version = MDR_HTTP_2;
  r.has_target = 1;
  r.target = (mdr_str)S("/");
  r.has_scheme = 1;
  r.scheme = (mdr_str)S("https");
  r.authority = &auth;
  r.n_authority = 1;
  mdr_decision d;
  char loc[128], buf[512];
  assert_int_equal(mdr_decide(t, &c, &r, &d, loc, sizeof loc), 0);
  assert_int_equal(d.vhost, blog);
  assert_string_equal(mdr_reason_token(d.reason), "serve-coalesced");
  assert_int_equal(mdr_decide_trace(t, &c, &r, &d, loc, sizeof loc, NULL, NULL), 0);
  assert_true(mdr_decision_explain(t, &c, &d, buf, sizeof buf) > 0);
  int n = 0;
  assert_int_equal(mdr_origin_set_each(t, web, home, MDR_HTTP_2, count_origin, &n), 3);
  assert_int_equal(n, 3);

  mdr_authority a;
  int valid;
  mdr_reason why;
  assert_int_equal(mdr_authority_parse("Example.COM.:0443", 17, 0, &a, &valid, &why), 0);
  assert_true(valid);
  assert_string_equal(a.host, "example.com");
  const uint8_t ext[] = { 0, 4, 0, 0, 1, 'a' };
  assert_int_equal(mdr_sni_extension_parse(ext, sizeof ext, &name), 0);
  assert_string_equal(mdr_alert_name(MDR_ALERT_MISSING_EXTENSION), "missing_extension");
  /* Every registered alert is named (0.2.0 logged TLS 1.3's missing client
   * certificate as "unknown_alert"); unassigned numbers are not. */
  assert_string_equal(mdr_alert_name(116), "certificate_required");
  assert_string_equal(mdr_alert_name(40), "handshake_failure");
  assert_string_equal(mdr_alert_name(0), "close_notify");
  assert_string_equal(mdr_alert_name(121), "ech_required");
  static const unsigned registered[] = {0,  10, 20, 21, 22, 30, 40,  41,  42,  43,  44,  45,
                                        46, 47, 48, 49, 50, 51, 52,  60,  70,  71,  80,  86,
                                        90, 100, 109, 110, 111, 112, 113, 114, 115, 116, 120, 121};
  for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++)
    assert_string_not_equal(mdr_alert_name(registered[i]), "unknown_alert");
  assert_string_equal(mdr_alert_name(1), "unknown_alert");
  assert_string_equal(mdr_alert_name(255), "unknown_alert");
  assert_string_equal(mdr_alert_name(100000), "unknown_alert");
  mdr_reason back;
  assert_int_equal(mdr_reason_from_token((mdr_str)S("policy-mismatch"), &back), 0);
  assert_true(strlen(mdr_reason_text(back)) > 0);
  assert_string_equal(mdr_strerror(MDR_ERR_NOMEM), "out of memory");
  assert_string_equal(mdr_errname(MDR_ERR_NOMEM), "MDR_ERR_NOMEM");
  assert_string_equal(mdr_version(), MDR_VERSION);
  assert_int_equal(mdr_version_num(), MDR_VERSION_NUM);

  mdr_builder *b = NULL;
  assert_int_equal(mdr_builder_new(&b, NULL), 0);
  mdr_listener_conf l = { .name = S("p"), .port = 8080 };
  assert_int_equal(mdr_builder_add_listener(b, &l, &err), 0);
  mdr_cert_conf ce = { .name = S("c") };
  assert_int_equal(mdr_builder_add_cert(b, &ce, &err), 0);
  mdr_policy_conf po = { .name = S("p") };
  assert_int_equal(mdr_builder_add_policy(b, &po, &err), 0);
  mdr_str ln = S("p"), nm = S("x.example");
  mdr_vhost_conf v = { .name = S("v"), .listeners = &ln, .n_listeners = 1, .names = &nm, .n_names = 1 };
  assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
  mdr_table *t2 = NULL;
  assert_int_equal(mdr_builder_build(b, &t2, &err), 0);
  mdr_builder_free(b);
  mdr_holder *h = NULL;
  assert_int_equal(mdr_holder_new(&h, t, NULL), 0);
  mdr_table *cur = mdr_holder_acquire(h);
  assert_ptr_equal(cur, t);
  mdr_table_unref(cur);
  assert_int_equal(mdr_holder_swap(h, t2), 0);
  assert_int_equal(mdr_holder_generation(h), 1);
  cur = mdr_holder_acquire(h);
  assert_ptr_equal(cur, t2);
  mdr_table_unref(cur);
  mdr_holder_free(h);
  mdr_table_unref(t2);
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = { cmocka_unit_test(test_every_export) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
