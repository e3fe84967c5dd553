/*
 * rng.h — the synthetic place's random numbers: xoshiro256** seeded through
 * splitmix64. Each person draws from a stream of their own (seed, person),
 * so a person's life does not depend on how many numbers anyone else drew:
 * output is the same for a given seed whatever the order of generation.
 * A synth_rng is plain data; one per thread.
 */
#ifndef KITH_SYNTH_RNG_H
#define KITH_SYNTH_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct synth_rng {
    uint64_t s[4];
} synth_rng;

/* A stream for (seed, stream): distinct streams are independent in practice. */
void synth_rng_seed(synth_rng *r, uint64_t seed, uint64_t stream);
uint64_t synth_rng_next(synth_rng *r);
double synth_rng_uniform(synth_rng *r);                 /* [0, 1) */
uint32_t synth_rng_below(synth_rng *r, uint32_t n);     /* [0, n), n > 0 */
int synth_rng_chance(synth_rng *r, double p);           /* 1 with probability p */
double synth_rng_normal(synth_rng *r);                  /* standard normal */
double synth_rng_exponential(synth_rng *r, double rate); /* mean 1/rate */
unsigned synth_rng_poisson(synth_rng *r, double mean);
/* Index i with probability w[i] / sum(w). */
size_t synth_rng_weighted(synth_rng *r, const double *w, size_t n);

#endif
