/*
 * Parser for one line of the decision-case format (docs/case-format.md):
 *
 *   case listener=L [sni=NAME] [alpn=...] ... [host=H]... [=> EXPECT]
 *
 * Two steps, both pure functions of their inputs (no global state, no heap):
 *
 *   mdrc_parse()  syntax only: keys, escapes, value grammars, the errors that
 *                 need nothing but the line (unknown key, repeated key,
 *                 version=4, scheme= in HTTP/1.x, non-canonical origin-set
 *                 entries, ...), and the expectation after "=>".
 *   mdrc_bind()   against a frozen table: resolves the listener and the
 *                 resumed vhost, rejects TLS-only keys on a cleartext
 *                 listener, and fills the mdr_conn / mdr_request defaults
 *                 that depend on the listener (the :scheme).
 *
 * Every decoded value lives in the case's own fixed arena; a line longer than
 * MDRC_LINE_MAX is an error.  An mdrc_case points into itself (req.host ->
 * c->hosts, ...): do not copy it with memcpy / assignment; parse again.
 */
#ifndef MISDIRECT_TOOLS_CASES_H
#define MISDIRECT_TOOLS_CASES_H

#include <stddef.h>

#include <misdirect/misdirect.h>

/** Longest accepted case line (bytes, without the newline). */
#define MDRC_LINE_MAX 16384
/** Most host= / authority= values and origin-set= entries in one case. */
#define MDRC_MAX_HOSTS 16
#define MDRC_MAX_AUTHORITIES 16
#define MDRC_MAX_ORIGINS 64

typedef enum mdrc_expect_kind {
  MDRC_EXPECT_NONE = 0,   /* no "=> EXPECT" on the line */
  MDRC_EXPECT_SERVE,      /* serve VHOST */
  MDRC_EXPECT_STATUS,     /* 400, 421, 425, 501 */
  MDRC_EXPECT_REDIRECT,   /* 3xx LOCATION */
  MDRC_EXPECT_ALERT       /* alert NAME */
} mdrc_expect_kind;

typedef struct mdrc_expect {
  mdrc_expect_kind kind;
  unsigned status;        /* STATUS / REDIRECT; 200 for SERVE */
  mdr_str arg;            /* vhost name, Location or alert name */
  int has_reason;
  mdr_str reason;         /* reason token as written */
} mdrc_expect;

/* Bits of mdrc_case.seen: which keys the line gave explicitly. */
#define MDRC_K_LISTENER   0x0001u
#define MDRC_K_SNI        0x0002u
#define MDRC_K_ALPN       0x0004u
#define MDRC_K_RESUMED    0x0008u
#define MDRC_K_EARLY_DATA 0x0010u
#define MDRC_K_ECH        0x0020u
#define MDRC_K_ORIGIN_SET 0x0040u
#define MDRC_K_VERSION    0x0080u
#define MDRC_K_METHOD     0x0100u
#define MDRC_K_TARGET     0x0200u
#define MDRC_K_SCHEME     0x0400u
#define MDRC_K_AUTHORITY  0x0800u
#define MDRC_K_HOST       0x1000u
/** Keys that only make sense on a TLS listener. */
#define MDRC_K_TLS_ONLY (MDRC_K_SNI | MDRC_K_ALPN | MDRC_K_RESUMED | MDRC_K_EARLY_DATA | \
                         MDRC_K_ECH | MDRC_K_ORIGIN_SET)

typedef struct mdrc_case {
  unsigned seen;              /* MDRC_K_* */
  mdr_str listener;           /* listener statement name */
  int has_sni;
  mdr_str sni;                /* decoded SNI bytes (may be empty) */
  mdr_str resumed;            /* resumed=VHOST name (when MDRC_K_RESUMED) */
  int scheme_absent;          /* scheme=- */
  mdr_conn conn;              /* complete after mdrc_bind */
  mdr_request req;            /* complete after mdrc_bind */
  mdrc_expect expect;
  mdr_str hosts[MDRC_MAX_HOSTS];
  mdr_str authorities[MDRC_MAX_AUTHORITIES];
  mdr_str origins[MDRC_MAX_ORIGINS];
  size_t arena_len;
  char arena[MDRC_LINE_MAX];  /* decoded values; never longer than the line */
} mdrc_case;

/** Size of the message buffer callers pass for errors. */
#define MDRC_ERR_MAX 256

/**
 * Parse one case line (`p`, `len`; no newline; need not be NUL-terminated).
 * The line must start with the word "case" (leading blanks allowed).
 * @return 0 and *c filled (listener index, handshake vhost and the :scheme
 *         default are set by mdrc_bind); -1 and a one-line problem
 *         description (NUL-terminated, no file:line prefix) in err.
 */
int mdrc_parse(const char *p, size_t len, mdrc_case *c, char *err, size_t err_cap);

/**
 * Bind a parsed case to a table: listener, resumed vhost, cleartext checks,
 * :scheme default; also checks that an expected reason token exists.
 * c->conn.has_hs_vhost is left 0 (the caller runs the handshake).
 * @return 0, or -1 with a message in err.
 */
int mdrc_bind(const mdr_table *t, mdrc_case *c, char *err, size_t err_cap);

/** 1 if the line is blank or a comment (first non-blank byte is '#'). */
int mdrc_is_skippable(const char *p, size_t len);

/**
 * 1 if `s` is a canonical https origin: "https://" + lower-case host (name,
 * IPv4 dotted quad, or bracketed RFC 5952 IPv6, mixed notation for
 * IPv4-mapped, IPv4-translated and 64:ff9b::/96 addresses) + optional ":port" (no leading zero, 1-65535, never
 * 443), nothing else.
 */
int mdrc_origin_is_canonical(const char *s, size_t len);

#endif
