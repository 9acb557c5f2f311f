#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
// conv2d: y[n,o,oh,ow] = sum_{c,kh,kw} x[n,c,oh*S-P+kh,ow*S-P+kw] w[o,c,kh,kw]
// (zero outside x), as an implicit GEMM: each invocation keeps TM output
// channels x a block of RB rows x TN columns of one image's output in
// registers, so every fetched input value feeds TM FMAs and every weight
// RB * TN. The channel loop is outermost and the KW taps innermost, so a
// workgroup walks the weights (and x) contiguously: with the taps outside
// the channels, weight rows were strided and it ran at a third of the speed.
// Padding is a select, not a branch.
// Grid: x (and z) over pixel blocks, y over blocks of TM output channels
// (shared by the workgroup, so the weight fetches are uniform).
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
layout(constant_id = 13) const uint RB = 1;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer w;
layout(binding = 2) writeonly buffer Y { float y[]; };

const uint NBW = (WO + TN - 1u) / TN;   // pixel blocks per output row
const uint NBH = (HO + RB - 1u) / RB;   // blocks of rows per image

void main()
{
    uint q = gl_GlobalInvocationID.x + gl_WorkGroupID.z * (gl_NumWorkGroups.x * 64u);
    if (q >= NB * NBH * NBW) return;
    uint bw = q % NBW, bh = (q / NBW) % NBH, n = q / (NBW * NBH);
    uint ow0 = bw * TN, oh0 = bh * RB, o0 = gl_WorkGroupID.y * TM;

    float acc[TM][RB * TN];
    [[unroll]] for (uint r = 0u; r < TM; r++)
        [[unroll]] for (uint j = 0u; j < RB * TN; j++) acc[r][j] = 0.0;
    uint wrow[TM];   // w[o, 0, 0, 0] of each output channel (clamped: rows past O are not stored)
    [[unroll]] for (uint r = 0u; r < TM; r++) wrow[r] = min(o0 + r, O - 1u) * C * KH * KW;
    int iw0 = int(ow0 * S) - int(P);

    for (uint c = 0u; c < C; c++) {
        for (uint kh = 0u; kh < KH; kh++) {
            bool rowok[RB];
            uint xrow[RB];
            [[unroll]] for (uint i = 0u; i < RB; i++) {
                int ih = int((oh0 + i) * S + kh) - int(P);
                rowok[i] = ih >= 0 && ih < int(H);
                xrow[i] = ((n * C + c) * H + uint(clamp(ih, 0, int(H) - 1))) * W;
            }
            uint wo = c * KH * KW + kh * KW;
            [[unroll]] for (uint kw = 0u; kw < KW; kw++) {
                float a[TM];
                [[unroll]] for (uint r = 0u; r < TM; r++) a[r] = LOAD1(w, wrow[r] + wo + kw);
                [[unroll]] for (uint j = 0u; j < TN; j++) {
                    int iw = iw0 + int(j * S + kw);
                    bool colok = iw >= 0 && iw < int(W);
                    uint xc = uint(clamp(iw, 0, int(W) - 1));
                    [[unroll]] for (uint i = 0u; i < RB; i++) {
                        float v = LOAD1(x, xrow[i] + xc);
                        float b = colok && rowok[i] ? v : 0.0;
                        [[unroll]] for (uint r = 0u; r < TM; r++) acc[r][i * TN + j] = fma(a[r], b, acc[r][i * TN + j]);
                    }
                }
            }
        }
    }
    [[unroll]] for (uint r = 0u; r < TM; r++) {
        if (o0 + r >= O) break;
        [[unroll]] for (uint i = 0u; i < RB; i++)
            [[unroll]] for (uint j = 0u; j < TN; j++)
                if (oh0 + i < HO && ow0 + j < WO) y[((n * O + o0 + r) * HO + oh0 + i) * WO + ow0 + j] = acc[r][i * TN + j];
    }
}
