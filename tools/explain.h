/*
 * `misdirect explain`: the report for one case, as text for a person or as
 * one JSON object for tools.  tools/misdirect.c reads the case and runs it
 * (handshake, then mdr_decide_trace with mdrt_step_collect); this module
 * only renders what happened, from the library's structured explanation
 * (mdr_explain_decision / mdr_explain_handshake) and the collected steps.
 */
#ifndef MISDIRECT_TOOLS_EXPLAIN_H
#define MISDIRECT_TOOLS_EXPLAIN_H

#include <stddef.h>
#include <stdio.h>

#include <misdirect/misdirect.h>

#include "cases.h"

/** Most rule steps kept (a decision makes about a dozen). */
#define MDRT_STEP_MAX 64
/** Longest step text kept (the core's trace lines are shorter). */
#define MDRT_STEP_TEXT 512

typedef struct mdrt_step {
  unsigned rule;
  size_t len;
  char text[MDRT_STEP_TEXT];
} mdrt_step;

/** Collected trace: pass as `user` with mdrt_step_collect.  Zero it first. */
typedef struct mdrt_steps {
  size_t n;
  int truncated;               /* more than MDRT_STEP_MAX steps */
  mdrt_step step[MDRT_STEP_MAX];
} mdrt_steps;

/** An mdr_trace_fn that appends each step to the mdrt_steps at `user`. */
void mdrt_step_collect(void *user, unsigned rule, const char *what, size_t what_len);

/** What happened to one case. */
typedef struct mdrt_run {
  const mdrc_case *c;          /* bound; c->conn.hs_vhost = H when accepted */
  int tls;                     /* TLS listener: hs is valid */
  const mdr_handshake_result *hs;
  int alert;                   /* the handshake refused the connection (d unused) */
  const mdr_decision *d;
  const char *loc;             /* Location of a redirect */
  size_t loc_len;
  const mdrt_steps *steps;     /* the decision's trace (not the handshake) */
  const char *expected;        /* "421 reason=x" when the case has "=> EXPECT", else NULL */
  int matches;                 /* the outcome meets `expected` */
} mdrt_run;

/* Write raw bytes as a JSON string (with the quotes): '"' and '\' escaped,
 * every other byte outside 0x20-0x7e as \u00XX of the byte, so the output
 * is ASCII.  Used by explain and lint. */
void mdrt_json_str(FILE *f, const char *p, size_t n);

/**
 * Print the explanation of one run to `out`: the human report, or with
 * `json` one JSON object.  Returns 0, or an MDR_ERR_* from the library.
 */
int mdrt_explain_print(FILE *out, const mdr_table *t, const mdrt_run *run, int json);

#endif
