/* Strict JSON (RFC 8259) validator for the explain --json goldens, so the
 * check does not depend on python3 (CMake's own parser accepts trailing
 * commas).  Also requires what `misdirect explain --json` promises: one
 * object, ASCII only.  Usage: json_check FILE; exit 0 valid, 1 invalid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct js {
  const unsigned char *p, *end;
  int depth;
} js;

static int value(js *s);

static void ws(js *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int lit(js *s, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0) return 0;
  s->p += n;
  return 1;
}

static int hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int string(js *s) {
  if (s->p >= s->end || *s->p != '"') return 0;
  s->p++;
  while (s->p < s->end) {
    unsigned char c = *s->p++;
    if (c == '"') return 1;
    if (c < 0x20) return 0;
    if (c == '\\') {
      if (s->p >= s->end) return 0;
      c = *s->p++;
      if (c == 'u') {
        for (int i = 0; i < 4; i++)
          if (s->p >= s->end || !hex(*s->p++)) return 0;
      } else if (!strchr("\"\\/bfnrt", c)) {
        return 0;
      }
    }
  }
  return 0;
}

static int digits(js *s) {
  const unsigned char *st = s->p;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
  return s->p > st;
}

static int number(js *s) {
  if (s->p < s->end && *s->p == '-') s->p++;
  if (s->p < s->end && *s->p == '0')
    s->p++;
  else if (!digits(s))
    return 0;
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (!digits(s)) return 0;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
    if (!digits(s)) return 0;
  }
  return 1;
}

static int container(js *s, char close) {
  if (++s->depth > 64) return 0;
  s->p++;
  ws(s);
  if (s->p < s->end && *s->p == close) {
    s->p++;
    s->depth--;
    return 1;
  }
  for (;;) {
    ws(s);
    if (close == '}') {
      if (!string(s)) return 0;
      ws(s);
      if (s->p >= s->end || *s->p != ':') return 0;
      s->p++;
    }
    if (!value(s)) return 0;
    ws(s);
    if (s->p >= s->end) return 0;
    if (*s->p == close) {
      s->p++;
      s->depth--;
      return 1;
    }
    if (*s->p != ',') return 0;
    s->p++;
  }
}

static int value(js *s) {
  ws(s);
  if (s->p >= s->end) return 0;
  switch (*s->p) {
  case '{': return container(s, '}');
  case '[': return container(s, ']');
  case '"': return string(s);
  case 't': return lit(s, "true");
  case 'f': return lit(s, "false");
  case 'n': return lit(s, "null");
  default: return number(s);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: json_check FILE\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  static unsigned char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (n == sizeof buf) {
    fprintf(stderr, "%s: too large\n", argv[1]);
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    if (buf[i] >= 0x80) {
      fprintf(stderr, "%s: byte %zu is not ASCII\n", argv[1], i);
      return 1;
    }
  js s = { buf, buf + n, 0 };
  ws(&s);
  if (s.p >= s.end || *s.p != '{' || !value(&s)) {
    fprintf(stderr, "%s: invalid JSON at byte %ld\n", argv[1], (long)(s.p - buf));
    return 1;
  }
  ws(&s);
  if (s.p != s.end) {
    fprintf(stderr, "%s: trailing bytes at %ld\n", argv[1], (long)(s.p - buf));
    return 1;
  }
  return 0;
}
