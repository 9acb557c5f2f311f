/* meg-cpu-peak: the host CPU's fp32 FMA throughput (GFLOP/s) with one
 * thread per core, so benchmarks on lavapipe can be read as a share of the
 * CPU's peak. x86-64 with AVX2+FMA only. usage: meg-cpu-peak [threads] */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define ITERS 200000000L

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void *work(void *arg)
{
    /* 12 independent FMA chains hide the 4-5 cycle latency on 2 ports. */
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m256 a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c); a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c); a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c); a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c); a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    *(float *)arg = out[0]; /* keep the work alive */
    return NULL;
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1 || nt > 256) { fprintf(stderr, "usage: meg-cpu-peak [threads]\n"); return 2; }
    long n = ITERS / 12;
    pthread_t th[256];
    long args[256];
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (int i = 0; i < nt; i++) { args[i] = n; pthread_create(&th[i], NULL, work, &args[i]); }
        for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
        double dt = now() - t0;
        double gf = (double)nt * n * 12 * 8 * 2 / dt / 1e9;
        if (gf > best) best = gf;
    }
    printf("{\"threads\": %d, \"fp32_fma_gflops\": %.1f}\n", nt, best);
    return 0;
}
