#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// peak_copy: streaming copy for the bandwidth peak, one vec4 per invocation
// (it beat grid-stride loops on llvmpipe), read through an RGBA32F texel
// buffer and written to a storage buffer: out[i] = in[i] for i < count vec4s.
layout(local_size_x = 64) in;
layout(binding = 0) uniform samplerBuffer src;
layout(binding = 1) writeonly buffer Out { vec4 o[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * 64u);
    if (i < p.count) o[i] = LOAD4(src, i);
}
