/* scratch.c -- the one allocator of per-thread scratch (cnet_internal.h), and its testing hook.
 *
 * Every kernel that allocates goes through cnet_scratch_alloc, so that an allocation failure can be
 * provoked on demand (cnet_debug_fail_alloc_after) and every error path tested. The counters are C11
 * atomics: scratch is allocated from inside parallel regions.
 *
 * Each thread keeps the last few blocks it freed (at most CACHE_SLOTS, together at most CACHE_BYTES)
 * for its next requests, and gives them back to malloc when it exits. A training step asks for the same
 * scratch every step (a GEMM's packing buffers, a convolution's partial sums), from every OpenMP
 * thread. Returned to malloc, each block goes back to the calling thread's glibc arena, which keeps free
 * memory up to its trim threshold -- a threshold that glibc raises to twice the largest block numpy
 * has freed (up to 64 MiB) -- so that the steps' differently sized requests fragment and grow every
 * thread's arena: 6 to 7 MiB a thread training the Keras convnet (issue 13). The cache holds the
 * blocks themselves instead, and a request takes the smallest cached block that fits. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "cnet_internal.h"

static atomic_int fail_armed;          /* the hook is on */
static atomic_llong fail_budget;       /* successful allocations left before they fail */
static atomic_size_t last_failed_bytes;

#define HEADER 64                      /* before each block: its size (keeps the block 64-byte aligned) */
#define CACHE_SLOTS 4
#define CACHE_BYTES ((size_t)16 << 20)

typedef struct {
    char *block[CACHE_SLOTS];          /* the start of each cached allocation (its header), or NULL */
    size_t bytes;                      /* their sizes, summed */
} scratch_cache;

static _Thread_local scratch_cache cache;
static atomic_size_t cached_total;     /* over all threads, for tests (cnet_scratch_cached_bytes) */
static pthread_key_t exit_key;         /* its destructor empties an exiting thread's cache */
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static int exit_key_made;              /* the key exists (written once, under exit_key_once) */
static _Thread_local int exit_key_set; /* this thread's cache is registered with it */

static size_t block_size(const char *block) { return *(const size_t *)block; }

static void empty_cache(void *arg) {
    scratch_cache *c = arg;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (c->block[i]) {
            atomic_fetch_sub_explicit(&cached_total, block_size(c->block[i]), memory_order_relaxed);
            free(c->block[i]);
            c->block[i] = NULL;
        }
    c->bytes = 0;
}

static void make_exit_key(void) { exit_key_made = pthread_key_create(&exit_key, empty_cache) == 0; }

static void *fail(size_t bytes) {
    atomic_store_explicit(&last_failed_bytes, bytes, memory_order_relaxed);
    return NULL;
}

void *cnet_scratch_alloc(size_t bytes) {
    if (atomic_load_explicit(&fail_armed, memory_order_acquire) &&
        atomic_fetch_sub_explicit(&fail_budget, 1, memory_order_relaxed) <= 0)
        return fail(bytes);
    if (bytes > SIZE_MAX - 63 - HEADER) return fail(bytes);
    const size_t rounded = (bytes + 63) & ~(size_t)63; /* aligned_alloc wants a multiple of 64 */
    int best = -1;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache.block[i] && block_size(cache.block[i]) >= rounded &&
            (best < 0 || block_size(cache.block[i]) < block_size(cache.block[best])))
            best = i;
    char *block;
    if (best >= 0) {
        block = cache.block[best];
        cache.block[best] = NULL;
        cache.bytes -= block_size(block);
        atomic_fetch_sub_explicit(&cached_total, block_size(block), memory_order_relaxed);
    } else {
        block = aligned_alloc(64, HEADER + rounded);
        if (!block) return fail(bytes);
        *(size_t *)block = rounded;
    }
    return block + HEADER;
}

void cnet_scratch_free(void *p) {
    if (!p) return;
    char *block = (char *)p - HEADER;
    const size_t size = block_size(block);
    int slot = -1;
    for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
        if (!cache.block[i]) slot = i;
    if (slot < 0 || cache.bytes + size > CACHE_BYTES) {
        free(block);
        return;
    }
    if (!exit_key_set) {               /* this thread's first cached block: empty the cache at its exit */
        pthread_once(&exit_key_once, make_exit_key);
        if (!exit_key_made || pthread_setspecific(exit_key, &cache) != 0) {
            free(block);
            return;
        }
        exit_key_set = 1;
    }
    cache.block[slot] = block;
    cache.bytes += size;
    atomic_fetch_add_explicit(&cached_total, size, memory_order_relaxed);
}

size_t cnet_scratch_cached_bytes(void) { return atomic_load_explicit(&cached_total, memory_order_relaxed); }

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
