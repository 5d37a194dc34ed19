/* Atomic table holder: lock-free acquire, serialised swap (hot reload).
 *
 * The problem every holder must solve: a reader loads the current pointer
 * and then takes a reference, and between the two a swap could drop the
 * holder's reference and free the table.  Here a reader announces itself in
 * one of two counters before loading the pointer, and a swap, after
 * installing the new pointer, waits until the counter that the readers of the
 * previous table used has drained.  The counter is chosen by the parity of
 * the generation; a swap flips the generation, so readers arriving during the
 * wait use the other counter and cannot starve the swap.
 *
 * Why it is safe (every operation below is sequentially consistent):
 * a reader R increments active[g & 1], re-reads gen and still sees g, then
 * loads cur.  If R's load returns the table T that swap S replaces, that load
 * precedes S's exchange, so R's increment precedes S's flip of gen from g,
 * and S's wait on active[g & 1] sees it until R has taken its reference and
 * decremented.  If R saw an older generation g' < g, its increment preceded
 * the flip from g' made by an earlier swap, which (swaps being serialised)
 * waited for R to finish before S could start.  A reader whose re-read
 * differs retries.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#endif
#include <stdatomic.h>

#if defined(_WIN32)
#  include <windows.h>
#  define HOLDER_YIELD() SwitchToThread()
#else
#  include <sched.h>
#  define HOLDER_YIELD() sched_yield()
#endif

#include "internal.h"
#include <misdirect/holder.h>

struct mdr_holder {
  _Atomic(mdr_table *) cur;
  atomic_ulong gen;          /* completed swaps; its parity selects the reader counter */
  atomic_ulong active[2];    /* readers between announcing and taking their reference */
  atomic_flag swapping;      /* serialises swaps */
  mdr_mem mem;
};

int mdr_holder_new(mdr_holder **out, mdr_table *initial, const mdr_mem *mem) {
  if (!out) return MDR_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!initial) return MDR_ERR_INVALID_ARGUMENT;
  const mdr_mem *m = mdri_mem_or_default(mem);
  mdr_holder *h = mdri_malloc(m, sizeof *h);
  if (!h) return MDR_ERR_NOMEM;
  h->mem = *m;
  atomic_init(&h->cur, mdr_table_ref(initial));
  atomic_init(&h->gen, 0ul);
  atomic_init(&h->active[0], 0ul);
  atomic_init(&h->active[1], 0ul);
  atomic_flag_clear(&h->swapping);
  *out = h;
  return 0;
}

void mdr_holder_free(mdr_holder *h) {
  if (!h) return;
  mdr_mem m = h->mem;
  mdr_table_unref(atomic_load(&h->cur));
  mdri_free(&m, h);
}

mdr_table *mdr_holder_acquire(mdr_holder *h) {
  if (!h) return NULL;
  for (;;) {
    unsigned long g = atomic_load(&h->gen);
    atomic_ulong *slot = &h->active[g & 1u];
    atomic_fetch_add(slot, 1ul);
    if (atomic_load(&h->gen) == g) {
      mdr_table *t = mdr_table_ref(atomic_load(&h->cur));
      atomic_fetch_sub(slot, 1ul);
      return t;
    }
    /* A swap flipped the generation in between: announce again. */
    atomic_fetch_sub(slot, 1ul);
  }
}

int mdr_holder_swap(mdr_holder *h, mdr_table *t) {
  if (!h || !t) return MDR_ERR_INVALID_ARGUMENT;
  mdr_table_ref(t);
  while (atomic_flag_test_and_set(&h->swapping)) HOLDER_YIELD();
  mdr_table *old = atomic_exchange(&h->cur, t);
  unsigned long g = atomic_fetch_add(&h->gen, 1ul);
  /* Wait for the readers that may have loaded `old` to take their reference. */
  while (atomic_load(&h->active[g & 1u]) != 0) HOLDER_YIELD();
  atomic_flag_clear(&h->swapping);
  mdr_table_unref(old);
  return 0;
}

unsigned long mdr_holder_generation(const mdr_holder *h) {
  if (!h) return 0;
  return atomic_load(&((mdr_holder *)h)->gen);
}
