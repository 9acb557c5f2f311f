#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
// conv2d: y[n,o,oh,ow] = sum_{c,kh,kw} x[n,c,oh*S-P+kh,ow*S-P+kw] w[o,c,kh,kw]
// (zero outside x), as an implicit GEMM: each invocation keeps TM output
// channels x TN neighbouring pixels of one output row in registers, so every
// fetched input value feeds TM FMAs and every weight TN. Taps are unrolled
// outside the channel loop; padding is a select, not a branch.
// Grid: x (and z) over pixel blocks, y over blocks of TM output channels.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint NB = 1;
layout(constant_id = 1) const uint C = 1;
layout(constant_id = 2) const uint H = 1;
layout(constant_id = 3) const uint W = 1;
layout(constant_id = 4) const uint O = 1;
layout(constant_id = 5) const uint KH = 1;
layout(constant_id = 6) const uint KW = 1;
layout(constant_id = 7) const uint S = 1;
layout(constant_id = 8) const uint P = 0;
layout(constant_id = 9) const uint HO = 1;
layout(constant_id = 10) const uint WO = 1;
layout(constant_id = 11) const uint TM = 8;
layout(constant_id = 12) const uint TN = 4;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer w;
layout(binding = 2) writeonly buffer Y { float y[]; };

const uint NBW = (WO + TN - 1u) / TN;   // pixel blocks per output row

void main()
{
    uint q = gl_GlobalInvocationID.x + gl_WorkGroupID.z * (gl_NumWorkGroups.x * 64u);
    if (q >= NB * HO * NBW) return;
    uint bw = q % NBW, oh = (q / NBW) % HO, n = q / (NBW * HO);
    uint ow0 = bw * TN, o0 = gl_WorkGroupID.y * TM;

    float acc[TM][TN];
    [[unroll]] for (uint r = 0u; r < TM; r++)
        [[unroll]] for (uint j = 0u; j < TN; j++) acc[r][j] = 0.0;
    uint wrow[TM];   // w[o, 0, 0, 0] of each output channel (clamped: rows past O are not stored)
    [[unroll]] for (uint r = 0u; r < TM; r++) wrow[r] = min(o0 + r, O - 1u) * C * KH * KW;

    [[unroll]] for (uint kh = 0u; kh < KH; kh++) {
        int ih = int(oh * S + kh) - int(P);
        bool rowok = ih >= 0 && ih < int(H);
        uint xrow = (n * C * H + uint(clamp(ih, 0, int(H) - 1))) * W;
        [[unroll]] for (uint kw = 0u; kw < KW; kw++) {
            uint xi[TN];
            bool ok[TN];
            [[unroll]] for (uint j = 0u; j < TN; j++) {
                int iw = int((ow0 + j) * S + kw) - int(P);
                ok[j] = rowok && iw >= 0 && iw < int(W);
                xi[j] = xrow + uint(clamp(iw, 0, int(W) - 1));
            }
            uint wt = kh * KW + kw;
            for (uint c = 0u; c < C; c++) {
                float b[TN], a[TM];
                [[unroll]] for (uint j = 0u; j < TN; j++) {
                    float v = LOAD1(x, xi[j] + c * H * W);
                    b[j] = ok[j] ? v : 0.0;
                }
                [[unroll]] for (uint r = 0u; r < TM; r++) a[r] = LOAD1(w, wrow[r] + c * KH * KW + wt);
                [[unroll]] for (uint r = 0u; r < TM; r++)
                    [[unroll]] for (uint j = 0u; j < TN; j++) acc[r][j] = fma(a[r], b[j], acc[r][j]);
            }
        }
    }
    [[unroll]] for (uint r = 0u; r < TM; r++) {
        if (o0 + r >= O) break;
        [[unroll]] for (uint j = 0u; j < TN; j++)
            if (ow0 + j < WO) y[((n * O + o0 + r) * HO + oh) * WO + ow0 + j] = acc[r][j];
    }
}
