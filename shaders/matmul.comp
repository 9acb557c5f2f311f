#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
// matmul: C[M,N] = op(A) op(B), and with ONES_ROW also row M of [op(A); 1...1] op(B).
//
// Each invocation keeps a TM x TN block of C in registers and walks K four
// at a time. Operands come through texel buffers, as vec4 along their
// contiguous dimension where the shape allows (VA, VB). A workgroup's
// invocations share their rows (LANES_M = 0) or their columns (LANES_M = 1),
// so one operand's loads are the same across the workgroup. No shared
// memory and no barriers: on llvmpipe those cost more than they save.
// Built with MEG_TILED, the file is instead the shared-memory tiled kernel
// for GPUs (below). The planner compiles this file again with MEG_GENERATED defined and its
// own meg_store() (in "generated.glsl") to fuse elementwise work into the
// store; then C is the first of the kernel's outputs.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint M = 1;
layout(constant_id = 2) const uint N = 1;
layout(constant_id = 3) const uint K = 1;
layout(constant_id = 4) const uint TA = 0;      // A is stored [K,M]
layout(constant_id = 5) const uint TB = 0;      // B is stored [N,K]
layout(constant_id = 6) const uint VA = 0;      // A bound as an RGBA32F view
layout(constant_id = 7) const uint VB = 0;      // B bound as an RGBA32F view
// ids 8-10 are unused (they were a bias and an activation: the planner's
// generated epilogues do that work now)
layout(constant_id = 11) const uint TM = 4;     // rows per invocation (a multiple of 4 when TA and VA)
layout(constant_id = 12) const uint TN = 4;     // columns per invocation (a multiple of 4 when !TB and VB)
layout(constant_id = 13) const uint LANES_M = 0;
layout(constant_id = 14) const uint ONES_ROW = 0;  // also row M of [A; 1...1] op(B): the column sums of op(B)
layout(constant_id = 15) const uint ONES_K0 = 0;   // the row of ones is 0 before this k (a sum of products over K
                                                   // segments of which only the last ones have a bias: kstack.c)

// The block row (column when LANES_M): y, continued along z where a device's
// maxComputeWorkGroupCount[1] is smaller than the blocks (rt_matmul_choose)
#define MM_GROUP_Y (gl_WorkGroupID.y + gl_WorkGroupID.z * gl_NumWorkGroups.y)

layout(binding = 0) uniform samplerBuffer A;
layout(binding = 1) uniform samplerBuffer B;
layout(binding = 2) writeonly buffer Cbuf { float C[]; };

#ifdef MEG_GENERATED
#include "generated.glsl"
#else
void meg_store(uint m, uint n, float acc) { C[m * N + n] = acc; }
#endif

#ifdef MEG_TILED
// The tiled path (built as kernel "matmul_tiled"; a separate module, so
// that the register path's generated kernels do not compile it), the usual
// form for GPUs: a workgroup of 16 x 16 invocations
// stages a BK-deep slice of a 64-row block of op(A) and a 64-column block of
// op(B) in shared memory, and each invocation accumulates 4 x 4 outputs
// (rows ty + 16i, columns tx + 16j, so that neighbours read neighbouring
// words). The row of ones is row M of A. Operands are read as R32F texels.
const uint BT = 64u, BK = 16u;
shared float As[BK][BT + 1u];
shared float Bs[BK][BT];

float tiled_a(uint m, uint k)
{
    if (k >= K || m > M || (m == M && ONES_ROW == 0u)) return 0.0;
    if (m == M) return k >= ONES_K0 ? 1.0 : 0.0;
    return LOAD1(A, TA == 0u ? m * K + k : k * M + m);
}

float tiled_b(uint k, uint n)
{
    if (k >= K || n >= N) return 0.0;
    return LOAD1(B, TB == 0u ? k * N + n : n * K + k);
}

void tiled_main()
{
    uint lid = gl_LocalInvocationID.x, tx = lid % 16u, ty = lid / 16u;
    uint m0 = MM_GROUP_Y * BT, n0 = gl_WorkGroupID.x * BT;
    float acc[4][4];
    [[unroll]] for (uint i = 0u; i < 4u; i++)
        [[unroll]] for (uint j = 0u; j < 4u; j++) acc[i][j] = 0.0;
    for (uint k0 = 0u; k0 < K; k0 += BK) {
        // 1024 values of each operand, 4 per invocation, read along the
        // operand's contiguous dimension
        [[unroll]] for (uint q = 0u; q < 4u; q++) {
            uint e = lid + 256u * q;
            uint r = TA == 0u ? e / BK : e % BT, kk = TA == 0u ? e % BK : e / BT;
            As[kk][r] = tiled_a(m0 + r, k0 + kk);
            uint c = TB == 0u ? e % BT : e / BK, kb = TB == 0u ? e / BT : e % BK;
            Bs[kb][c] = tiled_b(k0 + kb, n0 + c);
        }
        barrier();
        [[unroll]] for (uint kk = 0u; kk < BK; kk++) {
            float a[4], b[4];
            [[unroll]] for (uint i = 0u; i < 4u; i++) a[i] = As[kk][ty + 16u * i];
            [[unroll]] for (uint j = 0u; j < 4u; j++) b[j] = Bs[kk][tx + 16u * j];
            [[unroll]] for (uint i = 0u; i < 4u; i++)
                [[unroll]] for (uint j = 0u; j < 4u; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }
    [[unroll]] for (uint i = 0u; i < 4u; i++) {
        uint m = m0 + ty + 16u * i;
        [[unroll]] for (uint j = 0u; j < 4u; j++) {
            uint n = n0 + tx + 16u * j;
            if (m < M + ONES_ROW && n < N) meg_store(m, n, acc[i][j]);
        }
    }
}

void main()
{
    tiled_main();
}
#else
void main()
{
    uint lane = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint m0 = LANES_M != 0u ? lane * TM : MM_GROUP_Y * TM;
    uint n0 = LANES_M != 0u ? MM_GROUP_Y * TN : lane * TN;
    if (m0 >= M + ONES_ROW || n0 >= N) return;

    uint nc[TN];
    [[unroll]] for (uint c = 0u; c < TN; c++) nc[c] = min(n0 + c, N - 1u);

    // The extra row of ones: a bias gradient (the column sums of B) computed
    // in the same dispatch as the weight gradient A^T B.
    if (ONES_ROW != 0u && M >= m0 && M < m0 + TM) {
        float s[TN];
        [[unroll]] for (uint c = 0u; c < TN; c++) s[c] = 0.0;
        for (uint k = ONES_K0; k < K; k++)
            [[unroll]] for (uint c = 0u; c < TN; c++) {
                uint bi = TB == 0u ? k * N + nc[c] : nc[c] * K + k;
                s[c] += VB != 0u ? LOAD4(B, bi / 4u)[bi % 4u] : LOAD1(B, bi);
            }
        [[unroll]] for (uint c = 0u; c < TN; c++)
            if (n0 + c < N) meg_store(M, n0 + c, s[c]);
    }
    if (m0 >= M) return;

    float acc[TM][TN];
    [[unroll]] for (uint r = 0u; r < TM; r++)
        [[unroll]] for (uint c = 0u; c < TN; c++) acc[r][c] = 0.0;

    uint mr[TM];
    [[unroll]] for (uint r = 0u; r < TM; r++) mr[r] = min(m0 + r, M - 1u);

    const uint K4 = K / 4u * 4u;
    for (uint k = 0u; k < K4; k += 4u) {
        float a[TM][4];
        float b[4][TN];
        if (TA == 0u) {
            [[unroll]] for (uint r = 0u; r < TM; r++) {
                if (VA != 0u) {
                    vec4 v = LOAD4(A, (mr[r] * K + k) / 4u);
                    a[r][0] = v.x; a[r][1] = v.y; a[r][2] = v.z; a[r][3] = v.w;
                } else {
                    [[unroll]] for (uint i = 0u; i < 4u; i++) a[r][i] = LOAD1(A, mr[r] * K + k + i);
                }
            }
        } else {
            [[unroll]] for (uint i = 0u; i < 4u; i++) {
                if (VA != 0u) {
                    [[unroll]] for (uint q = 0u; q < TM / 4u; q++) {
                        vec4 v = LOAD4(A, (k + i) * (M / 4u) + min(m0 / 4u + q, M / 4u - 1u));
                        a[4u * q][i] = v.x; a[4u * q + 1u][i] = v.y; a[4u * q + 2u][i] = v.z; a[4u * q + 3u][i] = v.w;
                    }
                } else {
                    [[unroll]] for (uint r = 0u; r < TM; r++) a[r][i] = LOAD1(A, (k + i) * M + mr[r]);
                }
            }
        }
        if (TB == 0u) {
            [[unroll]] for (uint i = 0u; i < 4u; i++) {
                if (VB != 0u) {
                    [[unroll]] for (uint q = 0u; q < TN / 4u; q++) {
                        vec4 v = LOAD4(B, (k + i) * (N / 4u) + min(n0 / 4u + q, N / 4u - 1u));
                        b[i][4u * q] = v.x; b[i][4u * q + 1u] = v.y; b[i][4u * q + 2u] = v.z; b[i][4u * q + 3u] = v.w;
                    }
                } else {
                    [[unroll]] for (uint c = 0u; c < TN; c++) b[i][c] = LOAD1(B, (k + i) * N + nc[c]);
                }
            }
        } else {
            [[unroll]] for (uint c = 0u; c < TN; c++) {
                if (VB != 0u) {
                    vec4 v = LOAD4(B, (nc[c] * K + k) / 4u);
                    b[0][c] = v.x; b[1][c] = v.y; b[2][c] = v.z; b[3][c] = v.w;
                } else {
                    [[unroll]] for (uint i = 0u; i < 4u; i++) b[i][c] = LOAD1(B, nc[c] * K + k + i);
                }
            }
        }
        [[unroll]] for (uint i = 0u; i < 4u; i++)
            [[unroll]] for (uint r = 0u; r < TM; r++)
                [[unroll]] for (uint c = 0u; c < TN; c++) acc[r][c] = fma(a[r][i], b[i][c], acc[r][c]);
    }
    // K not a multiple of 4: the last columns of A one at a time (scalar
    // fetches, so the views must be R32F when K % 4 != 0 and the operand is
    // read along K).
    for (uint k = K4; k < K; k++) {
        float a[TM];
        float b[TN];
        [[unroll]] for (uint r = 0u; r < TM; r++) {
            if (TA == 0u) a[r] = VA != 0u ? LOAD4(A, (mr[r] * K + k) / 4u)[(mr[r] * K + k) % 4u]
                                          : LOAD1(A, mr[r] * K + k);
            else a[r] = VA != 0u ? LOAD4(A, (k * M + mr[r]) / 4u)[(k * M + mr[r]) % 4u] : LOAD1(A, k * M + mr[r]);
        }
        [[unroll]] for (uint c = 0u; c < TN; c++) {
            if (TB == 0u) b[c] = VB != 0u ? LOAD4(B, (k * N + nc[c]) / 4u)[(k * N + nc[c]) % 4u]
                                          : LOAD1(B, k * N + nc[c]);
            else b[c] = VB != 0u ? LOAD4(B, (nc[c] * K + k) / 4u)[(nc[c] * K + k) % 4u] : LOAD1(B, nc[c] * K + k);
        }
        [[unroll]] for (uint r = 0u; r < TM; r++)
            [[unroll]] for (uint c = 0u; c < TN; c++) acc[r][c] = fma(a[r], b[c], acc[r][c]);
    }

    if (TM * TN <= 64u) {
        [[unroll]] for (uint r = 0u; r < TM; r++) {
            if (m0 + r >= M) break;
            [[unroll]] for (uint c = 0u; c < TN; c++)
                if (n0 + c < N) meg_store(m0 + r, n0 + c, acc[r][c]);
        }
    } else {
        // Bigger blocks emit the epilogue (fused work included) TN times, in
        // a loop over rows: unrolled TM x TN times, it doubled the driver's
        // compile time of the MEG graph for no measured gain.
        float res[TM][TN];
        [[unroll]] for (uint r = 0u; r < TM; r++)
            [[unroll]] for (uint c = 0u; c < TN; c++) res[r][c] = acc[r][c];
        [[dont_unroll]] for (uint r = 0u; r < TM; r++) {
            if (m0 + r >= M) break;
            [[unroll]] for (uint c = 0u; c < TN; c++)
                if (n0 + c < N) meg_store(m0 + r, n0 + c, res[r][c]);
        }
    }
}
#endif
