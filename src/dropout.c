/* dropout.c -- inverted dropout with a counter-based generator (the reference's cnet/reference/rng.py):
 * element i's random number depends only on (seed, i), so every thread count draws the same mask.
 * The bodies are written once in dropout_tmpl.h and instantiated for float and double. */
#include <math.h>

#include "cnet_internal.h"

/* splitmix64's finaliser applied to seed + (i + 1) * golden (uint64 wrap-around); true when the 24-bit
 * uniform u = (z >> 40) * 2^-24 is >= rate, i.e. the element is kept. The reference compares u >= rate
 * in double; since z >> 40 is an integer and rate * 2^24 is exact, that is z >> 40 >= ceil(rate * 2^24),
 * an integer comparison (threshold from dropout_threshold). */
static inline int dropout_keep(uint64_t seed, int64_t i, uint64_t threshold) {
    uint64_t z = seed + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (z >> 40) >= threshold;
}

static uint64_t dropout_threshold(double rate) {
    return (uint64_t)ceil(rate * 16777216.0); /* 0 <= rate < 1: in [0, 2^24] */
}

#define REAL float
#define SFX(name) name##_f32
#include "dropout_tmpl.h"
#undef REAL
#undef SFX

#define REAL double
#define SFX(name) name##_f64
#include "dropout_tmpl.h"
#undef REAL
#undef SFX
