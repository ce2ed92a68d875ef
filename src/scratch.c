/* scratch.c -- the one allocator of per-thread scratch (cnet_internal.h), and its testing hook.
 *
 * Every kernel that allocates goes through cnet_scratch_alloc, so that an allocation failure can be
 * provoked on demand (cnet_debug_fail_alloc_after) and every error path tested. The counters are C11
 * atomics: scratch is allocated from inside parallel regions. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "cnet_internal.h"

static atomic_int fail_armed;          /* the hook is on */
static atomic_llong fail_budget;       /* successful allocations left before they fail */
static atomic_size_t last_failed_bytes;

static void *fail(size_t bytes) {
    atomic_store_explicit(&last_failed_bytes, bytes, memory_order_relaxed);
    return NULL;
}

void *cnet_scratch_alloc(size_t bytes) {
    if (atomic_load_explicit(&fail_armed, memory_order_acquire) &&
        atomic_fetch_sub_explicit(&fail_budget, 1, memory_order_relaxed) <= 0)
        return fail(bytes);
    if (bytes > SIZE_MAX - 63) return fail(bytes);
    const size_t rounded = (bytes + 63) & ~(size_t)63; /* aligned_alloc wants a multiple of 64 */
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    return p ? p : fail(bytes);
}

void cnet_scratch_free(void *p) { free(p); }

size_t cnet_scratch_failed_bytes(void) {
    return atomic_load_explicit(&last_failed_bytes, memory_order_relaxed);
}

void cnet_debug_fail_alloc_after(int n) {
    if (n < 0) {
        atomic_store_explicit(&fail_armed, 0, memory_order_release);
        return;
    }
    atomic_store_explicit(&fail_budget, n, memory_order_relaxed);
    atomic_store_explicit(&fail_armed, 1, memory_order_release);
}
