#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
// peak_copy: streaming kernels for the bandwidth peak; count is in vec4s,
// read through an RGBA32F texel buffer.
// MODE 0, copy: one vec4 per invocation, written to a storage buffer:
// out[i] = in[i] (one vec4 per invocation beat loops on llvmpipe, where
// storage-buffer stores in loops are much dearer).
// MODE 1, read: workgroup g sums its own contiguous count / groups vec4s
// (a multiple of 512), 8 texels 64 apart per loop trip so neighbouring
// invocations read neighbouring texels, and each invocation writes one vec4:
// the reads' bandwidth, which the copy, bound by its stores on llvmpipe, does
// not show.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0;
layout(binding = 0) uniform samplerBuffer src;
layout(binding = 1) writeonly buffer Out { vec4 o[]; };
layout(push_constant) uniform P { uint count; } p;
void main()
{
    uint i = MEG_LINEAR_ID(64u);
    if (MODE == 0u) {
        if (i < p.count) o[i] = LOAD4(src, i);
    } else {
        uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_NumWorkGroups.z;
        uint chunk = p.count / groups;
        uint base = (i / 64u) * chunk + gl_LocalInvocationID.x;
        vec4 s = vec4(0.0);
        for (uint j = 0u; j < chunk; j += 512u) {
            [[unroll]] for (uint u = 0u; u < 8u; u++) s += LOAD4(src, base + j + u * 64u);
        }
        o[i] = s;
    }
}
