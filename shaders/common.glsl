// common.glsl: helpers shared by kernels (and by the kernels the planner
// generates at run time).
#ifndef MEG_COMMON_GLSL
#define MEG_COMMON_GLSL

// Inputs are read through uniform texel buffers: on llvmpipe a texel fetch
// costs about 1/25 of a storage-buffer load, and real GPUs read them at
// full speed too.
#define LOAD1(buf, i) texelFetch(buf, int(i)).x
#define LOAD4(buf, i) texelFetch(buf, int(i))

// A 1-D job's index when its workgroups are spread over x, then y, then z
// (rt_groups_1d): x + (y + z * NY) * NX * local. With z = 1, as on every
// device below its limits, this is the plain x + y * NX * local.
#define MEG_LINEAR_ID(local) (gl_GlobalInvocationID.x + (gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y) * (gl_NumWorkGroups.x * (local)))
// The same for one workgroup per item.
#define MEG_GROUP_LINEAR_ID (gl_WorkGroupID.x + (gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y) * gl_NumWorkGroups.x)

#endif
