/* Fuzz target: the decision-case line parser of the misdirect tool
 * (tools/cases.c: mdrc_parse, then mdrc_bind against the fixed table, then
 * the handshake step and the decision on what it produced).
 * Invariants: parse and bind return 0 or -1 with a non-empty one-line
 * message inside the buffer; a parsed case holds at most the documented
 * number of values, every decoded value lies in the case's own arena, and
 * the arena never holds more than the line; parsing is deterministic; a
 * bound case runs through mdr_handshake / mdr_decide without an error code. */
#include "fuzz_common.h"

#include "cases.h"

static mdrc_case case_a, case_b; /* large: keep off the stack */

static int in_arena(const mdrc_case *c, mdr_str s) {
  if (s.len == 0) return 1;
  const char *a = c->arena;
  return s.ptr >= a && s.ptr + s.len <= a + c->arena_len;
}

/* A value the line gave lies in the arena; a default may be a literal. */
static int given_in_arena(const mdrc_case *c, unsigned key, mdr_str s) {
  return !(c->seen & key) || in_arena(c, s);
}

static void check_err(const char *err, size_t cap) {
  const char *nul = memchr(err, '\0', cap);
  FZ_CHECK(nul != NULL && nul != err);
  FZ_CHECK(strchr(err, '\n') == NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_fixture();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MDRC_LINE_MAX + 16) return 0;
  mdr_str line = fz_dup(data, size);
  char err[MDRC_ERR_MAX];
  memset(err, 0x7f, sizeof err);
  mdrc_case *c = &case_a;
  int rc = mdrc_parse(line.ptr, line.len, c, err, sizeof err);
  FZ_CHECK(rc == 0 || rc == -1);
  (void)mdrc_is_skippable(line.ptr, line.len);
  if (rc != 0) {
    check_err(err, sizeof err);
    goto out;
  }
  FZ_CHECK(c->arena_len <= size && c->arena_len <= sizeof c->arena);
  FZ_CHECK(c->req.n_host <= MDRC_MAX_HOSTS && c->req.n_authority <= MDRC_MAX_AUTHORITIES &&
           c->conn.n_origin_set <= MDRC_MAX_ORIGINS);
  FZ_CHECK(in_arena(c, c->listener) && in_arena(c, c->sni) && in_arena(c, c->resumed));
  FZ_CHECK(given_in_arena(c, MDRC_K_ALPN, c->conn.alpn) &&
           given_in_arena(c, MDRC_K_METHOD, c->req.method) &&
           given_in_arena(c, MDRC_K_TARGET, c->req.target));
  FZ_CHECK(given_in_arena(c, MDRC_K_SCHEME, c->req.scheme) && in_arena(c, c->expect.arg) &&
           in_arena(c, c->expect.reason));
  for (size_t i = 0; i < c->req.n_host; i++) FZ_CHECK(in_arena(c, c->req.host[i]));
  for (size_t i = 0; i < c->req.n_authority; i++) FZ_CHECK(in_arena(c, c->req.authority[i]));
  for (size_t i = 0; i < c->conn.n_origin_set; i++) {
    FZ_CHECK(in_arena(c, c->conn.origin_set[i]));
    FZ_CHECK(mdrc_origin_is_canonical(c->conn.origin_set[i].ptr, c->conn.origin_set[i].len));
  }
  /* deterministic */
  {
    char err2[MDRC_ERR_MAX];
    mdrc_case *d = &case_b;
    FZ_CHECK(mdrc_parse(line.ptr, line.len, d, err2, sizeof err2) == 0);
    FZ_CHECK(d->seen == c->seen && d->arena_len == c->arena_len &&
             memcmp(d->arena, c->arena, c->arena_len) == 0);
    FZ_CHECK(d->req.n_host == c->req.n_host && d->req.n_authority == c->req.n_authority &&
             d->conn.n_origin_set == c->conn.n_origin_set && d->expect.kind == c->expect.kind);
  }
  /* bind against the fixed table and decide */
  const mdr_table *t = fz_fixture();
  memset(err, 0x7f, sizeof err);
  rc = mdrc_bind(t, c, err, sizeof err);
  FZ_CHECK(rc == 0 || rc == -1);
  if (rc != 0) {
    check_err(err, sizeof err);
    goto out;
  }
  FZ_CHECK(c->conn.listener < mdr_table_listener_count(t));
  mdr_listener_info li;
  FZ_CHECK(mdr_table_listener_info(t, c->conn.listener, &li) == 0);
  if (li.tls) {
    mdr_handshake_result hs;
    FZ_CHECK(mdr_handshake(t, c->conn.listener, c->has_sni, c->sni.ptr, c->sni.len, &hs) == 0);
    fz_check_handshake(t, c->conn.listener, c->has_sni, c->sni.ptr, c->sni.len, &hs);
    if (hs.outcome != MDR_HS_ACCEPT) goto out;
    c->conn.has_hs_vhost = 1;
    c->conn.hs_vhost = hs.vhost;
    c->conn.hs_match = hs.match;
  }
  {
    char loc[64];
    mdr_decision d;
    int dr = mdr_decide(t, &c->conn, &c->req, &d, loc, sizeof loc);
    FZ_CHECK(dr == 0 || (dr == MDR_ERR_BUFFER_TOO_SMALL && d.kind == MDR_REDIRECT));
    if (d.kind == MDR_SERVE) FZ_CHECK(mdr_vhost_on_listener(t, d.vhost, c->conn.listener));
  }
out:
  fz_free(line);
  return 0;
}
