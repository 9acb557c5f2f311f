#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
// conv_transpose2d: the adjoint of conv2d in its input. x [NB,C,H,W],
// w [C,O,KH,KW], y [NB,O,HO,WO] with HO = (H-1)S - 2P + KH + output padding:
// y[n,o,oh,ow] = sum over c, kh, kw with oh = ih*S - P + kh, ow = iw*S - P + kw
// of x[n,c,ih,iw] w[c,o,kh,kw]. Each output is gathered, so no atomics.
// With stride S only the taps with kh = oh + P (mod S) contribute, so the
// output is cut into S x S classes by (oh mod S, ow mod S). An invocation
// keeps TM output channels x a block of RB rows x TN columns of one class
// (oh, oh + S, ...; ow, ow + S, ...: they read neighbouring input rows and
// columns), and invocations are numbered class by class (the images inside
// a class, so that small images fill the subgroups), each class padded to a
// multiple of RUN invocations (the subgroup size), so that a subgroup never
// mixes two classes' taps. Channels go in blocks of CB with the taps
// outside a block: with all C channels inside each tap, the weights
// (strided O*KH*KW) fell out of the cache between taps.
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
layout(constant_id = 13) const uint RUN = 8;
layout(constant_id = 14) const uint RB = 1;
layout(constant_id = 15) const uint CB = 16;   // channels per block
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer w;
layout(binding = 2) writeonly buffer Y { float y[]; };

const uint HOC = (HO + S - 1u) / S;          // rows per class
const uint NBW = ((WO + S - 1u) / S + TN - 1u) / TN;   // pixel blocks per class row
const uint NBH = (HOC + RB - 1u) / RB;                 // blocks of rows per class
const uint CLS = (NB * NBH * NBW + RUN - 1u) / RUN * RUN;   // invocations per class (all images), padded

void main()
{
    uint q = gl_GlobalInvocationID.x + gl_WorkGroupID.z * (gl_NumWorkGroups.x * 64u);
    if (q >= S * S * CLS) return;
    uint t = q % CLS, pw = (q / CLS) % S, ph = q / (CLS * S);
    if (t >= NB * NBH * NBW) return;
    uint bw = t % NBW, bh = (t / NBW) % NBH, n = t / (NBW * NBH);
    uint o0 = gl_WorkGroupID.y * TM;

    float acc[TM][RB * TN];
    [[unroll]] for (uint r = 0u; r < TM; r++)
        [[unroll]] for (uint j = 0u; j < RB * TN; j++) acc[r][j] = 0.0;
    uint wcol[TM];   // w[0, o, 0, 0] of each output channel (clamped: channels past O are not stored)
    [[unroll]] for (uint r = 0u; r < TM; r++) wcol[r] = min(o0 + r, O - 1u) * KH * KW;

    // Channels in blocks of CB, the taps outside a block's channel loop:
    // each tap's indices serve CB channels, and a block's weights stay in
    // the cache across its taps. A tap of another class is skipped for the
    // whole subgroup (its channel loop ends at once).
    for (uint c0 = 0u; c0 < C; c0 += CB) {
        uint cn = min(CB, C - c0);
        [[unroll]] for (uint kh = 0u; kh < KH; kh++) {
            if ((ph + P + S * KH - kh) % S != 0u) continue;   // the same for the whole class
            int ih0 = (int(ph + S * bh * RB + P) - int(kh)) / int(S);   // exact: kh is the class's
            bool rowok[RB];
            uint xrow[RB];
            [[unroll]] for (uint i = 0u; i < RB; i++) {
                int ih = ih0 + int(i);
                rowok[i] = ih >= 0 && ih < int(H);
                xrow[i] = ((n * C + c0) * H + uint(clamp(ih, 0, int(H) - 1))) * W;
            }
            [[unroll]] for (uint kw = 0u; kw < KW; kw++) {
                if ((pw + P + S * KW - kw) % S != 0u) continue;
                int iw0 = (int(pw + S * bw * TN + P) - int(kw)) / int(S);
                uint xi[RB * TN];
                bool ok[RB * TN];
                [[unroll]] for (uint j = 0u; j < TN; j++) {
                    int iw = iw0 + int(j);
                    bool colok = iw >= 0 && iw < int(W);
                    uint xc = uint(clamp(iw, 0, int(W) - 1));
                    [[unroll]] for (uint i = 0u; i < RB; i++) {
                        xi[i * TN + j] = xrow[i] + xc;
                        ok[i * TN + j] = colok && rowok[i];
                    }
                }
                uint wt = c0 * O * KH * KW + kh * KW + kw;
                for (uint cc = 0u; cc < cn; cc++) {
                    float a[TM], b[RB * TN];
                    [[unroll]] for (uint j = 0u; j < RB * TN; j++) {
                        float v = LOAD1(x, xi[j] + cc * H * W);
                        b[j] = ok[j] ? v : 0.0;
                    }
                    [[unroll]] for (uint r = 0u; r < TM; r++) a[r] = LOAD1(w, wt + cc * O * KH * KW + wcol[r]);
                    [[unroll]] for (uint r = 0u; r < TM; r++)
                        [[unroll]] for (uint j = 0u; j < RB * TN; j++) acc[r][j] = fma(a[r], b[j], acc[r][j]);
                }
            }
        }
    }
    [[unroll]] for (uint r = 0u; r < TM; r++) {
        if (o0 + r >= O) break;
        [[unroll]] for (uint i = 0u; i < RB; i++) {
            uint oh = ph + S * (bh * RB + i);
            [[unroll]] for (uint j = 0u; j < TN; j++) {
                uint ow = pw + S * (bw * TN + j);
                if (oh < HO && ow < WO) y[((n * O + o0 + r) * HO + oh) * WO + ow] = acc[r][i * TN + j];
            }
        }
    }
}
