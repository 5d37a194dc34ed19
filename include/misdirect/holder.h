/**
 * @file holder.h
 * @brief misdirect — atomic table holder for hot reload.
 *
 * A holder keeps "the current table" of a running server.  Request or
 * connection handlers take the current table with mdr_holder_acquire(),
 * decide on it for as long as they like, and let go with mdr_table_unref().
 * A reload builds a new table and installs it with mdr_holder_swap(); the
 * holder drops its reference to the previous table, which is freed when the
 * last handler that acquired it lets go.  A handler never sees a table change
 * under it: every decision is taken against the one table it acquired.
 *
 * @code
 *   mdr_holder *h;
 *   mdr_holder_new(&h, table, NULL);      // holder takes its own reference
 *   mdr_table_unref(table);               // ... so the loader may drop its own
 *
 *   // per connection (or per request), any thread:
 *   mdr_table *t = mdr_holder_acquire(h);
 *   mdr_decide(t, &conn, &req, &d, loc, sizeof loc);
 *   mdr_table_unref(t);
 *
 *   // reload, any thread:
 *   mdr_holder_swap(h, new_table);        // holder takes its own reference
 *   mdr_table_unref(new_table);
 * @endcode
 *
 * Thread safety and cost
 * ----------------------
 * - mdr_holder_acquire() is lock-free and never allocates: it is two atomic
 *   increments and two atomic decrements on the holder plus one on the
 *   table's reference count (a few tens of nanoseconds uncontended; the
 *   cache lines are shared by every acquiring thread, so acquire once per
 *   connection or per request, not per lookup).  It only retries when a swap
 *   happens at the same instant.  It is safe inside TLS callbacks.
 * - mdr_holder_swap() may be called from any thread, also concurrently with
 *   itself (swaps are serialised internally) and with any number of
 *   acquires.  It waits (spinning, yielding the CPU) until every acquire that
 *   may have read the previous table has taken its reference - a bounded
 *   wait of a few instructions per such acquire - and never waits for
 *   handlers that hold the previous table: those keep it alive by their
 *   reference.  It does not allocate.
 * - The decision path itself (mdr_handshake, mdr_decide) does not touch the
 *   holder: it runs on the acquired table, lock-free as always.
 * - mdr_holder_free() must not race with any other call on the same holder.
 *
 * Since 0.1.0.
 */
#ifndef MISDIRECT_HOLDER_H
#define MISDIRECT_HOLDER_H

#include <misdirect/misdirect.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Holds "the current table" of a running server (opaque).  See the file
 * description for the thread rules.
 * @since 0.1.0
 */
typedef struct mdr_holder mdr_holder;

/**
 * Create a holder whose current table is `initial` (non-NULL).  The holder
 * takes its own reference on `initial`; the caller keeps its reference.
 * `mem` (NULL = libc) allocates the holder itself and must outlive it.
 * @param out     receives the holder
 * @param initial the first current table
 * @param mem     allocator for the holder, or NULL for libc (so is an
 *                mdr_mem with a NULL function: see mdr_mem)
 * @return 0; MDR_ERR_INVALID_ARGUMENT (out or initial NULL); MDR_ERR_NOMEM.
 * @ownership The caller owns the holder (free with mdr_holder_free).  The
 *            holder takes its own reference on `initial`; `mem` is borrowed.
 * @threadsafety Any thread; the new holder may then be shared by all threads.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_holder_new(mdr_holder **out, mdr_table *initial, const mdr_mem *mem);

/**
 * Free a holder (NULL is fine) and drop its reference to the current table.
 * Tables acquired from it stay valid until their users unref them.
 * @param h the holder, or NULL
 * @errors None.
 * @ownership Frees h and drops the holder's table reference (which frees
 *            the table when no one else holds it).
 * @threadsafety Must not race with any other call on the same holder.
 * @since 0.1.0
 */
MDR_EXTERN void mdr_holder_free(mdr_holder *h);

/**
 * The current table with a new reference taken for the caller, who must
 * release it with mdr_table_unref().  Lock-free; never NULL for a valid
 * holder (NULL only when h is NULL).
 * @param h the holder
 * @return the current table (referenced for the caller); NULL only when h
 *         is NULL: it cannot fail otherwise.
 * @ownership The caller owns one reference of the returned table and
 *            releases it with mdr_table_unref; the table stays valid (and
 *            unchanged) until then, whatever swaps happen.
 * @threadsafety Any thread, concurrently with swaps and other acquires;
 *               lock-free, no allocation: safe inside TLS callbacks.
 * @since 0.1.0
 */
MDR_EXTERN mdr_table *mdr_holder_acquire(mdr_holder *h);

/**
 * Install `t` (non-NULL) as the current table.  The holder takes its own
 * reference on `t` (the caller keeps its reference) and drops its reference
 * to the previous table.  Swapping in the table already current is allowed.
 * @param h the holder
 * @param t the new current table
 * @return 0 or MDR_ERR_INVALID_ARGUMENT (h or t NULL).
 * @ownership The holder takes its own reference on `t`; the previous table
 *            is released by the holder and freed when its last user unrefs it.
 * @threadsafety Any thread, concurrently with acquires and other swaps
 *               (swaps are serialised); waits only for acquires in flight,
 *               never for handlers; no allocation.
 * @since 0.1.0
 */
MDR_EXTERN int mdr_holder_swap(mdr_holder *h, mdr_table *t);

/**
 * Number of completed swaps since creation (monotonic; for monitoring).
 * @param h the holder
 * @return the count; 0 when h is NULL (it cannot fail).
 * @ownership h is borrowed for the call.
 * @threadsafety Any thread (an atomic load).
 * @since 0.1.0
 */
MDR_EXTERN unsigned long mdr_holder_generation(const mdr_holder *h);

#ifdef __cplusplus
}
#endif

#endif /* MISDIRECT_HOLDER_H */
