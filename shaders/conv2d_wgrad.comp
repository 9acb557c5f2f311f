#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
// conv2d_wgrad: the gradient of conv2d in its weights, and the adjoint
// partner of both convolutions. xr [NB,B,H,W], gr [NB,A,HO,WO] ->
// out[a,b,kh,kw] = sum_{n,oh,ow} gr[n,a,oh,ow] xr[n,b,oh*S-P+kh,ow*S-P+kw].
// Each invocation keeps TM channels a x the KW taps of one (b, kh) in
// registers and walks every pixel: per pixel TM + KW fetches feed TM*KW FMAs.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint NB = 1;
layout(constant_id = 1) const uint B = 1;
layout(constant_id = 2) const uint H = 1;
layout(constant_id = 3) const uint W = 1;
layout(constant_id = 4) const uint A = 1;
layout(constant_id = 5) const uint KH = 1;
layout(constant_id = 6) const uint KW = 1;
layout(constant_id = 7) const uint S = 1;
layout(constant_id = 8) const uint P = 0;
layout(constant_id = 9) const uint HO = 1;
layout(constant_id = 10) const uint WO = 1;
layout(constant_id = 11) const uint TM = 8;
layout(binding = 0) uniform samplerBuffer xr;
layout(binding = 1) uniform samplerBuffer gr;
layout(binding = 2) writeonly buffer Y { float y[]; };

void main()
{
    uint q = gl_GlobalInvocationID.x + gl_WorkGroupID.z * (gl_NumWorkGroups.x * 64u);
    uint NA = (A + TM - 1u) / TM;
    if (q >= NA * B * KH) return;
    uint kh = q % KH, b = (q / KH) % B, a0 = (q / (KH * B)) * TM;

    float acc[TM][KW];
    [[unroll]] for (uint r = 0u; r < TM; r++)
        [[unroll]] for (uint k = 0u; k < KW; k++) acc[r][k] = 0.0;
    uint ar[TM];
    [[unroll]] for (uint r = 0u; r < TM; r++) ar[r] = min(a0 + r, A - 1u);

    for (uint n = 0u; n < NB; n++) {
        for (uint oh = 0u; oh < HO; oh++) {
            int ih = int(oh * S + kh) - int(P);
            bool rowok = ih >= 0 && ih < int(H);
            uint xrow = ((n * B + b) * H + uint(clamp(ih, 0, int(H) - 1))) * W;
            uint grow[TM];
            [[unroll]] for (uint r = 0u; r < TM; r++) grow[r] = ((n * A + ar[r]) * HO + oh) * WO;
            for (uint ow = 0u; ow < WO; ow++) {
                float g[TM], v[KW];
                [[unroll]] for (uint r = 0u; r < TM; r++) g[r] = LOAD1(gr, grow[r] + ow);
                [[unroll]] for (uint k = 0u; k < KW; k++) {
                    int iw = int(ow * S + k) - int(P);
                    float t = LOAD1(xr, xrow + uint(clamp(iw, 0, int(W) - 1)));
                    v[k] = rowok && iw >= 0 && iw < int(W) ? t : 0.0;
                }
                [[unroll]] for (uint r = 0u; r < TM; r++)
                    [[unroll]] for (uint k = 0u; k < KW; k++) acc[r][k] = fma(g[r], v[k], acc[r][k]);
            }
        }
    }
    [[unroll]] for (uint r = 0u; r < TM; r++) {
        if (a0 + r >= A) break;
        [[unroll]] for (uint k = 0u; k < KW; k++) y[((a0 + r) * B + b) * KH * KW + kh * KW + k] = acc[r][k];
    }
}
