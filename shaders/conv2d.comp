#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// conv2d: y[n,o,oh,ow] = sum_{c,kh,kw} x[n,c,oh*S-P+kh,ow*S-P+kw] w[o,c,kh,kw]
// (zero outside x). One output per invocation.
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
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer w;
layout(binding = 2) writeonly buffer Y { float y[]; };
void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * 64u);
    if (i >= NB * O * HO * WO) return;
    uint ow = i % WO, oh = (i / WO) % HO, o = (i / (WO * HO)) % O, n = i / (WO * HO * O);
    float acc = 0.0;
    for (uint c = 0u; c < C; c++) {
        for (uint kh = 0u; kh < KH; kh++) {
            int ih = int(oh * S + kh) - int(P);
            if (ih < 0 || ih >= int(H)) continue;
            for (uint kw = 0u; kw < KW; kw++) {
                int iw = int(ow * S + kw) - int(P);
                if (iw < 0 || iw >= int(W)) continue;
                acc += LOAD1(x, ((n * C + c) * H + uint(ih)) * W + uint(iw)) * LOAD1(w, ((o * C + c) * KH + kh) * KW + kw);
            }
        }
    }
    y[i] = acc;
}
