#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// peak_fma: fp32 FMA throughput. Each invocation keeps CHAINS independent
// fma chains (scalar, or vec4 when VEC4 = 1), so the FMA latency is hidden,
// advances each of them UNROLL times per loop trip for ITERS trips, then
// writes their sum so the work cannot be dropped.
// FMAs per invocation: ITERS * UNROLL * CHAINS * (VEC4 ? 4 : 1).
// CHAINS is 2, 4, 8 or 16; UNROLL 1, 2, 4 or 8 (others round down).
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint ITERS = 256;
layout(constant_id = 1) const uint CHAINS = 8;
layout(constant_id = 2) const uint VEC4 = 0;
layout(constant_id = 3) const uint UNROLL = 4;
layout(binding = 0) writeonly buffer Out { float o[]; };
// m and c come from the host so the compiler cannot fold the chains.
layout(push_constant) uniform P { float m; float c; } p;

float hsum(float x) { return x; }
float hsum(vec4 x) { return (x.x + x.y) + (x.z + x.w); }

#define F(a) a = fma(a, m, c);
#define ROUND2 F(a0) F(a1)
#define ROUND4 ROUND2 F(a2) F(a3)
#define ROUND8 ROUND4 F(a4) F(a5) F(a6) F(a7)
#define ROUND16 ROUND8 F(a8) F(a9) F(a10) F(a11) F(a12) F(a13) F(a14) F(a15)
// One loop per (CHAINS, UNROLL), chosen outside the loop on specialization
// constants: a test inside the loop body made llvmpipe about 10x slower once
// spirv-opt had turned it into phis, and llvmpipe pays a lot per loop trip.
#define LOOP(R)                                                                \
    if (UNROLL >= 8u) for (uint i = 0u; i < ITERS; i++) { R R R R R R R R }    \
    else if (UNROLL >= 4u) for (uint i = 0u; i < ITERS; i++) { R R R R }       \
    else if (UNROLL >= 2u) for (uint i = 0u; i < ITERS; i++) { R R }           \
    else for (uint i = 0u; i < ITERS; i++) { R }
#define BODY(T, NAME)                                                          \
float NAME(T init, T m, T c)                                                   \
{                                                                              \
    T a0 = init, a1 = init + T(1.0), a2 = init + T(2.0), a3 = init + T(3.0);   \
    T a4 = init + T(4.0), a5 = init + T(5.0), a6 = init + T(6.0);              \
    T a7 = init + T(7.0), a8 = init + T(8.0), a9 = init + T(9.0);              \
    T a10 = init + T(10.0), a11 = init + T(11.0), a12 = init + T(12.0);        \
    T a13 = init + T(13.0), a14 = init + T(14.0), a15 = init + T(15.0);        \
    if (CHAINS >= 16u) { LOOP(ROUND16) }                                       \
    else if (CHAINS >= 8u) { LOOP(ROUND8) }                                    \
    else if (CHAINS >= 4u) { LOOP(ROUND4) }                                    \
    else { LOOP(ROUND2) }                                                      \
    return hsum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) +            \
                ((a8 + a9) + (a10 + a11)) + ((a12 + a13) + (a14 + a15)));      \
}

BODY(float, chains1)
BODY(vec4, chains4)

void main()
{
    uint i = MEG_LINEAR_ID(64u);
    float s = float(gl_LocalInvocationIndex) * (1.0 / 64.0);
    float r;
    if (VEC4 != 0u)
        r = chains4(vec4(s, s + 0.25, s + 0.5, s + 0.75), vec4(p.m), vec4(p.c));
    else
        r = chains1(s, p.m, p.c);
    o[i] = r;
}
