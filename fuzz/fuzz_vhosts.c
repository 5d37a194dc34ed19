/* Fuzz target: the vhosts-file parser (mdr_table_parse).
 * Invariants: the parser returns 0 with a table, or MDR_ERR_CONFIG with a
 * one-line message "SOURCE:LINE: WHAT" (NUL-terminated, no newline) whose
 * line is within the input, or MDR_ERR_UNSUPPORTED (parser not built);
 * every allocation is freed (LeakSanitizer); and on a table it built:
 *  - every listener and vhost can be found by its name, the listener default
 *    listens on its listener;
 *  - the handshake step on every TLS listener, for every vhost's canonical
 *    name, is consistent (fz_check_handshake);
 *  - every origin of every TLS connection (each listener x each handshake
 *    vhost x HTTP/2 and /3), given as ORIGIN and as :authority, is served or
 *    redirected, never 421;
 *  - lint (mdr_table_lint) runs on every table: it returns the number of
 *    findings it reported, each with a valid id, a one-line NUL-terminated
 *    message, indexes inside the table and a line within the input; a second
 *    run gives the same findings in the same order (deterministic), and a
 *    callback that stops at the first finding stops the walk there. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static void check_table(const mdr_table *t) {
  size_t nl = mdr_table_listener_count(t), nv = mdr_table_vhost_count(t);
  for (mdr_index l = 0; l < nl; l++) {
    mdr_listener_info li;
    FZ_CHECK(mdr_table_listener_info(t, l, &li) == 0);
    mdr_index back;
    FZ_CHECK(mdr_table_find_listener(t, li.name, &back) == 0 && back == l);
    if (li.default_vhost != MDR_NONE) FZ_CHECK(mdr_vhost_on_listener(t, li.default_vhost, l));
    if (li.tls && li.default_vhost == MDR_NONE)
      FZ_CHECK(li.no_sni == MDR_NO_SNI_REJECT && li.unknown_sni == MDR_UNKNOWN_SNI_REJECT);
  }
  for (mdr_index v = 0; v < nv; v++) {
    mdr_vhost_info vi;
    FZ_CHECK(mdr_table_vhost_info(t, v, &vi) == 0);
    mdr_index back;
    FZ_CHECK(mdr_table_find_vhost(t, vi.name, &back) == 0 && back == v);
    FZ_CHECK(vi.canonical.len > 0);
    for (mdr_index l = 0; l < nl; l++) {
      mdr_listener_info li;
      mdr_table_listener_info(t, l, &li);
      if (!li.tls || !mdr_vhost_on_listener(t, v, l)) continue;
      FZ_CHECK(vi.cert.len > 0);
      mdr_handshake_result hs;
      FZ_CHECK(mdr_handshake(t, l, 1, vi.canonical.ptr, vi.canonical.len, &hs) == 0);
      fz_check_handshake(t, l, 1, vi.canonical.ptr, vi.canonical.len, &hs);
    }
  }
  /* the origin-set contract (bounded: small tables only) */
  if (nl * nv <= 256) {
    for (mdr_index l = 0; l < nl; l++) {
      mdr_listener_info li;
      mdr_table_listener_info(t, l, &li);
      if (!li.tls) continue;
      for (mdr_index h = 0; h < nv; h++) {
        if (!mdr_vhost_on_listener(t, h, l)) continue;
        fz_check_origin_set(t, l, h, MDR_HTTP_2);
        fz_check_origin_set(t, l, h, MDR_HTTP_3);
      }
    }
  }
}

typedef struct fz_lint {
  const mdr_table *t;
  size_t lines;       /* physical lines of the input */
  size_t n;
  uint64_t digest;    /* order-sensitive digest of (id, line, message) */
  int stop;           /* return 1 from the first call */
} fz_lint;

static int lint_cb(void *user, const mdr_lint_finding *f) {
  fz_lint *x = user;
  FZ_CHECK((unsigned)f->id < MDR_LINT_COUNT_);
  FZ_CHECK(memchr(f->message, '\0', sizeof f->message) != NULL);
  FZ_CHECK(f->message[0] != '\0' && strchr(f->message, '\n') == NULL);
  FZ_CHECK(f->line >= 1 && f->line <= x->lines);
  FZ_CHECK(f->listener == MDR_NONE || f->listener < mdr_table_listener_count(x->t));
  FZ_CHECK(f->vhost == MDR_NONE || f->vhost < mdr_table_vhost_count(x->t));
  FZ_CHECK(f->other_vhost == MDR_NONE || f->other_vhost < mdr_table_vhost_count(x->t));
  FZ_CHECK(f->name.len == 0 || f->name.ptr != NULL);
  uint64_t h = x->digest ^ ((uint64_t)f->id << 32 | f->line);
  for (const char *p = f->message; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  x->digest = h;
  x->n++;
  return x->stop;
}

static void check_lint(const mdr_table *t, const uint8_t *data, size_t size) {
  size_t lines = 1;
  for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
  fz_lint a = { t, lines, 0, 0, 0 }, b = { t, lines, 0, 0, 0 }, s = { t, lines, 0, 0, 1 };
  int n = mdr_table_lint(t, lint_cb, &a);
  FZ_CHECK(n >= 0 && (size_t)n == a.n);
  FZ_CHECK(mdr_table_lint(t, lint_cb, &b) == n && b.digest == a.digest);
  FZ_CHECK(mdr_table_lint(t, lint_cb, &s) == (n > 0) && s.n == (size_t)(n > 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 16384) return 0;
  mdr_str text = fz_dup(data, size);
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0x5a, sizeof err);
  int rc = mdr_table_parse(text.ptr, text.len, (mdr_str)MDR_STR_LIT("fuzz.vhosts"), NULL, &t, &err);
  if (rc == 0) {
    FZ_CHECK(t != NULL);
    check_table(t);
    check_lint(t, data, size);
    mdr_table_unref(t);
  } else {
    FZ_CHECK(t == NULL);
    FZ_CHECK(rc == MDR_ERR_CONFIG || rc == MDR_ERR_UNSUPPORTED || rc == MDR_ERR_LIMIT ||
             rc == MDR_ERR_IO);
    if (rc == MDR_ERR_CONFIG) {
      FZ_CHECK(err.code == MDR_ERR_CONFIG);
      FZ_CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
      FZ_CHECK(memchr(err.token, '\0', sizeof err.token) != NULL);
      FZ_CHECK(strchr(err.message, '\n') == NULL);
      FZ_CHECK(strncmp(err.message, "fuzz.vhosts:", 12) == 0);
      size_t lines = 1;
      for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
      FZ_CHECK(err.line >= 1 && err.line <= lines);
    }
  }
  fz_free(text);
  return 0;
}
