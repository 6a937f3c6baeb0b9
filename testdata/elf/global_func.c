/* global_func: a program calling a global (non-static) function, which the kernel
 * verifies on its own and BTF marks with global linkage.
 *
 * r1 = memory holding ASCII decimal digits, r2 = its length. Returns the value of the
 * leading digits (at most 19 of them) plus 1; 0 when there is no leading digit.
 * "12345\n" gives 12346.
 */
#include "bpf_defs.h"

__noinline __u64 parse_decimal(const __u8 *p, __u64 len)
{
	__u64 v = 0;
	__u32 i;

	if (!p)
		return 0;
	for (i = 0; i < 19 && i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			break;
		v = v * 10 + (p[i] - '0');
	}
	return i == 0 ? 0 : v + 1;
}

SEC("raw/global")
__u64 global_entry(const __u8 *mem, __u64 len)
{
	return parse_decimal(mem, len);
}

char _license[] SEC("license") = "Dual MIT/GPL";
