/* v4ops: exercises ISA v4 instructions when built with -mcpu=v4: sign-extending loads
 * (ldxsb, ldxsh), bswap32, signed division and modulo (sdiv, smod) and movsx.
 *
 * r1 = 8 bytes of memory, r2 = their length. With m = the memory:
 *   a = (s8)m[0], b = (s16 LE)m[2..3], w = (s32)bswap32(u32 LE m[4..7])
 *   result = (a * 1000) / (b ? b : 1) + w % 7   (C semantics, truncating)
 * v4ops.mem (fb 00 fe ff ff ff ff f0): a = -5, b = -2, w = -16:
 *   2500 + (-2) = 2498 = 0x9c2.
 */
#include "bpf_defs.h"

SEC("raw/v4")
__s64 v4ops(const signed char *mem, __u64 len)
{
	__s64 a, b, q;
	int w;

	if (len < 8)
		return 0;
	a = mem[0];
	b = *(const short *)(mem + 2);
	w = (int)__builtin_bswap32(*(const __u32 *)(mem + 4));
	q = (a * 1000) / (b ? b : 1);
	return q + w % 7;
}

char _license[] SEC("license") = "Dual MIT/GPL";
