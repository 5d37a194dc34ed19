/*
 * The ORIGIN wire vectors of vectors.txt (F1-F9 and friends), byte for byte:
 * every vector is decoded with its input flush against a guard page, every
 * proper prefix of it must decode as INCOMPLETE (HTTP/2) or INCOMPLETE /
 * error-free (HTTP/3) without delivering anything, and vectors marked
 * `encode` must come out of the encoder identically.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "origin_testutil.h"

#define MAX_VECTORS 128
#define MAX_BYTES 4096
#define MAX_ENTRIES 16

typedef struct vector {
  char name[64];
  int h3;
  uint8_t bytes[MAX_BYTES];
  size_t len;
  char status[32];
  char entries[MAX_ENTRIES][MDR_ORIGIN_BUFSIZE];
  size_t n_entries;
  long skipped;
  int encode;
  unsigned line;
} vector;

static vector *g_vectors;
static size_t g_n;

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = '\0';
}

/* Copy a field of the data file, failing the test when it does not fit. */
static void copy_field(char *dst, size_t cap, const char *src, unsigned lineno) {
  size_t n = strlen(src);
  if (n >= cap) fail_msg("vectors.txt:%u: value too long", lineno);
  memcpy(dst, src, n + 1);
}

static int load(void **state) {
  (void)state;
  FILE *f = fopen(ORIGIN_VECTORS, "r");
  assert_non_null(f);
  g_vectors = calloc(MAX_VECTORS, sizeof *g_vectors);
  assert_non_null(g_vectors);
  char line[1024];
  unsigned lineno = 0;
  vector *v = NULL;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    chomp(line);
    if (line[0] == '\0' || line[0] == '#') continue;
    if (strncmp(line, "vector ", 7) == 0) {
      assert_null(v);
      assert_true(g_n < MAX_VECTORS);
      v = &g_vectors[g_n];
      memset(v, 0, sizeof *v);
      v->skipped = -1;
      v->line = lineno;
      char proto[8];
      assert_int_equal(sscanf(line + 7, "%63s %7s", v->name, proto), 2);
      assert_true(strcmp(proto, "h2") == 0 || strcmp(proto, "h3") == 0);
      v->h3 = strcmp(proto, "h3") == 0;
    } else if (strncmp(line, "hex ", 4) == 0) {
      assert_non_null(v);
      size_t n = ot_hex(line + 4, v->bytes + v->len, MAX_BYTES - v->len);
      if (n == (size_t)-1) fail_msg("vectors.txt:%u: bad hex", lineno);
      v->len += n;
    } else if (strncmp(line, "status ", 7) == 0) {
      assert_non_null(v);
      copy_field(v->status, sizeof v->status, line + 7, lineno);
    } else if (strncmp(line, "entry ", 6) == 0) {
      assert_non_null(v);
      assert_true(v->n_entries < MAX_ENTRIES);
      copy_field(v->entries[v->n_entries++], MDR_ORIGIN_BUFSIZE, line + 6, lineno);
    } else if (strncmp(line, "skipped ", 8) == 0) {
      assert_non_null(v);
      v->skipped = strtol(line + 8, NULL, 10);
    } else if (strcmp(line, "encode") == 0) {
      assert_non_null(v);
      v->encode = 1;
    } else if (strcmp(line, "end") == 0) {
      assert_non_null(v);
      if (v->status[0] == '\0' || v->skipped < 0)
        fail_msg("vectors.txt:%u: vector %s lacks status or skipped", v->line, v->name);
      g_n++;
      v = NULL;
    } else {
      fail_msg("vectors.txt:%u: unknown line '%s'", lineno, line);
    }
  }
  fclose(f);
  assert_null(v);
  return 0;
}

static int unload(void **state) {
  (void)state;
  free(g_vectors);
  return 0;
}

static const char *status_name(mdr_origin_status s) {
  switch (s) {
  case MDR_ORIGIN_PROCESSED: return "processed";
  case MDR_ORIGIN_IGNORED_STREAM: return "ignored-stream";
  case MDR_ORIGIN_IGNORED_FLAGS: return "ignored-flags";
  case MDR_ORIGIN_IGNORED_TRUNCATED: return "ignored-truncated";
  case MDR_ORIGIN_NOT_ORIGIN: return "not-origin";
  case MDR_ORIGIN_INCOMPLETE: return "incomplete";
  }
  return "?";
}

static int decode(const vector *v, const uint8_t *in, size_t len, ot_list *l,
                  mdr_origin_result *res) {
  return v->h3 ? mdr_origin_h3_decode(in, len, ot_collect, l, res)
               : mdr_origin_h2_decode(in, len, ot_collect, l, res);
}

static void test_vectors_loaded(void **state) {
  (void)state;
  /* F1..F9 are all present. */
  const char *need[] = {"F1", "F2", "F3-h2", "F3-h3", "F4", "F5-0x01", "F5-0x10", "F6",
                        "F7", "F7-h3", "F8", "F8-h3", "F9-1", "F9-5", "F9-all"};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
    size_t j;
    for (j = 0; j < g_n && strcmp(g_vectors[j].name, need[i]) != 0; j++) {
    }
    if (j == g_n) fail_msg("vector %s missing", need[i]);
  }
}

static void test_decode_vectors(void **state) {
  (void)state;
  ot_list *l = calloc(1, sizeof *l);
  assert_non_null(l);
  for (size_t i = 0; i < g_n; i++) {
    const vector *v = &g_vectors[i];
    ot_guard g = {0};
    const uint8_t *in = ot_guard_put(&g, v->bytes, v->len);
    mdr_origin_result res;
    memset(l, 0, sizeof *l);
    int rv = decode(v, in, v->len, l, &res);
    if (strcmp(v->status, "h3-frame-error") == 0) {
      if (rv != MDR_ERR_DECODE) fail_msg("%s: rv %d, want MDR_ERR_DECODE", v->name, rv);
      if (l->n != 0) fail_msg("%s: entries delivered before H3_FRAME_ERROR", v->name);
    } else {
      if (rv != 0) fail_msg("%s: rv %d", v->name, rv);
      if (strcmp(status_name(res.status), v->status) != 0)
        fail_msg("%s: status %s, want %s", v->name, status_name(res.status), v->status);
      if (res.consumed != v->len)
        fail_msg("%s: consumed %zu of %zu", v->name, res.consumed, v->len);
      if (l->n != v->n_entries) fail_msg("%s: %zu entries, want %zu", v->name, l->n, v->n_entries);
      for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->str[k], v->entries[k]) != 0)
          fail_msg("%s: entry %zu is '%s', want '%s'", v->name, k, l->str[k], v->entries[k]);
      if (res.entries != v->n_entries) fail_msg("%s: res.entries %zu", v->name, res.entries);
      if (res.skipped != (size_t)v->skipped)
        fail_msg("%s: skipped %zu, want %ld", v->name, res.skipped, v->skipped);
      assert_int_equal(res.frame_type, MDR_ORIGIN_FRAME_TYPE);
    }
    ot_guard_free(&g);
  }
  free(l);
}

/* Every proper prefix of a frame is incomplete: nothing delivered, nothing
 * read past the end (the guard page would fault). */
static void test_prefixes_incomplete(void **state) {
  (void)state;
  ot_list *l = calloc(1, sizeof *l);
  assert_non_null(l);
  for (size_t i = 0; i < g_n; i++) {
    const vector *v = &g_vectors[i];
    for (size_t k = 0; k < v->len; k++) {
      ot_guard g = {0};
      const uint8_t *in = ot_guard_put(&g, v->bytes, k);
      mdr_origin_result res;
      memset(l, 0, sizeof *l);
      int rv = decode(v, in, k, l, &res);
      if (rv != 0 || res.status != MDR_ORIGIN_INCOMPLETE || res.consumed != 0 || l->n != 0)
        fail_msg("%s: prefix %zu: rv %d status %s", v->name, k, rv, status_name(res.status));
      if (res.needed != 0 && res.needed <= k)
        fail_msg("%s: prefix %zu: needed %zu", v->name, k, res.needed);
      ot_guard_free(&g);
    }
  }
  free(l);
}

static void test_encode_vectors(void **state) {
  (void)state;
  size_t encoded = 0;
  for (size_t i = 0; i < g_n; i++) {
    const vector *v = &g_vectors[i];
    if (!v->encode) continue;
    mdr_str set[MAX_ENTRIES];
    for (size_t k = 0; k < v->n_entries; k++) {
      set[k].ptr = v->entries[k];
      set[k].len = strlen(v->entries[k]);
    }
    uint8_t out[MAX_BYTES];
    size_t len = 0, frames = 0, qlen = 0;
    int rv;
    if (v->h3) {
      assert_int_equal(mdr_origin_h3_encode(set, v->n_entries, NULL, 0, &qlen), MDR_ERR_BUFFER_TOO_SMALL);
      rv = mdr_origin_h3_encode(set, v->n_entries, out, sizeof out, &len);
    } else {
      assert_int_equal(mdr_origin_h2_encode(set, v->n_entries, 0, NULL, 0, &qlen, NULL),
                       MDR_ERR_BUFFER_TOO_SMALL);
      rv = mdr_origin_h2_encode(set, v->n_entries, 0, out, sizeof out, &len, &frames);
      assert_int_equal(frames, 1);
    }
    if (rv != 0) fail_msg("%s: encode rv %d", v->name, rv);
    assert_int_equal(qlen, v->len);
    if (len != v->len || memcmp(out, v->bytes, len) != 0)
      fail_msg("%s: encoding differs (%zu bytes, want %zu)", v->name, len, v->len);
    /* The payload alone is the frame minus its header. */
    size_t hdr = v->h3 ? 2 : MDR_ORIGIN_H2_HEADER_LEN;
    uint8_t pay[MAX_BYTES];
    size_t plen;
    assert_int_equal(mdr_origin_payload_write(set, v->n_entries, pay, sizeof pay, &plen), 0);
    assert_int_equal(plen, v->len - hdr);
    assert_memory_equal(pay, v->bytes + hdr, plen);
    encoded++;
  }
  assert_true(encoded >= 8);
}

/* Decoding every vector back to back, as a byte stream, gives the same
 * result as one by one (consumed is exact). */
static void test_stream_of_frames(void **state) {
  (void)state;
  for (int h3 = 0; h3 <= 1; h3++) {
    static uint8_t stream[MAX_VECTORS * 256];
    size_t len = 0, want_entries = 0, frames = 0;
    for (size_t i = 0; i < g_n; i++) {
      const vector *v = &g_vectors[i];
      if (v->h3 != h3 || strcmp(v->status, "h3-frame-error") == 0) continue;
      assert_true(len + v->len <= sizeof stream);
      memcpy(stream + len, v->bytes, v->len);
      len += v->len;
      want_entries += v->n_entries;
      frames++;
    }
    ot_list *l = calloc(1, sizeof *l);
    assert_non_null(l);
    ot_guard g = {0};
    const uint8_t *in = ot_guard_put(&g, stream, len);
    size_t off = 0, seen = 0;
    while (off < len && seen <= frames) {
      mdr_origin_result res;
      int rv = h3 ? mdr_origin_h3_decode(in + off, len - off, ot_collect, l, &res)
                  : mdr_origin_h2_decode(in + off, len - off, ot_collect, l, &res);
      assert_int_equal(rv, 0);
      assert_true(res.consumed > 0);
      off += res.consumed;
      seen++;
    }
    assert_int_equal(off, len);
    assert_int_equal(seen, frames);
    assert_int_equal(l->n, want_entries);
    ot_guard_free(&g);
    free(l);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_vectors_loaded),
    cmocka_unit_test(test_decode_vectors),
    cmocka_unit_test(test_prefixes_incomplete),
    cmocka_unit_test(test_encode_vectors),
    cmocka_unit_test(test_stream_of_frames),
  };
  return cmocka_run_group_tests(tests, load, unload);
}
