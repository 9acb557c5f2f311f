// philox.glsl: Philox4x32-10 (Salmon et al. 2011), the counter-based
// generator behind every random op; must match g_philox in graph/philox.c.
#ifndef MEG_PHILOX_GLSL
#define MEG_PHILOX_GLSL

uvec4 meg_philox(uvec2 key, uvec4 ctr)
{
    for (int r = 0; r < 10; r++) {
        uint hi0, lo0, hi1, lo1;
        umulExtended(0xD2511F53u, ctr.x, hi0, lo0);
        umulExtended(0xCD9E8D57u, ctr.z, hi1, lo1);
        ctr = uvec4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
        key += uvec2(0x9E3779B9u, 0xBB67AE85u);
    }
    return ctr;
}

const uint MEG_RNG_TAG = 0x4d454721u;

float meg_u01(uint w) { return (float(w >> 8) + 0.5) * (1.0 / 16777216.0); }

float meg_uniform(uvec2 key, uint j, uint stream, uint run)
{
    return meg_u01(meg_philox(key, uvec4(j, stream, run, MEG_RNG_TAG)).x);
}

float meg_normal(uvec2 key, uint j, uint stream, uint run)
{
    uvec4 w = meg_philox(key, uvec4(j, stream, run, MEG_RNG_TAG));
    float u1 = meg_u01(w.x);
    float u2 = float(w.y >> 8) * (1.0 / 16777216.0);
    return sqrt(-2.0 * log(u1)) * cos(6.28318530717958647692 * u2);
}

float meg_randint(uvec2 key, uint j, uint stream, uint run, uint n)
{
    float u = meg_u01(meg_philox(key, uvec4(j, stream, run, MEG_RNG_TAG)).x);
    return float(min(uint(floor(u * float(n))), n - 1u));
}

#endif
