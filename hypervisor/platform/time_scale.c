/*
 * Fixed-point clock conversion: ticks of one clock to ticks of another as
 * ((delta << shift) * mul_frac) >> 32. The factor is found once with
 * integer arithmetic that fits in 64 bits; applying it is one shift and two
 * 32x32 multiplies, so NOW() and the timer code never divide. Pure code,
 * tested on the host (tests/unit/test_time_scale.c).
 */
#include <proxenos/time.h>

int time_scale_init(struct time_scale *ts, uint64_t from_hz, uint64_t to_hz)
{
    uint64_t num = to_hz, den = from_hz;
    int shift = 0;

    if (!num || !den)
        return -EINVAL;
    /* Bring each rate into 32 bits, moving the halvings into `shift`: only
     * a rate above 2^32 loses low bits, one part in 2^32 at most. */
    while (num > UINT32_MAX) {
        num >>= 1;
        shift++;
    }
    while (den > UINT32_MAX) {
        den >>= 1;
        shift--;
    }
    /* Normalise the ratio num/den into [1/2, 1), moving powers of two into
     * `shift`; widen the smaller operand rather than lose precision. */
    while (num >= den) {
        if (den <= UINT32_MAX / 2)
            den <<= 1;
        else
            num >>= 1;
        shift++;
    }
    while (2 * num < den) {
        if (num <= UINT32_MAX / 2)
            num <<= 1;
        else
            den >>= 1;
        shift--;
    }
    if (shift > 31 || shift < -31)
        return -EINVAL;
    ts->mul_frac = (uint32_t)((num << 32) / den);
    ts->shift = shift;
    return 0;
}

/* delta must stay below 2^(64 - shift): for the TSC-to-ns scales that is
 * centuries of uptime. */
uint64_t time_scale_apply(uint64_t delta, const struct time_scale *ts)
{
    if (ts->shift >= 0)
        delta <<= ts->shift;
    else
        delta >>= -ts->shift;
    /* 64x32 -> 96-bit product, of which we keep bits 32-95. */
    return (((delta & 0xffffffffu) * ts->mul_frac) >> 32) + (delta >> 32) * ts->mul_frac;
}
