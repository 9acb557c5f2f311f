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
// keeps TM output channels x TN pixels of one class in one row (ow, ow + S,
// ...: they read neighbouring input columns), and invocations are numbered
// class by class, each class padded to a multiple of RUN invocations (the
// subgroup size), so that a subgroup never mixes two classes' taps.
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
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer w;
layout(binding = 2) writeonly buffer Y { float y[]; };

const uint HOC = (HO + S - 1u) / S;          // rows per class
const uint NBW = ((WO + S - 1u) / S + TN - 1u) / TN;   // pixel blocks per class row
const uint CLS = (HOC * NBW + RUN - 1u) / RUN * RUN;   // invocations per class, padded

void main()
{
    uint q = gl_GlobalInvocationID.x + gl_WorkGroupID.z * (gl_NumWorkGroups.x * 64u);
    if (q >= NB * S * S * CLS) return;
    uint t = q % CLS, pw = (q / CLS) % S, ph = (q / (CLS * S)) % S, n = q / (CLS * S * S);
    uint bw = t % NBW, i = t / NBW;
    uint oh = ph + S * i;
    if (t >= HOC * NBW || oh >= HO) return;
    uint o0 = gl_WorkGroupID.y * TM;

    float acc[TM][TN];
    [[unroll]] for (uint r = 0u; r < TM; r++)
        [[unroll]] for (uint j = 0u; j < TN; j++) acc[r][j] = 0.0;
    uint wcol[TM];   // w[0, o, 0, 0] of each output channel (clamped: channels past O are not stored)
    [[unroll]] for (uint r = 0u; r < TM; r++) wcol[r] = min(o0 + r, O - 1u) * KH * KW;

    [[unroll]] for (uint kh = 0u; kh < KH; kh++) {
        if ((ph + P + S * KH - kh) % S != 0u) continue;   // the same for the whole class
        int th = int(oh + P) - int(kh);
        uint ih = uint(max(th, 0)) / S;
        bool rowok = th >= 0 && ih < H;
        uint xrow = (n * C * H + min(ih, H - 1u)) * W;
        [[unroll]] for (uint kw = 0u; kw < KW; kw++) {
            if ((pw + P + S * KW - kw) % S != 0u) continue;
            uint xi[TN];
            bool ok[TN];
            [[unroll]] for (uint j = 0u; j < TN; j++) {
                uint ow = pw + S * (bw * TN + j);
                int tw = int(ow + P) - int(kw);
                uint iw = uint(max(tw, 0)) / S;
                ok[j] = rowok && tw >= 0 && iw < W && ow < WO;
                xi[j] = xrow + min(iw, W - 1u);
            }
            uint wt = kh * KW + kw;
            for (uint c = 0u; c < C; c++) {
                float b[TN], a[TM];
                [[unroll]] for (uint j = 0u; j < TN; j++) {
                    float v = LOAD1(x, xi[j] + c * H * W);
                    b[j] = ok[j] ? v : 0.0;
                }
                [[unroll]] for (uint r = 0u; r < TM; r++) a[r] = LOAD1(w, c * O * KH * KW + wcol[r] + wt);
                [[unroll]] for (uint r = 0u; r < TM; r++)
                    [[unroll]] for (uint j = 0u; j < TN; j++) acc[r][j] = fma(a[r], b[j], acc[r][j]);
            }
        }
    }
    [[unroll]] for (uint r = 0u; r < TM; r++) {
        if (o0 + r >= O) break;
        [[unroll]] for (uint j = 0u; j < TN; j++) {
            uint ow = pw + S * (bw * TN + j);
            if (ow < WO) y[((n * O + o0 + r) * HO + oh) * WO + ow] = acc[r][j];
        }
    }
}
