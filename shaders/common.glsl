// common.glsl: helpers shared by kernels (and by the kernels the planner
// generates at run time).
#ifndef MEG_COMMON_GLSL
#define MEG_COMMON_GLSL

// Inputs are read through uniform texel buffers: on llvmpipe a texel fetch
// costs about 1/25 of a storage-buffer load, and real GPUs read them at
// full speed too.
#define LOAD1(buf, i) texelFetch(buf, int(i)).x
#define LOAD4(buf, i) texelFetch(buf, int(i))

#endif
