/*
 * The vhosts file parser: text -> builder statements -> frozen table.
 *
 * The format is defined by docs/vhosts-file.md.  This file only tokenises, checks the syntax of each
 * statement and its option values, and feeds the public builder API; every
 * cross-reference check (unknown names, duplicates, default= rules, ...) is
 * the builder's, whose messages are prefixed here with "SOURCE:LINE: ".
 *
 * No global state; every allocation goes through the allocator front end
 * (mem.h) with the caller's mdr_mem.  Time and memory are linear in the input size except
 * for the set comparison of a cert's names (n log n).
 */
#include <misdirect/misdirect.h>

#include "builder.h"
#include "mem.h"
#include "quote.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A physical line longer than this (without its line break) is an error. */
#define CFG_MAX_LINE 65536u
/* Most names a cert_names callback may report for one certificate. */
#define CFG_MAX_CERT_NAMES 65536u
/* Room for names given to a cert_names callback on the first call (callbacks
 * that cannot report a larger count fail above it; CAs issue far fewer). */
#define CFG_CERT_NAMES_CAP 4096u
/* Room for one quoted token in a message (escaped, cut with "..."). */
#define CFG_QUOTE MDRI_QUOTE

#if defined(__GNUC__)
#  define CFG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define CFG_PRINTF(f, a)
#endif

typedef struct cfg_tok {
  const char *p;
  size_t n;
  unsigned line;                 /* physical line the token is on */
} cfg_tok;

typedef struct cfg_parser {
  const mdr_mem *mem;            /* as given: mem.h applies the rule */
  const mdr_parse_options *opts; /* never NULL */
  mdr_str source;
  const char *text;
  size_t len, pos;
  unsigned next_line;            /* number of the next physical line */
  mdr_builder *b;
  mdr_error *err;                /* never NULL */
  /* Tokens of the current statement. */
  cfg_tok *toks;
  size_t ntoks, ctoks;
  /* List entries of the current statement (names=, listen=, ...). */
  mdr_str *strs;
  size_t nstrs, cstrs;
  /* public-ports= of the current listener. */
  uint16_t *ports;
  size_t cports;
  /* The joined file= path and normalised names of the current statement. */
  char *chars;
  size_t nchars, cchars;
  /* Names reported by the cert_names callback. */
  mdr_str *found;
  size_t cfound;
  /* Normalised names for comparing a cert's two name sets. */
  mdr_str *norm;
  size_t cnorm;
  /* The current statement, for messages: keyword and quoted NAME. */
  const char *kw;
  char qname[CFG_QUOTE];
  unsigned stmt_line;
} cfg_parser;

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

/* Grow an array to hold at least `need` elements of `elem` bytes through
 * the allocator front end (mem.h).  Returns the (possibly moved) array, or
 * NULL on failure with `arr` and *cap untouched. */
static void *cfg_grow(cfg_parser *ps, void *arr, size_t *cap, size_t need, size_t elem) {
  void *p = arr;
  if (mdri_grow(ps->mem, &p, cap, need, elem)) return NULL;
  return p;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* Bounded text appender for messages. */
typedef struct cfg_out {
  char *s;
  size_t cap, n;
} cfg_out;

static void cfg_put(cfg_out *o, const char *p) {
  size_t l = strlen(p);
  if (o->n + 1 >= o->cap) return;
  if (l > o->cap - 1 - o->n) l = o->cap - 1 - o->n;
  memcpy(o->s + o->n, p, l);
  o->n += l;
  o->s[o->n] = '\0';
}

/* Quote a token for a message (quote.h: \xHH escapes, cut with "..."). */
static const char *cfg_q(char out[CFG_QUOTE], const char *p, size_t n) {
  return mdri_quote(out, p, n);
}

static const char *cfg_qt(char out[CFG_QUOTE], const cfg_tok *t) { return cfg_q(out, t->p, t->n); }

/* strnlen is POSIX, not C11. */
static size_t cfg_strnlen(const char *s, size_t max) {
  const char *z = memchr(s, '\0', max);
  return z ? (size_t)(z - s) : max;
}

static void cfg_set_token(mdr_error *e, const char *p, size_t n) {
  if (n > sizeof e->token - 1) n = sizeof e->token - 1;
  if (n) memcpy(e->token, p, n);
  e->token[n] = '\0';
}

/* err->message = "SOURCE:LINE: what" ("SOURCE: what" when line is 0). */
static void cfg_set_message(cfg_parser *ps, unsigned line, const char *what) {
  char src[CFG_QUOTE], num[24];
  mdr_error *e = ps->err;
  cfg_out o = {e->message, sizeof e->message, 0};
  e->message[0] = '\0';
  cfg_put(&o, ps->source.len ? cfg_q(src, ps->source.ptr, ps->source.len) : "vhosts");
  if (line) {
    int k = snprintf(num, sizeof num, ":%u", line);
    if (k > 0) cfg_put(&o, num);
  }
  cfg_put(&o, ": ");
  cfg_put(&o, what); /* a message longer than the buffer is cut */
}

/* Fail with `code` on `line`, naming token (tok, tok_n); the message is
 * "SOURCE:LINE: " + fmt. */
CFG_PRINTF(6, 7)
static int cfg_fail(cfg_parser *ps, int code, unsigned line, const char *tok, size_t tok_n,
                    const char *fmt, ...) {
  char what[sizeof ps->err->message];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  (void)k;
  ps->err->code = code;
  ps->err->line = line;
  cfg_set_token(ps->err, tok, tok_n);
  cfg_set_message(ps, line, what);
  return code;
}

/* Fail on token t of the current statement: "KW 'NAME': " + fmt. */
CFG_PRINTF(3, 4)
static int cfg_bad(cfg_parser *ps, const cfg_tok *t, const char *fmt, ...) {
  char what[sizeof ps->err->message - 64];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  (void)k;
  return cfg_fail(ps, MDR_ERR_CONFIG, t->line, t->p, t->n, "%s '%s': %s", ps->kw, ps->qname,
                  what);
}

static int cfg_nomem(cfg_parser *ps) {
  return cfg_fail(ps, MDR_ERR_NOMEM, 0, NULL, 0, "out of memory");
}

/* Pass on an error from the builder, prefixed with "SOURCE:LINE: ". */
static int cfg_from_builder(cfg_parser *ps, int rc, const mdr_error *be, unsigned fallback_line) {
  if (rc == MDR_ERR_NOMEM) return cfg_nomem(ps);
  unsigned line = be->line ? be->line : fallback_line;
  size_t tn = cfg_strnlen(be->token, sizeof be->token);
  size_t mn = cfg_strnlen(be->message, sizeof be->message);
  char what[sizeof be->message];
  memcpy(what, be->message, mn);
  what[mn < sizeof what ? mn : sizeof what - 1] = '\0';
  if (mn == 0) {
    const char *s = mdr_strerror(rc);
    size_t sn = strlen(s);
    if (sn >= sizeof what) sn = sizeof what - 1;
    memcpy(what, s, sn);
    what[sn] = '\0';
  }
  ps->err->code = rc;
  ps->err->line = line;
  cfg_set_token(ps->err, be->token, tn);
  cfg_set_message(ps, line, what);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Lexer                                                                     */
/* ------------------------------------------------------------------------ */

static int cfg_push_tok(cfg_parser *ps, const char *p, size_t n, unsigned line) {
  cfg_tok *nt = cfg_grow(ps, ps->toks, &ps->ctoks, ps->ntoks + 1, sizeof *nt);
  if (!nt) return cfg_nomem(ps);
  ps->toks = nt;
  nt[ps->ntoks].p = p;
  nt[ps->ntoks].n = n;
  nt[ps->ntoks].line = line;
  ps->ntoks++;
  return 0;
}

/* A token holding a blank other than space and tab: a form feed, a
 * vertical tab or a no-break space (U+00A0 in UTF-8) between options makes
 * one token of two, and every message about the result would mislead. */
static int cfg_check_blanks(cfg_parser *ps, const char *p, size_t n, unsigned line) {
  char q[CFG_QUOTE];
  for (size_t i = 0; i < n; i++) {
    const char *what = NULL;
    if (p[i] == '\f')
      what = "a form feed (\\x0c)";
    else if (p[i] == '\v')
      what = "a vertical tab (\\x0b)";
    else if ((unsigned char)p[i] == 0xc2 && i + 1 < n && (unsigned char)p[i + 1] == 0xa0)
      what = "a no-break space (U+00A0, bytes \\xc2\\xa0)";
    if (what)
      return cfg_fail(ps, MDR_ERR_CONFIG, line, p, n,
                      "%s in '%s': separate tokens with ASCII spaces or tabs only", what,
                      cfg_q(q, p, n));
  }
  return 0;
}

/*
 * Read the tokens of the next statement into ps->toks.  A statement is one
 * or more physical lines joined by a final '\'.  Returns 1 when a statement
 * was read, 0 at the end of the input, or a negative error code.
 */
static int cfg_next_statement(cfg_parser *ps) {
  const char *text = ps->text;
  ps->ntoks = 0;
  while (ps->pos < ps->len) { /* pos grows by at least one per turn */
    size_t start = ps->pos;
    const char *nl = memchr(text + start, '\n', ps->len - start);
    size_t eol = nl ? (size_t)(nl - text) : ps->len;
    unsigned line = ps->next_line++;
    ps->pos = nl ? eol + 1 : ps->len;
    if (memchr(text + start, '\0', eol - start))
      return cfg_fail(ps, MDR_ERR_CONFIG, line, NULL, 0, "NUL byte in the line");
    size_t end = eol;
    if (end > start && text[end - 1] == '\r') end--;
    /* a CR with more of the line after it: CR-only line ends (a CR right
     * before the line end is an ordinary byte, shown escaped) */
    if (end - start > 1 && memchr(text + start, '\r', end - start - 1))
      return cfg_fail(ps, MDR_ERR_CONFIG, line, NULL, 0,
                      "a carriage return (\\x0d) inside the line: lines end with LF or CRLF, "
                      "not CR alone (a file saved with classic Mac OS line ends?)");
    if (end - start > CFG_MAX_LINE)
      return cfg_fail(ps, MDR_ERR_CONFIG, line, NULL, 0,
                      "line too long (%zu bytes; the limit is %u)", end - start, CFG_MAX_LINE);
    int cont = 0;
    size_t i = start;
    while (i < end) {
      char c = text[i];
      if (c == ' ' || c == '\t') {
        i++;
        continue;
      }
      if (c == '#') break; /* comment to the end of the physical line */
      size_t j = i;
      while (i < end && text[i] != ' ' && text[i] != '\t') i++;
      size_t n = i - j;
      if (i == end && text[end - 1] == '\\') { /* continuation */
        n--;
        cont = 1;
      }
      if (n == 0) continue;
      if (n == 1 && text[j] == '\\')
        return cfg_fail(ps, MDR_ERR_CONFIG, line, text + j, 1,
                        "stray '\\' (a continuation '\\' must be the last character of the line)");
      int rc = cfg_check_blanks(ps, text + j, n, line);
      if (rc) return rc;
      rc = cfg_push_tok(ps, text + j, n, line);
      if (rc) return rc;
    }
    if (!cont && ps->ntoks > 0) return 1;
  }
  return ps->ntoks > 0;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

static int cfg_eq(const char *p, size_t n, const char *lit) {
  size_t ln = strlen(lit);
  return n == ln && memcmp(p, lit, n) == 0;
}

static int cfg_has_eq(const cfg_tok *t) { return memchr(t->p, '=', t->n) != NULL; }

/* Index of (p, n) in a NULL-terminated list of words, or -1. */
static int cfg_word(const char *p, size_t n, const char *const *words) {
  for (int i = 0; words[i]; i++)
    if (cfg_eq(p, n, words[i])) return i;
  return -1;
}

/* Decimal port 1-65535 (leading zeros allowed).  0 on success, -1 if not. */
static int cfg_port(const char *p, size_t n, uint16_t *out) {
  unsigned long v = 0;
  if (n == 0) return -1;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (unsigned long)(p[i] - '0');
    if (v > 65535) return -1;
  }
  if (v == 0) return -1;
  *out = (uint16_t)v;
  return 0;
}

/*
 * Recognise option token t among `keys` ("key=" for options with a value,
 * "key" for flags; NULL-terminated).  Returns the index and sets *val to the
 * value (empty for flags), or a negative error code: unknown option, a flag
 * given a value, an option without its value, an empty value, a repeat.
 */
static int cfg_option(cfg_parser *ps, const cfg_tok *t, const char *const *keys, unsigned *seen,
                      mdr_str *val) {
  char q[CFG_QUOTE];
  const char *eq = memchr(t->p, '=', t->n);
  size_t kn = eq ? (size_t)(eq - t->p) + 1 : t->n;
  int idx = -1;
  for (int i = 0; keys[i]; i++)
    if (cfg_eq(t->p, kn, keys[i])) idx = i;
  if (idx < 0) {
    for (int i = 0; keys[i]; i++) {
      size_t n = strlen(keys[i]);
      int flag = keys[i][n - 1] != '=';
      if (eq && flag && cfg_eq(t->p, kn - 1, keys[i]))
        return cfg_bad(ps, t, "option '%s' takes no value ('%s')", keys[i], cfg_qt(q, t));
      if (!eq && !flag && n - 1 == t->n && memcmp(t->p, keys[i], t->n) == 0)
        return cfg_bad(ps, t, "option '%s' needs a value ('%sVALUE')", cfg_qt(q, t), keys[i]);
    }
    return cfg_bad(ps, t, "unknown option '%s'", cfg_qt(q, t));
  }
  if (*seen & (1u << idx)) return cfg_bad(ps, t, "duplicate option '%s'", cfg_qt(q, t));
  *seen |= 1u << idx;
  val->ptr = t->p + kn;
  val->len = t->n - kn;
  if (eq && val->len == 0) return cfg_bad(ps, t, "empty value in '%s'", cfg_qt(q, t));
  return idx;
}

/* Split a comma list into ps->strs; *start and *count locate the entries. */
static int cfg_list(cfg_parser *ps, const cfg_tok *t, mdr_str val, size_t *start, size_t *count) {
  char q[CFG_QUOTE];
  *start = ps->nstrs;
  *count = 0;
  size_t i = 0;
  for (;;) { /* one entry per turn; i only grows */
    const char *comma = memchr(val.ptr + i, ',', val.len - i);
    size_t e = comma ? (size_t)(comma - val.ptr) : val.len;
    if (e == i) return cfg_bad(ps, t, "empty entry in '%s'", cfg_qt(q, t));
    mdr_str *ns = cfg_grow(ps, ps->strs, &ps->cstrs, ps->nstrs + 1, sizeof *ns);
    if (!ns) return cfg_nomem(ps);
    ps->strs = ns;
    ns[ps->nstrs].ptr = val.ptr + i;
    ns[ps->nstrs].len = e - i;
    ps->nstrs++;
    (*count)++;
    if (!comma) break;
    i = e + 1;
  }
  return 0;
}

/* Append `rel` (a path as written) joined with opts->base_dir to ps->chars,
 * NUL-terminated; *off and *n locate it.  Used for the cert_names callback
 * only: the table keeps paths as written (adapters resolve them). */
static int cfg_join(cfg_parser *ps, mdr_str rel, size_t *off, size_t *n) {
  mdr_str base = ps->opts->base_dir;
  int joined = base.len > 0 && rel.ptr[0] != '/';
  int slash = joined && base.ptr[base.len - 1] != '/';
  size_t need = (joined ? base.len : 0) + (size_t)slash + rel.len + 1;
  char *nc = cfg_grow(ps, ps->chars, &ps->cchars, ps->nchars + need, 1);
  if (!nc) return cfg_nomem(ps);
  ps->chars = nc;
  *off = ps->nchars;
  char *w = nc + ps->nchars;
  if (joined) {
    memcpy(w, base.ptr, base.len);
    w += base.len;
  }
  if (slash) *w++ = '/';
  memcpy(w, rel.ptr, rel.len);
  w[rel.len] = '\0';
  *n = need - 1;
  ps->nchars += need;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Statement heads                                                           */
/* ------------------------------------------------------------------------ */

/* Check that the statement has a NAME (token 1) and remember it. */
static int cfg_name(cfg_parser *ps) {
  char q[CFG_QUOTE];
  const cfg_tok *kw = &ps->toks[0];
  ps->stmt_line = kw->line;
  ps->qname[0] = '\0';
  if (ps->ntoks < 2)
    return cfg_fail(ps, MDR_ERR_CONFIG, kw->line, kw->p, kw->n, "%s: missing NAME", ps->kw);
  const cfg_tok *t = &ps->toks[1];
  if (cfg_has_eq(t))
    return cfg_fail(ps, MDR_ERR_CONFIG, t->line, t->p, t->n, "%s: missing NAME before '%s'",
                    ps->kw, cfg_qt(q, t));
  cfg_qt(ps->qname, t);
  return 0;
}

/* Token i must be a positional value (no '='); else "missing WHAT". */
static int cfg_positional(cfg_parser *ps, size_t i, const char *what) {
  char q[CFG_QUOTE];
  if (i < ps->ntoks && !cfg_has_eq(&ps->toks[i])) return 0;
  if (i < ps->ntoks)
    return cfg_bad(ps, &ps->toks[i], "missing %s before '%s'", what, cfg_qt(q, &ps->toks[i]));
  return cfg_bad(ps, &ps->toks[1], "missing %s", what);
}

/* ------------------------------------------------------------------------ */
/* listener NAME SCHEME PORT [options]                                        */
/* ------------------------------------------------------------------------ */

static const char *const cfg_listener_keys[] = {
  "default=", "public-ports=", "unknown-host=", "unknown-sni=", "no-sni=", "sni-host=", NULL};
static const char *const cfg_reject_default[] = {"reject", "default", NULL};
static const char *const cfg_default_reject[] = {"default", "reject", NULL};
static const char *const cfg_sni_host_words[] = {"compatible", "strict", "ignore", NULL};

static int cfg_listener(cfg_parser *ps) {
  char q[CFG_QUOTE];
  mdr_listener_conf c;
  memset(&c, 0, sizeof c);
  int rc = cfg_name(ps);
  if (rc) return rc;
  c.name.ptr = ps->toks[1].p;
  c.name.len = ps->toks[1].n;
  c.line = ps->stmt_line;
  if ((rc = cfg_positional(ps, 2, "SCHEME (http or https)"))) return rc;
  const cfg_tok *t = &ps->toks[2];
  if (cfg_eq(t->p, t->n, "https"))
    c.tls = 1;
  else if (!cfg_eq(t->p, t->n, "http"))
    return cfg_bad(ps, t, "bad scheme '%s' (expected http or https)", cfg_qt(q, t));
  if ((rc = cfg_positional(ps, 3, "PORT"))) return rc;
  t = &ps->toks[3];
  if (cfg_port(t->p, t->n, &c.port))
    return cfg_bad(ps, t, "bad port '%s' (expected 1-65535)", cfg_qt(q, t));
  unsigned seen = 0;
  size_t nports = 0;
  for (size_t i = 4; i < ps->ntoks; i++) {
    t = &ps->toks[i];
    mdr_str v = { NULL, 0 }; /* set by cfg_option when it returns >= 0 */
    int k = cfg_option(ps, t, cfg_listener_keys, &seen, &v);
    if (k < 0) return k;
    int w = 0;
    switch (k) {
    case 0:
      c.default_vhost = v;
      break;
    case 1: {
      size_t start, count;
      if ((rc = cfg_list(ps, t, v, &start, &count))) return rc;
      uint16_t *np = cfg_grow(ps, ps->ports, &ps->cports, count, sizeof *np);
      if (!np) return cfg_nomem(ps);
      ps->ports = np;
      for (size_t j = 0; j < count; j++) {
        mdr_str e = ps->strs[start + j];
        if (cfg_port(e.ptr, e.len, &np[j])) {
          char q2[CFG_QUOTE];
          return cfg_fail(ps, MDR_ERR_CONFIG, t->line, e.ptr, e.len,
                          "%s '%s': bad port '%s' in '%s' (expected 1-65535)", ps->kw, ps->qname,
                          cfg_q(q2, e.ptr, e.len), cfg_qt(q, t));
        }
      }
      nports = count;
      break;
    }
    case 2:
      if ((w = cfg_word(v.ptr, v.len, cfg_reject_default)) < 0)
        return cfg_bad(ps, t, "bad unknown-host '%s' (expected reject or default)",
                       cfg_q(q, v.ptr, v.len));
      c.unknown_host = w ? MDR_UNKNOWN_HOST_DEFAULT : MDR_UNKNOWN_HOST_REJECT;
      break;
    case 3:
      if ((w = cfg_word(v.ptr, v.len, cfg_reject_default)) < 0)
        return cfg_bad(ps, t, "bad unknown-sni '%s' (expected reject or default)",
                       cfg_q(q, v.ptr, v.len));
      c.unknown_sni = w ? MDR_UNKNOWN_SNI_DEFAULT : MDR_UNKNOWN_SNI_REJECT;
      break;
    case 4:
      if ((w = cfg_word(v.ptr, v.len, cfg_default_reject)) < 0)
        return cfg_bad(ps, t, "bad no-sni '%s' (expected default or reject)",
                       cfg_q(q, v.ptr, v.len));
      c.no_sni = w ? MDR_NO_SNI_REJECT : MDR_NO_SNI_DEFAULT;
      break;
    default:
      if ((w = cfg_word(v.ptr, v.len, cfg_sni_host_words)) < 0)
        return cfg_bad(ps, t, "bad sni-host '%s' (expected compatible, strict or ignore)",
                       cfg_q(q, v.ptr, v.len));
      c.sni_host = w == 0 ? MDR_SNI_HOST_COMPATIBLE
                          : w == 1 ? MDR_SNI_HOST_STRICT : MDR_SNI_HOST_IGNORE;
      break;
    }
  }
  c.public_ports = nports ? ps->ports : NULL;
  c.n_public_ports = nports;
  mdr_error be;
  memset(&be, 0, sizeof be);
  rc = mdr_builder_add_listener(ps->b, &c, &be);
  return rc ? cfg_from_builder(ps, rc, &be, c.line) : 0;
}

/* ------------------------------------------------------------------------ */
/* cert NAME [HOSTNAME...] [file=PEM key=PEM]                                 */
/* ------------------------------------------------------------------------ */

static int cfg_str_cmp(const void *a, const void *b) {
  const mdr_str *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = n ? memcmp(x->ptr, y->ptr, n) : 0;
  if (c) return c;
  return (x->len > y->len) - (x->len < y->len);
}

/* Normalise one name for comparison into out (room for n + MDR_HOST_MAX + 3
 * bytes): "*." kept, host lower-cased, one trailing dot dropped, IPv6 in
 * canonical form.  Returns the length. */
static size_t cfg_norm_name(const char *p, size_t n, char *out) {
  size_t o = 0;
  if (n >= 2 && p[0] == '*' && p[1] == '.') {
    out[o++] = '*';
    out[o++] = '.';
    p += 2;
    n -= 2;
  }
  const char *colon = NULL;
  if (n && p[0] == '[') {
    const char *rb = memchr(p, ']', n);
    if (rb) colon = memchr(rb, ':', n - (size_t)(rb - p));
  } else {
    colon = memchr(p, ':', n);
  }
  mdr_authority a;
  int valid = 0;
  mdr_reason why;
  if (n && !colon && mdr_authority_parse(p, n, 0, &a, &valid, &why) == 0 && valid) {
    memcpy(out + o, a.host, a.host_len);
    return o + a.host_len;
  }
  if (n && p[n - 1] == '.') n--;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  return o;
}

/* Normalise, sort and de-duplicate names[0..n) into ps->norm[at..); returns
 * the number of distinct names.  ps->chars must have room (see caller). */
static size_t cfg_norm_set(cfg_parser *ps, const mdr_str *names, size_t n, size_t at) {
  mdr_str *set = ps->norm + at;
  for (size_t i = 0; i < n; i++) {
    char *w = ps->chars + ps->nchars;
    size_t l = cfg_norm_name(names[i].ptr, names[i].len, w);
    set[i].ptr = w;
    set[i].len = l;
    ps->nchars += l;
  }
  if (n > 1) qsort(set, n, sizeof *set, cfg_str_cmp);
  size_t d = 0;
  for (size_t i = 0; i < n; i++)
    if (d == 0 || cfg_str_cmp(&set[d - 1], &set[i]) != 0) set[d++] = set[i];
  return d;
}

/* The listed names (listed[0..nl)) must equal the certificate's
 * (found[0..nf)) as sets. */
static int cfg_compare_names(cfg_parser *ps, const cfg_tok *at, const mdr_str *listed, size_t nl,
                             const mdr_str *found, size_t nf, const char *path) {
  char qp[CFG_QUOTE];
  cfg_q(qp, path, strlen(path)); /* before ps->chars (holding path) may move */
  size_t room = 0;
  for (size_t i = 0; i < nl; i++) room += listed[i].len + MDR_HOST_MAX + 3;
  for (size_t i = 0; i < nf; i++) room += found[i].len + MDR_HOST_MAX + 3;
  char *nc = cfg_grow(ps, ps->chars, &ps->cchars, ps->nchars + room, 1);
  if (!nc) return cfg_nomem(ps);
  ps->chars = nc;
  mdr_str *nn = cfg_grow(ps, ps->norm, &ps->cnorm, nl + nf, sizeof *nn);
  if (!nn) return cfg_nomem(ps);
  ps->norm = nn;
  size_t a = cfg_norm_set(ps, listed, nl, 0);
  size_t b = cfg_norm_set(ps, found, nf, nl);
  const mdr_str *sa = ps->norm, *sb = ps->norm + nl;
  /* Merge: collect names only in one of the sets. */
  char only_l[200], only_c[200], q[CFG_QUOTE];
  cfg_out ol = {only_l, sizeof only_l, 0}, oc = {only_c, sizeof only_c, 0};
  only_l[0] = only_c[0] = '\0';
  const mdr_str *first = NULL;
  size_t i = 0, j = 0;
  while (i < a || j < b) { /* one of i, j grows per turn */
    int c = i == a ? 1 : j == b ? -1 : cfg_str_cmp(&sa[i], &sb[j]);
    if (c == 0) {
      i++;
      j++;
      continue;
    }
    cfg_out *o = c < 0 ? &ol : &oc;
    const mdr_str *s = c < 0 ? &sa[i++] : &sb[j++];
    if (!first) first = s;
    if (o->n) cfg_put(o, ", ");
    cfg_put(o, cfg_q(q, s->ptr, s->len));
  }
  if (!first) return 0;
  int rc = cfg_fail(ps, MDR_ERR_CONFIG, at->line, first->ptr, first->len,
                    "%s '%s': the names listed do not agree with the certificate '%s': "
                    "listed but not in the certificate: %s; in the certificate but not listed: %s",
                    ps->kw, ps->qname, qp, ol.n ? only_l : "(none)", oc.n ? only_c : "(none)");
  return rc;
}

/* Ask opts->cert_names for the names of the certificate at `path`; sets
 * *names and *n to an array valid until the next call.  When the callback
 * reports more names than it had room for, it is asked once more with room
 * for all of them. */
static int cfg_cert_names(cfg_parser *ps, const cfg_tok *at, const char *path, mdr_str **names,
                          size_t *n) {
  const mdr_parse_options *o = ps->opts;
  size_t cap = CFG_CERT_NAMES_CAP;
  char q[CFG_QUOTE], why[256];
  int rc = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    mdr_str *nf = cfg_grow(ps, ps->found, &ps->cfound, cap, sizeof *nf);
    if (!nf) return cfg_nomem(ps);
    ps->found = nf;
    memset(nf, 0, cap * sizeof *nf);
    why[0] = '\0';
    size_t got = 0;
    rc = o->cert_names(o->cert_names_user, path, nf, cap, &got, why, sizeof why);
    why[sizeof why - 1] = '\0';
    if ((rc == 0 || rc == MDR_ERR_BUFFER_TOO_SMALL) && got > cap) {
      if (got > CFG_MAX_CERT_NAMES) {
        rc = MDR_ERR_LIMIT;
        snprintf(why, sizeof why, "it covers %zu names; the limit is %u", got, CFG_MAX_CERT_NAMES);
      } else if (attempt == 0) {
        cap = got;
        continue;
      } else {
        rc = MDR_ERR_CONFIG;
        snprintf(why, sizeof why, "the cert_names callback reported %zu names with room for %zu",
                 got, cap);
      }
    }
    if (rc >= 0) {
      *names = nf;
      *n = got;
      return 0;
    }
    break;
  }
  if (rc == MDR_ERR_NOMEM) return cfg_nomem(ps);
  if (rc < -199 || rc > -100) { /* not an MDR_ERR_* code */
    if (!why[0]) snprintf(why, sizeof why, "the cert_names callback returned %d", rc);
    rc = MDR_ERR_CONFIG;
  }
  return cfg_fail(ps, rc, at->line, at->p, at->n, "%s '%s': cannot read the names of '%s': %s",
                  ps->kw, ps->qname, cfg_q(q, path, strlen(path)), why[0] ? why : mdr_strerror(rc));
}

static const char *const cfg_cert_keys[] = {"file=", "key=", NULL};

static int cfg_cert(cfg_parser *ps) {
  mdr_cert_conf c;
  memset(&c, 0, sizeof c);
  int rc = cfg_name(ps);
  if (rc) return rc;
  c.name.ptr = ps->toks[1].p;
  c.name.len = ps->toks[1].n;
  c.line = ps->stmt_line;
  unsigned seen = 0;
  const cfg_tok *ft = NULL, *kt = NULL;
  size_t start = ps->nstrs, nl = 0;
  for (size_t i = 2; i < ps->ntoks; i++) {
    const cfg_tok *t = &ps->toks[i];
    if (!cfg_has_eq(t)) { /* a name it covers */
      mdr_str *ns = cfg_grow(ps, ps->strs, &ps->cstrs, ps->nstrs + 1, sizeof *ns);
      if (!ns) return cfg_nomem(ps);
      ps->strs = ns;
      ns[ps->nstrs].ptr = t->p;
      ns[ps->nstrs].len = t->n;
      ps->nstrs++;
      nl++;
      continue;
    }
    mdr_str v = { NULL, 0 }; /* set by cfg_option when it returns >= 0 */
    int k = cfg_option(ps, t, cfg_cert_keys, &seen, &v);
    if (k < 0) return k;
    if (k == 0) {
      ft = t;
      c.file = v; /* paths stay as written: adapters resolve them */
    } else {
      kt = t;
      c.key = v;
    }
  }
  if (kt && !ft) return cfg_bad(ps, kt, "key= without file=");
  if (ft && !kt) return cfg_bad(ps, ft, "file= without key=");
  const mdr_str *names = nl ? ps->strs + start : NULL;
  size_t n_names = nl;
  if (ft && ps->opts->cert_names) {
    /* The certificate's names are the truth; listed ones must agree. */
    size_t foff = 0, fn = 0;
    mdr_str *found = NULL;
    size_t nf = 0;
    if ((rc = cfg_join(ps, c.file, &foff, &fn))) return rc;
    if ((rc = cfg_cert_names(ps, ft, ps->chars + foff, &found, &nf))) return rc;
    if (nl) {
      rc = cfg_compare_names(ps, ft, ps->strs + start, nl, found, nf, ps->chars + foff);
      if (rc) return rc;
    }
    names = nf ? found : NULL;
    n_names = nf;
  } else if (ft && !nl) {
    return cfg_bad(ps, ft,
                   "the certificate's names cannot be read without the OpenSSL adapter; "
                   "list the names it covers on the line (cert NAME HOSTNAME... file=PEM key=PEM)");
  }
  c.names = names;
  c.n_names = n_names;
  mdr_error be;
  memset(&be, 0, sizeof be);
  rc = mdr_builder_add_cert(ps->b, &c, &be);
  return rc ? cfg_from_builder(ps, rc, &be, c.line) : 0;
}

/* ------------------------------------------------------------------------ */
/* policy NAME [client-auth=...] [ca-file=PEM] [min-tls=1.2|1.3]             */
/* ------------------------------------------------------------------------ */

static const char *const cfg_policy_keys[] = {"client-auth=", "ca-file=", "min-tls=", NULL};
static const char *const cfg_client_auth_words[] = {"none", "optional", "required", NULL};
static const char *const cfg_min_tls_words[] = {"1.2", "1.3", NULL};

static int cfg_policy(cfg_parser *ps) {
  char q[CFG_QUOTE];
  mdr_policy_conf c;
  memset(&c, 0, sizeof c);
  int rc = cfg_name(ps);
  if (rc) return rc;
  c.name.ptr = ps->toks[1].p;
  c.name.len = ps->toks[1].n;
  c.line = ps->stmt_line;
  unsigned seen = 0;
  for (size_t i = 2; i < ps->ntoks; i++) {
    const cfg_tok *t = &ps->toks[i];
    mdr_str v = { NULL, 0 }; /* set by cfg_option when it returns >= 0 */
    int k = cfg_option(ps, t, cfg_policy_keys, &seen, &v);
    if (k < 0) return k;
    int w;
    if (k == 0) {
      if ((w = cfg_word(v.ptr, v.len, cfg_client_auth_words)) < 0)
        return cfg_bad(ps, t, "bad client-auth '%s' (expected none, optional or required)",
                       cfg_q(q, v.ptr, v.len));
      c.client_auth = w == 0 ? MDR_CLIENT_AUTH_NONE
                             : w == 1 ? MDR_CLIENT_AUTH_OPTIONAL : MDR_CLIENT_AUTH_REQUIRED;
    } else if (k == 1) {
      c.ca_file = v; /* as written */
    } else {
      if ((w = cfg_word(v.ptr, v.len, cfg_min_tls_words)) < 0)
        return cfg_bad(ps, t, "bad min-tls '%s' (expected 1.2 or 1.3)", cfg_q(q, v.ptr, v.len));
      c.min_tls = w ? MDR_TLS_1_3 : MDR_TLS_1_2;
    }
  }
  uint8_t id[64];
  if (c.ca_file.len && ps->opts->ca_identity) {
    size_t off = 0, n = 0, idlen = 0; /* set by cfg_join when it returns 0 */
    char why[256];
    why[0] = '\0';
    if ((rc = cfg_join(ps, c.ca_file, &off, &n))) return rc;
    rc = ps->opts->ca_identity(ps->opts->ca_identity_user, ps->chars + off, id, sizeof id, &idlen,
                               why, sizeof why);
    why[sizeof why - 1] = '\0';
    if (rc == MDR_ERR_NOMEM) return cfg_nomem(ps);
    if (rc == 0 && (idlen == 0 || idlen > sizeof id)) {
      rc = MDR_ERR_CONFIG;
      snprintf(why, sizeof why, "the ca_identity callback reported %zu bytes", idlen);
    }
    if (rc) {
      if (rc < -199 || rc > -100) rc = MDR_ERR_CONFIG;
      return cfg_fail(ps, rc, ps->stmt_line, c.ca_file.ptr, c.ca_file.len,
                      "%s '%s': cannot read the CA set '%s': %s", ps->kw, ps->qname,
                      cfg_q(q, ps->chars + off, n), why[0] ? why : mdr_strerror(rc));
    }
    c.ca_identity = id;
    c.ca_identity_len = idlen;
  }
  mdr_error be;
  memset(&be, 0, sizeof be);
  rc = mdr_builder_add_policy(ps->b, &c, &be);
  return rc ? cfg_from_builder(ps, rc, &be, c.line) : 0;
}

/* ------------------------------------------------------------------------ */
/* vhost NAME listen=... names=... [options]                                  */
/* ------------------------------------------------------------------------ */

enum {
  CFG_V_LISTEN, CFG_V_NAMES, CFG_V_REDIRECT_NAMES, CFG_V_CERT, CFG_V_POLICY, CFG_V_HTTP,
  CFG_V_STATUS, CFG_V_PROTOCOLS, CFG_V_EARLY
};
static const char *const cfg_vhost_keys[] = {
  "listen=", "names=", "redirect-names=", "cert=", "policy=", "http=", "redirect-status=",
  "protocols=", "early-data", NULL};
static const char *const cfg_http_words[] = {"serve", "redirect", NULL};
static const char *const cfg_status_words[] = {"301", "302", "307", "308", NULL};
static const char *const cfg_proto_words[] = {"h1", "h2", "h3", NULL};

static int cfg_vhost(cfg_parser *ps) {
  char q[CFG_QUOTE], q2[CFG_QUOTE];
  static const unsigned status[] = {301, 302, 307, 308};
  static const unsigned proto[] = {MDR_PROTO_H1, MDR_PROTO_H2, MDR_PROTO_H3};
  mdr_vhost_conf c;
  memset(&c, 0, sizeof c);
  int rc = cfg_name(ps);
  if (rc) return rc;
  c.name.ptr = ps->toks[1].p;
  c.name.len = ps->toks[1].n;
  c.line = ps->stmt_line;
  unsigned seen = 0;
  size_t ls = 0, ln = 0, ns = 0, nn = 0, rs = 0, rn = 0;
  for (size_t i = 2; i < ps->ntoks; i++) {
    const cfg_tok *t = &ps->toks[i];
    mdr_str v = { NULL, 0 }; /* set by cfg_option when it returns >= 0 */
    int k = cfg_option(ps, t, cfg_vhost_keys, &seen, &v);
    if (k < 0) return k;
    int w;
    switch (k) {
    case CFG_V_LISTEN:
      if ((rc = cfg_list(ps, t, v, &ls, &ln))) return rc;
      break;
    case CFG_V_NAMES:
      if ((rc = cfg_list(ps, t, v, &ns, &nn))) return rc;
      break;
    case CFG_V_REDIRECT_NAMES:
      if ((rc = cfg_list(ps, t, v, &rs, &rn))) return rc;
      break;
    case CFG_V_CERT:
      c.cert = v;
      break;
    case CFG_V_POLICY:
      c.policy = v;
      break;
    case CFG_V_HTTP:
      if ((w = cfg_word(v.ptr, v.len, cfg_http_words)) < 0)
        return cfg_bad(ps, t, "bad http '%s' (expected serve or redirect)",
                       cfg_q(q, v.ptr, v.len));
      c.http = w ? MDR_HTTP_REDIRECT : MDR_HTTP_SERVE;
      break;
    case CFG_V_STATUS:
      if ((w = cfg_word(v.ptr, v.len, cfg_status_words)) < 0)
        return cfg_bad(ps, t, "bad redirect-status '%s' (expected 301, 302, 307 or 308)",
                       cfg_q(q, v.ptr, v.len));
      c.redirect_status = status[w];
      break;
    case CFG_V_PROTOCOLS: {
      size_t ps0, pn;
      if ((rc = cfg_list(ps, t, v, &ps0, &pn))) return rc;
      for (size_t j = 0; j < pn; j++) {
        mdr_str e = ps->strs[ps0 + j];
        if ((w = cfg_word(e.ptr, e.len, cfg_proto_words)) < 0)
          return cfg_fail(ps, MDR_ERR_CONFIG, t->line, e.ptr, e.len,
                          "%s '%s': bad protocol '%s' in '%s' (expected h1, h2 or h3)", ps->kw,
                          ps->qname, cfg_q(q2, e.ptr, e.len), cfg_qt(q, t));
        if (c.protocols & proto[w])
          return cfg_fail(ps, MDR_ERR_CONFIG, t->line, e.ptr, e.len,
                          "%s '%s': protocol '%s' listed twice in '%s'", ps->kw, ps->qname,
                          cfg_q(q2, e.ptr, e.len), cfg_qt(q, t));
        c.protocols |= proto[w];
      }
      break;
    }
    default:
      c.early_data = 1;
      break;
    }
  }
  if (!(seen & (1u << CFG_V_LISTEN))) return cfg_bad(ps, &ps->toks[1], "missing listen=");
  if (!(seen & (1u << CFG_V_NAMES))) return cfg_bad(ps, &ps->toks[1], "missing names=");
  c.listeners = ps->strs + ls;
  c.n_listeners = ln;
  c.names = ps->strs + ns;
  c.n_names = nn;
  c.redirect_names = rn ? ps->strs + rs : NULL;
  c.n_redirect_names = rn;
  mdr_error be;
  memset(&be, 0, sizeof be);
  rc = mdr_builder_add_vhost(ps->b, &c, &be);
  return rc ? cfg_from_builder(ps, rc, &be, c.line) : 0;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */
/* ------------------------------------------------------------------------ */

static int cfg_statement(cfg_parser *ps) {
  char q[CFG_QUOTE];
  const cfg_tok *t = &ps->toks[0];
  ps->nstrs = 0;
  ps->nchars = 0;
  if (cfg_eq(t->p, t->n, "listener")) {
    ps->kw = "listener";
    return cfg_listener(ps);
  }
  if (cfg_eq(t->p, t->n, "cert")) {
    ps->kw = "cert";
    return cfg_cert(ps);
  }
  if (cfg_eq(t->p, t->n, "policy")) {
    ps->kw = "policy";
    return cfg_policy(ps);
  }
  if (cfg_eq(t->p, t->n, "vhost")) {
    ps->kw = "vhost";
    return cfg_vhost(ps);
  }
  return cfg_fail(ps, MDR_ERR_CONFIG, t->line, t->p, t->n,
                  "unknown statement '%s' (expected listener, cert, policy or vhost)",
                  cfg_qt(q, t));
}

MDR_EXTERN int mdr_table_parse(const char *text, size_t len, mdr_str source,
                               const mdr_parse_options *opts, mdr_table **out, mdr_error *err) {
  static const mdr_parse_options no_opts;
  mdr_error local;
  memset(&local, 0, sizeof local);
  cfg_parser ps;
  memset(&ps, 0, sizeof ps);
  ps.err = err ? err : &local;
  memset(ps.err, 0, sizeof *ps.err);
  ps.source = source;
  if (!opts) opts = &no_opts;
  ps.opts = opts;
  ps.mem = opts->mem;
  if (out) *out = NULL;
  if (!out || (!text && len) || (!source.ptr && source.len) ||
      (!opts->base_dir.ptr && opts->base_dir.len)) {
    if (source.ptr == NULL) ps.source.len = 0;
    return cfg_fail(&ps, MDR_ERR_INVALID_ARGUMENT, 0, NULL, 0, "invalid argument");
  }
  ps.text = text;
  ps.len = len;
  ps.next_line = 1;
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
    return cfg_fail(&ps, MDR_ERR_CONFIG, 1, text, 3,
                    "the file starts with a UTF-8 byte order mark; save it without one");
  int rc = mdr_builder_new(&ps.b, opts->mem);
  if (rc) {
    ps.b = NULL;
    rc = rc == MDR_ERR_NOMEM ? cfg_nomem(&ps) : cfg_fail(&ps, rc, 0, NULL, 0, "%s", mdr_strerror(rc));
    goto done;
  }
  /* text outlives the build, and the builder is freed right after it */
  mdri_builder_borrow(ps.b);
  for (;;) { /* every turn consumes at least one line of the input */
    rc = cfg_next_statement(&ps);
    if (rc <= 0) break;
    rc = cfg_statement(&ps);
    if (rc) goto done;
  }
  if (rc < 0) goto done;
  mdr_error be;
  memset(&be, 0, sizeof be);
  mdr_table *t = NULL;
  rc = mdri_builder_build_consume(ps.b, &t, &be);
  if (rc) {
    mdr_table_unref(t);
    rc = cfg_from_builder(&ps, rc, &be, 0);
    goto done;
  }
  *out = t;
done:
  mdr_builder_free(ps.b);
  mdri_free(ps.mem, ps.toks);
  mdri_free(ps.mem, ps.strs);
  mdri_free(ps.mem, ps.ports);
  mdri_free(ps.mem, ps.chars);
  mdri_free(ps.mem, ps.found);
  mdri_free(ps.mem, ps.norm);
  return rc;
}
