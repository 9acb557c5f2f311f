// common.glsl: helpers shared by kernels (and by the kernels the planner
// generates at run time).
#ifndef MEG_COMMON_GLSL
#define MEG_COMMON_GLSL

// Inputs are read through uniform texel buffers: on llvmpipe a texel fetch
// costs about 1/25 of a storage-buffer load, and real GPUs read them at
// full speed too.
#define LOAD1(buf, i) texelFetch(buf, int(i)).x
#define LOAD4(buf, i) texelFetch(buf, int(i))

float meg_act(float v, uint act, float slope)
{
    if (act == 1u) return max(v, 0.0);
    if (act == 2u) return v > 0.0 ? v : slope * v;
    if (act == 3u) return tanh(v);
    if (act == 4u) return 1.0 / (1.0 + exp(-v));
    return v;
}

#endif
