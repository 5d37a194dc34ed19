/* The allocator front end (lib/mem.c) and its one rule for a partial
 * mdr_mem, through every core entry point that takes an mdr_mem:
 * mdr_table_parse (mdr_parse_options.mem), mdr_builder_new and
 * mdr_holder_new, and what the tables they make allocate later
 * (mdr_table_lint, the last mdr_table_unref).
 *
 * Each of the eight combinations of set / NULL functions: with all three
 * set the allocator is used for everything and every block comes back to
 * it; with any of them NULL the mdr_mem is ignored as a whole, none of its
 * functions is called, and the call behaves as with NULL.  In 0.2.0 the
 * parser called the NULL pointer (SIGSEGV in cfg_push_tok for
 * {malloc, NULL, free}). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <misdirect/holder.h>

#include "mem.h"
#include "testutil.h"

/* Large enough that the parser's token and list arrays grow (realloc), with
 * lint findings (a redirect alias and an upper-case name). */
static const char VHOSTS[] =
    "listener web https 8443 default=home\n"
    "listener plain http 8080\n"
    "cert site example.com www.example.com blog.example.com admin.example.com\n"
    "policy staff client-auth=required\n"
    "vhost home listen=web,plain names=www.example.com redirect-names=example.com cert=site "
    "http=redirect\n"
    "vhost blog listen=web names=Blog.example.com cert=site\n"
    "vhost admin listen=web names=admin.example.com cert=site policy=staff\n"
    "vhost a1 listen=plain names=a1.test,a2.test,a3.test,a4.test,a5.test,a6.test,a7.test,"
    "a8.test,a9.test,a10.test,a11.test,a12.test,a13.test,a14.test,a15.test,a16.test,"
    "a17.test,a18.test,a19.test,a20.test\n";

static int count_finding(void *user, const mdr_lint_finding *f) {
  (void)f;
  (*(size_t *)user)++;
  return 0;
}

static size_t lint_count(const mdr_table *t) {
  size_t n = 0;
  int rc = mdr_table_lint(t, count_finding, &n);
  assert_true(rc >= 0);
  assert_int_equal((size_t)rc, n);
  return n;
}

/* The findings and a decision of a table made without any allocator, to
 * compare with. */
static size_t reference_findings(void) {
  mdr_table *t = tu_table(VHOSTS);
  size_t n = lint_count(t);
  mdr_table_unref(t);
  assert_true(n > 0);
  return n;
}

static void test_front_end_rule(void **state) {
  (void)state;
  const mdr_mem *libc = mdri_mem_or_default(NULL);
  assert_non_null(libc);
  assert_non_null(libc->malloc);
  assert_non_null(libc->realloc);
  assert_non_null(libc->free);
  mdr_mem zero;
  memset(&zero, 0, sizeof zero);
  assert_ptr_equal(mdri_mem_or_default(&zero), libc);
  assert_false(mdri_mem_is_custom(NULL));
  assert_false(mdri_mem_is_custom(&zero));
  for (unsigned mask = 0; mask < 8; mask++) {
    tu_counting_mem m;
    tu_counting_mem_mask(&m, mask);
    const mdr_mem *r = mdri_mem_or_default(&m.mem);
    assert_ptr_equal(r, mask == TU_MEM_ALL ? &m.mem : libc);
    assert_int_equal(mdri_mem_is_custom(&m.mem), mask == TU_MEM_ALL);
    /* every function of the front end applies the rule itself */
    char *p = mdri_malloc(&m.mem, 0); /* size 0 still gives a block */
    assert_non_null(p);
    p = mdri_realloc(&m.mem, p, 100);
    assert_non_null(p);
    memset(p, 'x', 100);
    void *arr = NULL;
    size_t cap = 0;
    assert_int_equal(mdri_grow(&m.mem, &arr, &cap, 9, 4), 0);
    assert_int_equal(cap, 16);
    assert_int_equal(mdri_grow(&m.mem, &arr, &cap, SIZE_MAX / 2, 4), MDR_ERR_NOMEM);
    assert_int_equal(cap, 16); /* unchanged on failure */
    assert_null(mdri_alloc_array(&m.mem, SIZE_MAX / 2, 4)); /* overflow */
    mdri_free(&m.mem, arr);
    mdri_free(&m.mem, p);
    mdri_free(&m.mem, NULL);
    tu_counting_mem_check(&m, mask);
  }
}

static void test_parse_each_combination(void **state) {
  (void)state;
  size_t want = reference_findings();
  for (unsigned mask = 0; mask < 8; mask++) {
    tu_counting_mem m;
    tu_counting_mem_mask(&m, mask);
    mdr_parse_options o;
    memset(&o, 0, sizeof o);
    o.mem = &m.mem;
    mdr_table *t = NULL;
    mdr_error err;
    int rc = mdr_table_parse(VHOSTS, strlen(VHOSTS), tu_str("vhosts"), &o, &t, &err);
    if (rc) print_error("mask %u: %s\n", mask, err.message);
    assert_int_equal(rc, 0);
    assert_non_null(t);
    assert_int_equal(lint_count(t), want); /* lint allocates with the table's mem */
    mdr_index v = MDR_NONE;
    assert_int_equal(mdr_table_find_vhost(t, tu_str("admin"), &v), 0);
    mdr_table_unref(t);
    tu_counting_mem_check(&m, mask);

    /* a failing parse frees what it allocated through the same rule */
    tu_counting_mem_mask(&m, mask);
    static const char bad[] = "listener web https 8443\nvhost a listen=web names=a.test cert=nope\n";
    rc = mdr_table_parse(bad, strlen(bad), tu_str("vhosts"), &o, &t, &err);
    assert_int_equal(rc, MDR_ERR_CONFIG);
    assert_null(t);
    assert_string_equal(err.message, "vhosts:2: vhost 'a': unknown cert 'nope'");
    if (mask == TU_MEM_ALL) {
      assert_int_equal(m.live, 0);
      assert_true(m.allocs > 0);
    } else {
      tu_counting_mem_check(&m, mask);
    }
  }
}

static void test_builder_each_combination(void **state) {
  (void)state;
  for (unsigned mask = 0; mask < 8; mask++) {
    tu_counting_mem m;
    tu_counting_mem_mask(&m, mask);
    mdr_builder *b = NULL;
    assert_int_equal(mdr_builder_new(&b, &m.mem), 0);
    mdr_error err;
    mdr_listener_conf l;
    memset(&l, 0, sizeof l);
    l.name = tu_str("plain");
    l.port = 8080;
    assert_int_equal(mdr_builder_add_listener(b, &l, &err), 0);
    mdr_str lis[1] = {tu_str("plain")};
    mdr_str names[2] = {tu_str("www.example.com"), tu_str("WWW.example.org")};
    mdr_vhost_conf v;
    memset(&v, 0, sizeof v);
    v.name = tu_str("www");
    v.listeners = lis;
    v.n_listeners = 1;
    v.names = names;
    v.n_names = 2;
    assert_int_equal(mdr_builder_add_vhost(b, &v, &err), 0);
    mdr_table *t = NULL;
    assert_int_equal(mdr_builder_build(b, &t, &err), 0);
    mdr_builder_free(b);
    assert_true(lint_count(t) > 0); /* the upper-case name */
    mdr_table_unref(t);
    tu_counting_mem_check(&m, mask);
  }
}

static void test_holder_each_combination(void **state) {
  (void)state;
  mdr_table *t = tu_table(VHOSTS);
  for (unsigned mask = 0; mask < 8; mask++) {
    tu_counting_mem m;
    tu_counting_mem_mask(&m, mask);
    mdr_holder *h = NULL;
    assert_int_equal(mdr_holder_new(&h, t, &m.mem), 0);
    mdr_table *cur = mdr_holder_acquire(h);
    assert_ptr_equal(cur, t);
    mdr_table_unref(cur);
    mdr_holder_free(h);
    tu_counting_mem_check(&m, mask);
  }
  mdr_table_unref(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_front_end_rule),
      cmocka_unit_test(test_parse_each_combination),
      cmocka_unit_test(test_builder_each_combination),
      cmocka_unit_test(test_holder_each_combination),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
