#version 450
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "philox.glsl"
// shuffle: a random permutation of the rows of x [R,C], drawn per column
// (ROWS = 0: MEG's per-dimension latent shuffle) or for whole rows
// (ROWS = 1). Rows are ordered by (key, row); out[rank(row), c] = x[row, c],
// or the inverse (INV = 1): out[row, c] = x[rank(row), c]. O(R) per element:
// cheap for the batch sizes of MEG, and free of atomics, so deterministic.
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint R = 1;
layout(constant_id = 1) const uint C = 1;
layout(constant_id = 2) const uint ROWS = 0;
layout(constant_id = 3) const uint INV = 0;
layout(constant_id = 4) const uint KEY0 = 0;
layout(constant_id = 5) const uint KEY1 = 0;
layout(constant_id = 6) const uint STREAM = 0;
layout(binding = 0) uniform samplerBuffer rng;   // [1]: the run counter
layout(binding = 1) uniform samplerBuffer x;
layout(binding = 2) writeonly buffer Out { float o[]; };

uint key_of(uint row, uint col, uint run)
{
    uint j = ROWS != 0u ? row : row * C + col;
    return meg_philox(uvec2(KEY0, KEY1), uvec4(j, STREAM, run, MEG_RNG_TAG)).x;
}

void main()
{
    uint i = MEG_LINEAR_ID(64u);
    if (i >= R * C) return;
    uint row = i / C, col = i % C;
    uint run = uint(LOAD1(rng, 0u));
    uint kr = key_of(row, col, run);
    uint rank = 0u;
    for (uint j = 0u; j < R; j++) {
        uint kj = key_of(j, col, run);
        if (kj < kr || (kj == kr && j < row)) rank++;
    }
    if (INV == 0u) o[rank * C + col] = LOAD1(x, i);
    else o[i] = LOAD1(x, rank * C + col);
}
