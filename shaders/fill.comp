#version 450
// fill: out[i] = value for i < count.
layout(local_size_x = 64) in;
layout(binding = 0) writeonly buffer Out { float o[]; };
layout(push_constant) uniform P { uint count; float value; } p;
void main()
{
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (i < p.count) o[i] = p.value;
}
