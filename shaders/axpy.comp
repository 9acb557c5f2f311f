#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
// axpy: y[i] += a * x[i] for i < count.
layout(local_size_x = 64) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform P { uint count; float a; } p;
void main()
{
    uint i = MEG_LINEAR_ID(64u);
    if (i < p.count) y[i] += p.a * LOAD1(x, i);
}
