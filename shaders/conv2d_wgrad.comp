#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// conv2d_wgrad: the gradient of conv2d in its weights, and the adjoint
// partner of both convolutions. xr [NB,B,H,W], gr [NB,A,HO,WO] ->
// out[a,b,kh,kw] = sum_{n,oh,ow} gr[n,a,oh,ow] xr[n,b,oh*S-P+kh,ow*S-P+kw].
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
layout(binding = 0) uniform samplerBuffer xr;
layout(binding = 1) uniform samplerBuffer gr;
layout(binding = 2) writeonly buffer Y { float y[]; };
void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * 64u);
    if (i >= A * B * KH * KW) return;
    uint kw = i % KW, kh = (i / KW) % KH, b = (i / (KW * KH)) % B, a = i / (KW * KH * B);
    float acc = 0.0;
    for (uint n = 0u; n < NB; n++)
        for (uint oh = 0u; oh < HO; oh++) {
            int ih = int(oh * S + kh) - int(P);
            if (ih < 0 || ih >= int(H)) continue;
            for (uint ow = 0u; ow < WO; ow++) {
                int iw = int(ow * S + kw) - int(P);
                if (iw < 0 || iw >= int(W)) continue;
                acc += LOAD1(gr, ((n * A + a) * HO + oh) * WO + ow) * LOAD1(xr, ((n * B + b) * H + uint(ih)) * W + uint(iw));
            }
        }
    y[i] = acc;
}
