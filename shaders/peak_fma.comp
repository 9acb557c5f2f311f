#version 450
// peak_fma: fp32 FMA throughput. Each invocation runs ITERS rounds of UNROLL
// independent fma chains (scalar, or vec4 when VEC4 = 1), so the chains hide
// the FMA latency, then writes their sum so the work cannot be dropped.
// FMAs per invocation: ITERS * UNROLL * (VEC4 ? 4 : 1).
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint ITERS = 1024;
layout(constant_id = 1) const uint UNROLL = 8;   // independent chains, 1..16
layout(constant_id = 2) const uint VEC4 = 0;
layout(binding = 0) writeonly buffer Out { float o[]; };
// m and c come from the host so the compiler cannot fold the chains.
layout(push_constant) uniform P { float m; float c; } p;

float hsum(float x) { return x; }
float hsum(vec4 x) { return (x.x + x.y) + (x.z + x.w); }

// The `if (UNROLL > k)` tests are on a specialization constant: the driver
// removes them (and the unused chains) when it specializes the pipeline.
#define CHAINS(T, NAME)                                                        \
float NAME(T init, T m, T c)                                                   \
{                                                                              \
    T a0 = init, a1 = init + T(1.0), a2 = init + T(2.0), a3 = init + T(3.0);   \
    T a4 = init + T(4.0), a5 = init + T(5.0), a6 = init + T(6.0);              \
    T a7 = init + T(7.0), a8 = init + T(8.0), a9 = init + T(9.0);              \
    T a10 = init + T(10.0), a11 = init + T(11.0), a12 = init + T(12.0);        \
    T a13 = init + T(13.0), a14 = init + T(14.0), a15 = init + T(15.0);        \
    for (uint i = 0u; i < ITERS; i++) {                                        \
        a0 = fma(a0, m, c);                                                    \
        if (UNROLL > 1u) a1 = fma(a1, m, c);                                   \
        if (UNROLL > 2u) a2 = fma(a2, m, c);                                   \
        if (UNROLL > 3u) a3 = fma(a3, m, c);                                   \
        if (UNROLL > 4u) a4 = fma(a4, m, c);                                   \
        if (UNROLL > 5u) a5 = fma(a5, m, c);                                   \
        if (UNROLL > 6u) a6 = fma(a6, m, c);                                   \
        if (UNROLL > 7u) a7 = fma(a7, m, c);                                   \
        if (UNROLL > 8u) a8 = fma(a8, m, c);                                   \
        if (UNROLL > 9u) a9 = fma(a9, m, c);                                   \
        if (UNROLL > 10u) a10 = fma(a10, m, c);                                \
        if (UNROLL > 11u) a11 = fma(a11, m, c);                                \
        if (UNROLL > 12u) a12 = fma(a12, m, c);                                \
        if (UNROLL > 13u) a13 = fma(a13, m, c);                                \
        if (UNROLL > 14u) a14 = fma(a14, m, c);                                \
        if (UNROLL > 15u) a15 = fma(a15, m, c);                                \
    }                                                                          \
    return hsum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) +            \
                ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15)));      \
}

CHAINS(float, chains1)
CHAINS(vec4, chains4)

void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * 64u);
    float s = float(gl_LocalInvocationIndex) * (1.0 / 64.0);
    float r;
    if (VEC4 != 0u)
        r = chains4(vec4(s, s + 0.25, s + 0.5, s + 0.75), vec4(p.m), vec4(p.c));
    else
        r = chains1(s, p.m, p.c);
    o[i] = r;
}
