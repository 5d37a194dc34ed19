/*
 * misdirect - command-line front end of the decision core.
 *
 *   misdirect decide  -c VHOSTS            case lines on stdin -> one result line each
 *   misdirect test    -c VHOSTS FILE...    check the expectations of case files
 *   misdirect explain -c VHOSTS [--json] [CASE...]  why one case gets its outcome
 *   misdirect lint    -c VHOSTS [--json]   configuration warnings (exit 1 if any)
 *
 * Exit status: 0 success, 1 a test failed (lint: warnings found), 2 usage,
 * file or case-syntax error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <misdirect/misdirect.h>
#ifdef MISDIRECT_TOOL_OPENSSL
#include <misdirect/openssl.h>
#include <openssl/evp.h>
#endif

#include "explain.h"
#include "cases.h"
#include "lint.h"

#define LOC_MAX 20000

static const char usage_text[] =
  "usage: misdirect COMMAND -c VHOSTS [ARGS]\n"
  "\n"
  "commands:\n"
  "  decide  -c VHOSTS            read case lines on stdin; print one line per case:\n"
  "                               STATUS VHOST|- LOCATION|- REASON\n"
  "                               (STATUS is 200 for serve, the alert name for alerts)\n"
  "  test    -c VHOSTS FILE...    check the '=> EXPECT' of every case in FILEs; print\n"
  "                               each failure as FILE:LINE and 'N passed, N failed'\n"
  "  explain -c VHOSTS [CASE]     explain one case (from the arguments, or the first\n"
  "                               case line on stdin): the decision, the names\n"
  "                               involved (SNI, Host, :authority, vhosts H and R),\n"
  "                               how H and R differ, every rule step, and the\n"
  "                               likely causes with their fixes\n"
  "  lint    -c VHOSTS            warn about configurations that cause 421s, failed\n"
  "                               handshakes or needless redirects: one\n"
  "                               'FILE:LINE: warning: MESSAGE [ID]' with why and\n"
  "                               fix lines each, then 'N warnings'; exit 0 clean,\n"
  "                               1 warnings\n"
  "\n"
  "options:\n"
  "  -c VHOSTS    the vhosts file (format: docs/vhosts-file.md)\n"
  "  --json       explain and lint: JSON output (explain: one object; lint:\n"
  "               one object per finding and a last {\"warnings\":N}); strings\n"
  "               are ASCII, other bytes written as \\u00XX of the byte\n"
  "  --help       this text\n"
  "  --version    the library version\n"
  "\n"
  "exit status: 0 ok, 1 a test failed (lint: warnings), 2 usage, file or case\n"
  "syntax error\n"
  "\n"
  "documentation: the manual pages misdirect(1) and misdirect-vhosts(5), and in\n"
  "the source tree:\n"
  "  docs/case-format.md          case lines; what decide, test and explain print\n"
  "  docs/vhosts-file.md          the vhosts file and its errors\n"
  "  docs/decision-rules.md       the rules behind every decision and reason\n"
  "  docs/lint.md                 every lint id, why it matters, how to fix it\n"
  "  docs/troubleshooting-421.md  from a reason token to its cause and fix\n";

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

static void too_large(const char *path) {
  fprintf(stderr,
          "misdirect: '%s' is too large: a vhosts file may hold at most %zu bytes "
          "(256 MiB, MDR_VHOSTS_FILE_MAX)\n",
          path, MDR_VHOSTS_FILE_MAX);
}

/* Read a whole file; returns a malloc'd buffer or NULL with a message printed.
 * At most MDR_VHOSTS_FILE_MAX bytes (checked up front for a regular file, and
 * while reading for anything else). */
static char *read_file(const char *path, size_t *len_out) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "misdirect: cannot open '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > MDR_VHOSTS_FILE_MAX) {
    too_large(path);
    fclose(f);
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    fprintf(stderr, "misdirect: out of memory\n");
    return NULL;
  }
  for (;;) {
    if (len > MDR_VHOSTS_FILE_MAX) {
      too_large(path);
      free(buf);
      fclose(f);
      return NULL;
    }
    if (len == cap) {
      /* one byte past the limit tells a file of exactly the limit apart */
      size_t nc = cap * 2 > MDR_VHOSTS_FILE_MAX ? MDR_VHOSTS_FILE_MAX + 1 : cap * 2;
      char *nb = realloc(buf, nc);
      if (!nb) {
        fprintf(stderr, "misdirect: out of memory\n");
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
      cap = nc;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  if (ferror(f)) {
    fprintf(stderr, "misdirect: cannot read '%s': %s\n", path, strerror(errno));
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *len_out = len;
  return buf;
}

#ifdef MISDIRECT_TOOL_OPENSSL
/* ca-file= sets are compared by contents when the file is there; a file that
 * does not exist (a configuration checked away from its server) is compared
 * by its path, as without the adapter.  An existing but unusable file is an
 * error. */
static int tool_ca_identity(void *user, const char *path, uint8_t *out, size_t cap,
                            size_t *out_len, char *why, size_t why_cap) {
  FILE *f = fopen(path, "rb");
  if (f) {
    fclose(f);
    return mdr_ossl_ca_identity(user, path, out, cap, out_len, why, why_cap);
  }
  if (errno != ENOENT) return mdr_ossl_ca_identity(user, path, out, cap, out_len, why, why_cap);
  /* 'P' + SHA-256 of the path: never equal to a contents identity (32 bytes). */
  unsigned int dl = 0;
  if (cap < 33 || !EVP_Digest(path, strlen(path), out + 1, &dl, EVP_sha256(), NULL) || dl != 32)
    return MDR_ERR_NOMEM;
  out[0] = 'P';
  *out_len = 33;
  return 0;
}
#endif

static mdr_table *load_table(const char *path, char **text_out, size_t *len_out) {
  size_t len;
  char *text = read_file(path, &len);
  if (!text) return NULL;
  const char *slash = strrchr(path, '/');
  mdr_parse_options opts;
  memset(&opts, 0, sizeof opts);
  if (slash) {
    opts.base_dir.ptr = path;
    opts.base_dir.len = slash == path ? 1 : (size_t)(slash - path);
  } else {
    opts.base_dir.ptr = ".";
    opts.base_dir.len = 1;
  }
#ifdef MISDIRECT_TOOL_OPENSSL
  mdr_ossl_names names;
  memset(&names, 0, sizeof names);
  opts.cert_names = mdr_ossl_cert_names;
  opts.cert_names_user = &names;
  opts.ca_identity = tool_ca_identity;
#endif
  mdr_str source = { path, strlen(path) };
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0, sizeof err);
  int rc = mdr_table_parse(text, len, source, &opts, &t, &err);
#ifdef MISDIRECT_TOOL_OPENSSL
  mdr_ossl_names_free(&names);
#endif
  if (rc != 0) {
    if (err.message[0] && rc == MDR_ERR_CONFIG)
      fprintf(stderr, "%s (see docs/vhosts-file.md, misdirect-vhosts(5))\n", err.message);
    else if (err.message[0])
      fprintf(stderr, "%s\n", err.message);
    else
      fprintf(stderr, "%s: %s\n", path, mdr_strerror(rc));
    free(text);
    return NULL;
  }
  if (text_out) {
    *text_out = text;
    *len_out = len;
  } else {
    free(text);
  }
  return t;
}

/*
 * Line reader over a FILE*: fills buf (cap bytes) with one line without its
 * newline (and without a trailing CR).  Returns 1 for a line, 0 at EOF;
 * *too_long is set when the line did not fit (the rest is skipped).
 */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len, int *too_long) {
  size_t n = 0;
  int ch, any = 0;
  *too_long = 0;
  while ((ch = getc(f)) != EOF) {
    any = 1;
    if (ch == '\n') break;
    if (n < cap)
      buf[n++] = (char)ch;
    else
      *too_long = 1;
  }
  if (!any) return 0;
  if (n > 0 && buf[n - 1] == '\r') n--;
  *len = n;
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Running one case                                                          */
/* ------------------------------------------------------------------------ */

typedef struct outcome {
  int alert;                   /* the handshake refused the connection */
  mdr_handshake_result hs;
  int tls;
  mdr_decision d;
  int rc;                      /* mdr_decide's return */
  char loc[LOC_MAX];
  size_t loc_len;
} outcome;

/* Handshake (TLS listeners) then decision, tracing the decision's rule
 * steps to fn when it is not NULL.  Returns 0, or an MDR_ERR_*. */
static int run_case(const mdr_table *t, mdrc_case *c, outcome *o, mdr_trace_fn fn, void *user) {
  mdr_listener_info li;
  memset(&o->hs, 0, sizeof o->hs);
  memset(&o->d, 0, sizeof o->d);
  o->alert = 0;
  o->loc_len = 0;
  o->rc = 0;
  int rc = mdr_table_listener_info(t, c->conn.listener, &li);
  if (rc) return rc;
  o->tls = li.tls;
  if (li.tls) {
    rc = mdr_handshake(t, c->conn.listener, c->has_sni, c->sni.ptr, c->sni.len, &o->hs);
    if (rc) return rc;
    if (o->hs.outcome == MDR_HS_ALERT) {
      o->alert = 1;
      return 0;
    }
    c->conn.has_hs_vhost = 1;
    c->conn.hs_vhost = o->hs.vhost;
    c->conn.hs_match = o->hs.match;
  }
  if (fn)
    rc = mdr_decide_trace(t, &c->conn, &c->req, &o->d, o->loc, sizeof o->loc, fn, user);
  else
    rc = mdr_decide(t, &c->conn, &c->req, &o->d, o->loc, sizeof o->loc);
  o->rc = rc;
  if (rc) return rc;
  o->loc_len = o->d.kind == MDR_REDIRECT ? o->d.location_len : 0;
  if (o->loc_len > sizeof o->loc) o->loc_len = sizeof o->loc;
  return 0;
}

/* "STATUS VHOST|- LOCATION|- REASON" */
static void print_result(FILE *out, const mdr_table *t, const outcome *o) {
  if (o->alert) {
    fprintf(out, "%s - - %s\n", mdr_alert_name(o->hs.alert), mdr_reason_token(o->hs.reason));
    return;
  }
  fprintf(out, "%u ", o->d.status);
  if (o->d.vhost != MDR_NONE) {
    mdr_str vn = mdr_vhost_name(t, o->d.vhost);
    fprintf(out, "%.*s ", (int)vn.len, vn.ptr);
  } else {
    fputs("- ", out);
  }
  if (o->d.kind == MDR_REDIRECT && o->loc_len > 0)
    fprintf(out, "%.*s ", (int)o->loc_len, o->loc);
  else
    fputs("- ", out);
  fprintf(out, "%s\n", mdr_reason_token(o->d.reason));
}

/* The result in expectation syntax ("serve home", "421", "308 URL", "alert X"). */
static void describe_outcome(char *buf, size_t cap, const mdr_table *t, const outcome *o) {
  if (o->alert) {
    snprintf(buf, cap, "alert %s", mdr_alert_name(o->hs.alert));
  } else if (o->d.kind == MDR_SERVE) {
    mdr_str vn = mdr_vhost_name(t, o->d.vhost);
    snprintf(buf, cap, "serve %.*s", (int)vn.len, vn.ptr);
  } else if (o->d.kind == MDR_REDIRECT) {
    snprintf(buf, cap, "%u %.*s", o->d.status, (int)o->loc_len, o->loc);
  } else {
    snprintf(buf, cap, "%u", o->d.status);
  }
}

static void describe_expect(char *buf, size_t cap, const mdrc_expect *x) {
  int n = 0;
  switch (x->kind) {
  case MDRC_EXPECT_SERVE:
    n = snprintf(buf, cap, "serve %.*s", (int)x->arg.len, x->arg.ptr);
    break;
  case MDRC_EXPECT_ALERT:
    n = snprintf(buf, cap, "alert %.*s", (int)x->arg.len, x->arg.ptr);
    break;
  case MDRC_EXPECT_REDIRECT:
    n = snprintf(buf, cap, "%u %.*s", x->status, (int)x->arg.len, x->arg.ptr);
    break;
  case MDRC_EXPECT_STATUS:
    n = snprintf(buf, cap, "%u", x->status);
    break;
  case MDRC_EXPECT_NONE:
    n = snprintf(buf, cap, "(nothing)");
    break;
  }
  if (x->has_reason && n >= 0 && (size_t)n < cap)
    snprintf(buf + n, cap - (size_t)n, " reason=%.*s", (int)x->reason.len, x->reason.ptr);
}

static int bytes_eq(mdr_str a, const char *p, size_t n) {
  return a.len == n && (n == 0 || memcmp(a.ptr, p, n) == 0);
}

static int matches(const mdr_table *t, const mdrc_expect *x, const outcome *o) {
  const char *rtok = o->alert ? mdr_reason_token(o->hs.reason) : mdr_reason_token(o->d.reason);
  if (x->has_reason && !bytes_eq(x->reason, rtok, strlen(rtok))) return 0;
  switch (x->kind) {
  case MDRC_EXPECT_ALERT: {
    const char *an = o->alert ? mdr_alert_name(o->hs.alert) : NULL;
    return an && bytes_eq(x->arg, an, strlen(an));
  }
  case MDRC_EXPECT_SERVE: {
    if (o->alert || o->d.kind != MDR_SERVE) return 0;
    mdr_str vn = mdr_vhost_name(t, o->d.vhost);
    return bytes_eq(x->arg, vn.ptr, vn.len);
  }
  case MDRC_EXPECT_REDIRECT:
    return !o->alert && o->d.kind == MDR_REDIRECT && o->d.status == x->status &&
           bytes_eq(x->arg, o->loc, o->loc_len);
  case MDRC_EXPECT_STATUS:
    return !o->alert && o->d.kind != MDR_SERVE && o->d.kind != MDR_REDIRECT &&
           o->d.status == x->status;
  case MDRC_EXPECT_NONE:
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct line_buf {
  char text[MDRC_LINE_MAX + 1];
} line_buf;

/*
 * Parse + bind one line, printing "NAME:LINE: problem" on error.
 * Returns 1 for a case, 0 for a skipped line, -1 on error.
 */
static int load_case(const mdr_table *t, const char *name, unsigned lineno, const char *text,
                     size_t len, int too_long, mdrc_case *c) {
  char err[MDRC_ERR_MAX];
  if (too_long) {
    fprintf(stderr, "%s:%u: line too long (more than %d bytes)\n", name, lineno, MDRC_LINE_MAX);
    return -1;
  }
  if (mdrc_is_skippable(text, len)) return 0;
  if (mdrc_parse(text, len, c, err, sizeof err) != 0 || mdrc_bind(t, c, err, sizeof err) != 0) {
    fprintf(stderr, "%s:%u: %s (see docs/case-format.md)\n", name, lineno, err);
    return -1;
  }
  return 1;
}

static int cmd_decide(const mdr_table *t, mdrc_case *c, line_buf *lb) {
  unsigned lineno = 0;
  size_t len;
  int too_long;
  outcome *o = malloc(sizeof *o);
  if (!o) return 2;
  int status = 0;
  while (read_line(stdin, lb->text, MDRC_LINE_MAX, &len, &too_long)) {
    lineno++;
    int r = load_case(t, "<stdin>", lineno, lb->text, len, too_long, c);
    if (r < 0) {
      status = 2;
      break;
    }
    if (r == 0) continue;
    int rc = run_case(t, c, o, NULL, NULL);
    if (rc) {
      fprintf(stderr, "<stdin>:%u: the core failed: %s\n", lineno, mdr_strerror(rc));
      status = 2;
      break;
    }
    print_result(stdout, t, o);
  }
  free(o);
  fflush(stdout);
  return status;
}

static int cmd_test(const mdr_table *t, mdrc_case *c, line_buf *lb, char **files, int nfiles) {
  unsigned long passed = 0, failed = 0;
  outcome *o = malloc(sizeof *o);
  if (!o) return 2;
  int status = 0;
  for (int i = 0; i < nfiles && status != 2; i++) {
    FILE *f = fopen(files[i], "rb");
    if (!f) {
      fprintf(stderr, "misdirect: cannot open '%s': %s\n", files[i], strerror(errno));
      status = 2;
      break;
    }
    unsigned lineno = 0;
    unsigned long cases_in_file = 0;
    size_t len;
    int too_long;
    while (read_line(f, lb->text, MDRC_LINE_MAX, &len, &too_long)) {
      lineno++;
      int r = load_case(t, files[i], lineno, lb->text, len, too_long, c);
      if (r < 0) {
        status = 2;
        break;
      }
      if (r == 0) continue;
      if (c->expect.kind == MDRC_EXPECT_NONE) {
        /* A case that checks nothing would pass silently: refuse the file. */
        fprintf(stderr,
                "%s:%u: a case line needs '=> EXPECT' in 'misdirect test' "
                "(see docs/case-format.md)\n",
                files[i], lineno);
        status = 2;
        break;
      }
      cases_in_file++;
      int rc = run_case(t, c, o, NULL, NULL);
      char want[LOC_MAX + 128], got[LOC_MAX + 128];
      describe_expect(want, sizeof want, &c->expect);
      if (rc) {
        printf("%s:%u: expected %s, got error %s (%s)\n", files[i], lineno, want,
               mdr_errname(rc), mdr_strerror(rc));
        failed++;
        continue;
      }
      if (matches(t, &c->expect, o)) {
        passed++;
      } else {
        describe_outcome(got, sizeof got, t, o);
        printf("%s:%u: expected %s, got %s (%s)\n", files[i], lineno, want, got,
               mdr_reason_token(o->alert ? o->hs.reason : o->d.reason));
        failed++;
      }
    }
    if (ferror(f) && status != 2) {
      fprintf(stderr, "misdirect: cannot read '%s'\n", files[i]);
      status = 2;
    }
    fclose(f);
    if (status != 2 && cases_in_file == 0) {
      /* A file that tests nothing must not count as a pass. */
      printf("%s: no cases (a case file must hold at least one 'case ... => EXPECT' line)\n",
             files[i]);
      failed++;
    }
  }
  free(o);
  if (status == 2) return 2;
  printf("%lu passed, %lu failed\n", passed, failed);
  fflush(stdout);
  return failed ? 1 : 0;
}

static int cmd_explain(const mdr_table *t, mdrc_case *c, line_buf *lb, char **args, int nargs,
                       int json) {
  size_t len = 0;
  unsigned lineno = 0;
  const char *name = "<stdin>";
  int r = 0;
  if (nargs > 0) {
    name = "<arguments>";
    lineno = 1;
    len = 0;
    int need_case = strcmp(args[0], "case") != 0;
    if (need_case) {
      memcpy(lb->text, "case", 4);
      len = 4;
    }
    for (int i = 0; i < nargs; i++) {
      size_t al = strlen(args[i]);
      if (len + 1 + al > MDRC_LINE_MAX) {
        fprintf(stderr, "%s:1: line too long (more than %d bytes)\n", name, MDRC_LINE_MAX);
        return 2;
      }
      if (len) lb->text[len++] = ' ';
      memcpy(lb->text + len, args[i], al);
      len += al;
    }
    r = load_case(t, name, 1, lb->text, len, 0, c);
    if (r == 0) {
      fprintf(stderr, "%s:1: no case given\n", name);
      return 2;
    }
    if (r < 0) return 2;
  } else {
    int too_long;
    while (read_line(stdin, lb->text, MDRC_LINE_MAX, &len, &too_long)) {
      lineno++;
      r = load_case(t, name, lineno, lb->text, len, too_long, c);
      if (r != 0) break;
    }
    if (r < 0) return 2;
    if (r == 0) {
      fprintf(stderr, "%s: no case line\n", name);
      return 2;
    }
  }
  outcome *o = malloc(sizeof *o);
  mdrt_steps *steps = calloc(1, sizeof *steps);
  int status = 2;
  if (!o || !steps) {
    fprintf(stderr, "misdirect: out of memory\n");
    goto done;
  }
  int rc = run_case(t, c, o, mdrt_step_collect, steps);
  if (rc) {
    fprintf(stderr, "%s:%u: the core failed: %s\n", name, lineno, mdr_strerror(rc));
    goto done;
  }
  char want[LOC_MAX + 128];
  mdrt_run run = { c, o->tls, &o->hs, o->alert, &o->d, o->loc, o->loc_len, steps, NULL, 0 };
  if (c->expect.kind != MDRC_EXPECT_NONE) {
    describe_expect(want, sizeof want, &c->expect);
    run.expected = want;
    run.matches = matches(t, &c->expect, o);
  }
  rc = mdrt_explain_print(stdout, t, &run, json);
  if (rc) {
    fprintf(stderr, "%s:%u: the core failed: %s\n", name, lineno, mdr_strerror(rc));
    goto done;
  }
  status = 0;
done:
  free(o);
  free(steps);
  fflush(stdout);
  return status;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static int usage_error(const char *msg) {
  fprintf(stderr, "misdirect: %s\n(see misdirect --help)\n", msg);
  return 2;
}

int main(int argc, char **argv) {
  const char *cmd = NULL, *vhosts = NULL;
  int json = 0;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0;
  if (!rest) return 2;
  int literal = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!literal && strcmp(a, "--help") == 0) {
      fputs(usage_text, stdout);
      free(rest);
      return 0;
    }
    if (!literal && strcmp(a, "--version") == 0) {
      printf("misdirect %s\n", mdr_version());
      free(rest);
      return 0;
    }
    if (!literal && strcmp(a, "--") == 0) {
      literal = 1;
    } else if (!literal && strcmp(a, "--json") == 0) {
      json = 1;
    } else if (!literal && strcmp(a, "-c") == 0) {
      if (i + 1 >= argc) {
        free(rest);
        return usage_error("-c needs a vhosts file");
      }
      if (vhosts) {
        free(rest);
        return usage_error("-c given twice");
      }
      vhosts = argv[++i];
    } else if (!literal && a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "misdirect: unknown option '%s'\n(see misdirect --help)\n", a);
      free(rest);
      return 2;
    } else if (!cmd) {
      cmd = a;
    } else {
      rest[nrest++] = argv[i];
    }
  }
  if (!cmd) {
    free(rest);
    return usage_error("no command (decide, test, explain or lint)");
  }
  int known = strcmp(cmd, "decide") == 0 || strcmp(cmd, "test") == 0 ||
              strcmp(cmd, "explain") == 0 || strcmp(cmd, "lint") == 0;
  if (!known) {
    fprintf(stderr, "misdirect: unknown command '%s'\n(see misdirect --help)\n", cmd);
    free(rest);
    return 2;
  }
  if (!vhosts) {
    free(rest);
    return usage_error("missing -c VHOSTS");
  }
  if (json && strcmp(cmd, "lint") != 0 && strcmp(cmd, "explain") != 0) {
    free(rest);
    return usage_error("--json is only for explain and lint");
  }
  if (strcmp(cmd, "test") == 0 && nrest == 0) {
    free(rest);
    return usage_error("test needs at least one case file");
  }
  if ((strcmp(cmd, "decide") == 0 || strcmp(cmd, "lint") == 0) && nrest > 0) {
    fprintf(stderr, "misdirect: unexpected argument '%s'\n(see misdirect --help)\n", rest[0]);
    free(rest);
    return 2;
  }

  char *text = NULL;
  size_t len = 0;
  mdr_table *t = load_table(vhosts, &text, &len);
  if (!t) {
    free(rest);
    return 2;
  }
  mdrc_case *c = malloc(sizeof *c);
  line_buf *lb = malloc(sizeof *lb);
  int status = 2;
  if (c && lb) {
    if (strcmp(cmd, "decide") == 0)
      status = cmd_decide(t, c, lb);
    else if (strcmp(cmd, "test") == 0)
      status = cmd_test(t, c, lb, rest, nrest);
    else if (strcmp(cmd, "explain") == 0)
      status = cmd_explain(t, c, lb, rest, nrest, json);
    else
      status = tool_lint(t, vhosts, json);
  } else {
    fprintf(stderr, "misdirect: out of memory\n");
  }
  free(c);
  free(lb);
  free(text);
  free(rest);
  mdr_table_unref(t);
  return status;
}
