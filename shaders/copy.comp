#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// copy: out[i] = in[i] for i < count.
layout(local_size_x = 64) in;
layout(binding = 0) uniform samplerBuffer src;
layout(binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = MEG_LINEAR_ID(64u);
    if (i < p.count) o[i] = LOAD1(src, i);
}
