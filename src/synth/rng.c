/*
 * rng.c — xoshiro256** (Blackman and Vigna, 2018) seeded by splitmix64,
 * with the few distributions the generator draws from.
 */
#include "synth/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void synth_rng_seed(synth_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull + 0x2545f4914f6cdd1dull);
    for(int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

uint64_t synth_rng_next(synth_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double synth_rng_uniform(synth_rng *r) {
    return (double)(synth_rng_next(r) >> 11) * 0x1.0p-53;
}

uint32_t synth_rng_below(synth_rng *r, uint32_t n) {
    return (uint32_t)(((synth_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

int synth_rng_chance(synth_rng *r, double p) {
    return synth_rng_uniform(r) < p;
}

double synth_rng_normal(synth_rng *r) {
    double u1 = synth_rng_uniform(r), u2 = synth_rng_uniform(r);
    if(u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double synth_rng_exponential(synth_rng *r, double rate) {
    return -log(1.0 - synth_rng_uniform(r)) / rate;
}

unsigned synth_rng_poisson(synth_rng *r, double mean) {
    if(mean <= 0) return 0;
    if(mean > 30) { /* normal approximation; counts this large are rare here */
        double x = mean + sqrt(mean) * synth_rng_normal(r) + 0.5;
        return x < 0 ? 0 : (unsigned)x;
    }
    double l = exp(-mean), p = 1.0;
    unsigned k = 0;
    do {
        k++;
        p *= synth_rng_uniform(r);
    } while(p > l);
    return k - 1;
}

size_t synth_rng_weighted(synth_rng *r, const double *w, size_t n) {
    double total = 0;
    for(size_t i = 0; i < n; i++) total += w[i];
    double x = synth_rng_uniform(r) * total;
    for(size_t i = 0; i < n; i++) {
        if(x < w[i]) return i;
        x -= w[i];
    }
    return n - 1;
}
