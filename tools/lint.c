/* `misdirect lint -c VHOSTS [--json]`: the findings of mdr_table_lint.
 *
 * Text: one "FILE:LINE: warning: MESSAGE [ID]" line per finding followed by
 * "  why: ..." and "  fix: ...", then "N warnings".  JSON: one object per
 * finding per line, then {"warnings":N}; strings are escaped as explain's
 * (ASCII only, other bytes as \u00XX of the byte). */
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "lint.h"

typedef struct lint_out {
  const mdr_table *t;
  const char *path;
  int json;
} lint_out;

static void json_str(const char *p, size_t n) { mdrt_json_str(stdout, p, n); }

static void json_field(const char *key, const char *p, size_t n, int comma) {
  printf("%s\"%s\":", comma ? "," : "", key);
  json_str(p, n);
}

static void json_vhost(const mdr_table *t, const char *key, mdr_index v) {
  if (v == MDR_NONE) {
    printf(",\"%s\":null", key);
    return;
  }
  mdr_str n = mdr_vhost_name(t, v);
  json_field(key, n.ptr, n.len, 1);
}

static int print_finding(void *user, const mdr_lint_finding *f) {
  const lint_out *lo = user;
  const char *id = mdr_lint_token(f->id);
  if (!lo->json) {
    if (f->line)
      printf("%s:%u: warning: %s [%s]\n", lo->path, f->line, f->message, id);
    else
      printf("%s: warning: %s [%s]\n", lo->path, f->message, id);
    printf("  why: %s\n  fix: %s\n", mdr_lint_why(f->id), mdr_lint_fix(f->id));
    return 0;
  }
  printf("{");
  json_field("file", lo->path, strlen(lo->path), 0);
  printf(",\"line\":%u", f->line);
  json_field("id", id, strlen(id), 1);
  json_field("message", f->message, strlen(f->message), 1);
  if (f->listener != MDR_NONE) {
    mdr_listener_info li;
    if (mdr_table_listener_info(lo->t, f->listener, &li) == 0) json_field("listener", li.name.ptr, li.name.len, 1);
  } else {
    printf(",\"listener\":null");
  }
  json_vhost(lo->t, "vhost", f->vhost);
  json_vhost(lo->t, "other_vhost", f->other_vhost);
  json_field("name", f->name.ptr, f->name.len, 1);
  json_field("why", mdr_lint_why(f->id), strlen(mdr_lint_why(f->id)), 1);
  json_field("fix", mdr_lint_fix(f->id), strlen(mdr_lint_fix(f->id)), 1);
  printf("}\n");
  return 0;
}

int tool_lint(const mdr_table *t, const char *path, int json) {
  lint_out lo = { t, path, json };
  /* ca-file= paths are relative to the vhosts file's folder, as the
   * server resolves them */
  mdr_lint_options o;
  memset(&o, 0, sizeof o);
  o.check_files = 1;
  const char *slash = strrchr(path, '/');
  if (slash) {
    o.base_dir.ptr = path;
    o.base_dir.len = slash == path ? 1 : (size_t)(slash - path);
  }
  int n = mdr_table_lint2(t, &o, print_finding, &lo);
  if (n < 0) {
    fprintf(stderr, "misdirect: lint: %s\n", mdr_strerror(n));
    return 2;
  }
  if (json)
    printf("{\"warnings\":%d}\n", n);
  else
    printf("%d warning%s\n", n, n == 1 ? "" : "s");
  return n ? 1 : 0;
}
