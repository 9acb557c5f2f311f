#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// conv_transpose2d: the adjoint of conv2d in its input. x [NB,C,H,W],
// w [C,O,KH,KW], y [NB,O,HO,WO] with HO = (H-1)S - 2P + KH + output padding:
// y[n,o,oh,ow] = sum over c, kh, kw with oh = ih*S - P + kh, ow = iw*S - P + kw
// of x[n,c,ih,iw] w[c,o,kh,kw]. One output per invocation (a gather, so no
// atomics).
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
    for (uint kh = 0u; kh < KH; kh++) {
        int th = int(oh + P) - int(kh);
        if (th < 0 || th % int(S) != 0) continue;
        uint ih = uint(th) / S;
        if (ih >= H) continue;
        for (uint kw = 0u; kw < KW; kw++) {
            int tw = int(ow + P) - int(kw);
            if (tw < 0 || tw % int(S) != 0) continue;
            uint iw = uint(tw) / S;
            if (iw >= W) continue;
            for (uint c = 0u; c < C; c++)
                acc += LOAD1(x, ((n * C + c) * H + ih) * W + iw) * LOAD1(w, ((c * O + o) * KH + kh) * KW + kw);
        }
    }
    y[i] = acc;
}
