/*
 * The SNI-match shortcut gives the slow path's decision, over a case corpus.
 *
 *   test_hs_match VHOSTS CASES [VHOSTS CASES]...
 *
 * Every case of CASES (docs/case-format.md) on a TLS listener goes through
 * mdr_handshake, then mdr_decide_trace runs once per value of
 * mdr_conn.hs_match: 0 (no shortcut: the lookup), the handshake's match (the
 * shortcut wherever the request names the SNI), every slot of the index
 * (another name's, another listener's, a wildcard's or a certificate's
 * match), and out-of-range values.  Every run must give the same return
 * value, the same decision (every field, the Location's bytes) and the same
 * trace as the run without the shortcut.  Cleartext cases run once with
 * hs_match 0 and once with each value too (the field must be ignored).
 * Each run is repeated with mdr_decide (no trace), which takes the plain
 * request's one-pass path wherever it applies (decide.c): it must give the
 * same return value, decision and Location as the traced run, which always
 * runs the rules.
 * Then the same over names that differ in one byte (check_near_names).
 * Prints how many cases took the shortcut and the plain path per file, and
 * fails when none did across all the files: a corpus that never takes them
 * proves nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "internal.h"

typedef struct run {
  int rc, rc_untraced;
  mdr_decision d, d_untraced;   /* mdr_decide_trace's, mdr_decide's */
  char loc[512], loc_untraced[512];
  char trace[8192];
  size_t trace_len;
} run;

static void on_trace(void *user, unsigned rule, const char *what, size_t len) {
  run *r = user;
  int n = snprintf(r->trace + r->trace_len, sizeof r->trace - r->trace_len, "%u:%.*s\n", rule,
                   (int)len, what);
  if (n > 0) {
    r->trace_len += (size_t)n;
    if (r->trace_len >= sizeof r->trace) r->trace_len = sizeof r->trace - 1;
  }
}

static void decide(const mdr_table *t, mdrc_case *c, uint32_t match, run *r) {
  memset(r, 0, sizeof *r);
  c->conn.hs_match = match;
  r->rc = mdr_decide_trace(t, &c->conn, &c->req, &r->d, r->loc, sizeof r->loc, on_trace, r);
  /* Whatever mdr_decide leaves unwritten shows as 0xa5. */
  memset(&r->d_untraced, 0xa5, sizeof r->d_untraced);
  memset(r->loc_untraced, 0xa5, sizeof r->loc_untraced);
  r->rc_untraced = mdr_decide(t, &c->conn, &c->req, &r->d_untraced, r->loc_untraced,
                              sizeof r->loc_untraced);
}

/* Same return value, decision and Location? */
static int same_decision(int rca, const mdr_decision *x, const char *loca, int rcb,
                         const mdr_decision *y, const char *locb) {
  if (rca != rcb || x->kind != y->kind || x->status != y->status || x->vhost != y->vhost ||
      x->reason != y->reason || x->rule != y->rule || x->location_len != y->location_len ||
      x->has_authority != y->has_authority || x->request_vhost != y->request_vhost ||
      x->handshake_vhost != y->handshake_vhost)
    return 0;
  if (x->has_authority &&
      (x->authority.host_len != y->authority.host_len || x->authority.kind != y->authority.kind ||
       x->authority.port != y->authority.port ||
       memcmp(x->authority.host, y->authority.host, x->authority.host_len + 1) != 0))
    return 0;
  if (x->kind == MDR_REDIRECT) {
    size_t n = x->location_len < 512 ? x->location_len : 512;
    if (memcmp(loca, locb, n) != 0) return 0;
  }
  return 1;
}

/* The traced and the untraced run agree, and the two runs agree with each
 * other, trace included. */
static int same(const run *a, const run *b) {
  if (!same_decision(a->rc, &a->d, a->loc, a->rc_untraced, &a->d_untraced, a->loc_untraced) ||
      !same_decision(b->rc, &b->d, b->loc, b->rc_untraced, &b->d_untraced, b->loc_untraced) ||
      !same_decision(a->rc, &a->d, a->loc, b->rc, &b->d, b->loc))
    return 0;
  return a->trace_len == b->trace_len && memcmp(a->trace, b->trace, a->trace_len) == 0;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *p = malloc(cap);
  size_t got;
  while (p && (got = fread(p + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *q = realloc(p, cap *= 2);
      if (!q) free(p);
      p = q;
    }
  }
  fclose(f);
  *len = n;
  return p;
}

static mdr_table *load(const char *path) {
  size_t len;
  char *text = read_all(path, &len);
  if (!text) return NULL;
  mdr_parse_options opts;
  memset(&opts, 0, sizeof opts);
  const char *slash = strrchr(path, '/');
  if (slash) {
    opts.base_dir.ptr = path;
    opts.base_dir.len = slash == path ? 1 : (size_t)(slash - path);
  }
  mdr_str source = { path, strlen(path) };
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  if (mdr_table_parse(text, len, source, &opts, &t, &err) != 0)
    fprintf(stderr, "%s: %s\n", path, err.message[0] ? err.message : "cannot parse");
  free(text);
  return t;
}

/* One vhosts file and its cases; adds to the counts.  Returns 0, or 2 when
 * a file cannot be used. */
typedef struct counts {
  size_t shortcut, plain, runs, failures;
} counts;

/* One request: without a hint, then with every hint. */
static void check_request(const mdr_table *t, mdrc_case *c, uint32_t match, run *slow, run *fast,
                          const char *path, unsigned lineno, counts *n) {
  decide(t, c, 0, slow);
  /* Did the shortcut apply?  The handshake matched a name exactly and the
   * request names it. */
  if (match && slow->d.has_authority &&
      mdri_match_slot(t, c->conn.listener, slow->d.authority.host, slow->d.authority.host_len,
                      match))
    n->shortcut++;
  mdr_decision pd;
  c->conn.hs_match = match;
  if (mdri_decide_plain(t, &c->conn, &c->req, &pd)) n->plain++;
  enum { N_EXTRA = 3 };
  uint32_t extra[N_EXTRA] = { match, (uint32_t)t->slot_mask + 2, UINT32_MAX };
  uint64_t n_hints = t->slot_mask + 1 + N_EXTRA;
  for (uint64_t i = 0; i < n_hints; i++) {
    uint32_t h = i < N_EXTRA ? extra[i] : (uint32_t)(i - N_EXTRA + 1);
    decide(t, c, h, fast);
    n->runs++;
    if (!same(slow, fast)) {
      n->failures++;
      if (n->failures <= 10)
        fprintf(stderr, "%s:%u: hs_match %u gives another decision or trace than 0\n", path,
                lineno, h);
    }
  }
}

static int check_file(const char *vhosts, const char *path, size_t *shortcut_total,
                      size_t *plain_total, size_t *failures_total) {
  mdr_table *t = load(vhosts);
  size_t len;
  char *text = read_all(path, &len);
  mdrc_case *c = malloc(sizeof *c);
  run *slow = malloc(sizeof *slow), *fast = malloc(sizeof *fast);
  int status = 0;
  if (!t || !text || !c || !slow || !fast) {
    fprintf(stderr, "%s: cannot load\n", path);
    status = 2;
    goto out;
  }
  char err[MDRC_ERR_MAX];
  size_t cases = 0;
  counts cnt = { 0, 0, 0, 0 };
  unsigned lineno = 0;
  for (size_t at = 0; at < len && status == 0;) {
    const char *line = text + at;
    const char *nl = memchr(line, '\n', len - at);
    size_t n = nl ? (size_t)(nl - line) : len - at;
    at += n + 1;
    lineno++;
    if (mdrc_is_skippable(line, n)) continue;
    if (mdrc_parse(line, n, c, err, sizeof err) != 0 || mdrc_bind(t, c, err, sizeof err) != 0) {
      fprintf(stderr, "%s:%u: %s\n", path, lineno, err);
      status = 2;
      break;
    }
    uint32_t match = 0;
    mdr_listener_info li;
    if (mdr_table_listener_info(t, c->conn.listener, &li) != 0) {
      status = 2;
      break;
    }
    if (li.tls) {
      mdr_handshake_result hs;
      if (mdr_handshake(t, c->conn.listener, c->has_sni, c->sni.ptr, c->sni.len, &hs) != 0) {
        status = 2;
        break;
      }
      if (hs.outcome == MDR_HS_ALERT) continue;
      c->conn.has_hs_vhost = 1;
      c->conn.hs_vhost = hs.vhost;
      match = hs.match;
    }
    cases++;
    /* The case as written, then as a plain request: GET of "/" with no
     * origin set, the rest (version, authorities, connection) as written. */
    for (int variant = 0; variant < 2; variant++) {
      if (variant) {
        c->req.method = (mdr_str){ NULL, 0 };
        c->req.has_target = 1;
        c->req.target = (mdr_str)MDR_STR_LIT("/");
        c->conn.has_origin_set = 0;
        c->conn.origin_set = NULL;
        c->conn.n_origin_set = 0;
      }
      check_request(t, c, match, slow, fast, path, lineno, &cnt);
    }
  }
  printf("%s: %zu cases, each as written and as a plain GET: %zu took the shortcut, "
         "%zu the plain path, %zu runs, %zu differ\n",
         path, cases, cnt.shortcut, cnt.plain, cnt.runs, cnt.failures);
  *shortcut_total += cnt.shortcut;
  *plain_total += cnt.plain;
  *failures_total += cnt.failures;
out:
  free(fast);
  free(slow);
  free(c);
  free(text);
  mdr_table_unref(t);
  return status;
}

/* Names that differ from each other in one byte, at the places where the
 * plain path's compare-and-copy of the host changes strategy (byte loop, 4-
 * and 8-byte words, 16-byte blocks, the last block overlapping), one vhost
 * each: a hint naming another of them must not be taken for a match.
 * Written as a vhosts file and a cases file in the working folder, then
 * checked like the corpus. */
static int check_near_names(size_t *shortcut, size_t *plain, size_t *failures) {
  static const unsigned lens[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 40, 48, 49 };
  const char *vpath = "hs_match_near.vhosts", *cpath = "hs_match_near.cases";
  FILE *vf = fopen(vpath, "w"), *cf = fopen(cpath, "w");
  if (!vf || !cf) {
    if (vf) fclose(vf);
    if (cf) fclose(cf);
    fprintf(stderr, "cannot write %s, %s\n", vpath, cpath);
    return 2;
  }
  fprintf(vf, "listener web https 443 default=v0\n");
  unsigned k = 0;
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    unsigned n = lens[i];
    unsigned at[] = { n, 0, n / 2, n > 8 ? 8 : n, n > 16 ? 16 : n, n - 1 }; /* n: none */
    for (size_t j = 0; j < sizeof at / sizeof at[0]; j++) {
      int seen = j && at[j] >= n;
      for (size_t jj = 0; jj < j; jj++) seen |= at[jj] == at[j];
      if (seen) continue;
      char name[64];
      memset(name, 'a', n);
      name[n] = '\0';
      if (at[j] < n) name[at[j]] = 'b';
      fprintf(vf, "cert c%u %s\nvhost v%u listen=web names=%s cert=c%u\n", k, name, k, name, k);
      fprintf(cf, "case listener=web sni=%s alpn=h2 authority=%s => serve v%u\n", name, name, k);
      k++;
    }
  }
  int bad = fclose(vf) != 0;
  bad |= fclose(cf) != 0;
  if (bad) return 2;
  int rc = check_file(vpath, cpath, shortcut, plain, failures);
  remove(vpath);
  remove(cpath);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc % 2 != 1) {
    fprintf(stderr, "usage: test_hs_match VHOSTS CASES [VHOSTS CASES]...\n");
    return 2;
  }
  size_t shortcut = 0, plain = 0, failures = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (check_file(argv[i], argv[i + 1], &shortcut, &plain, &failures)) return 2;
  if (check_near_names(&shortcut, &plain, &failures)) return 2;
  printf("%zu cases took the shortcut, %zu the plain path, %zu runs differ\n", shortcut, plain,
         failures);
  if (!shortcut) fprintf(stderr, "no case took the shortcut: the corpus proves nothing\n");
  if (!plain) fprintf(stderr, "no case took the plain path: the corpus proves nothing\n");
  return failures || !shortcut || !plain ? 1 : 0;
}
