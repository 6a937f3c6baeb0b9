/* calls: BPF-to-BPF calls between static functions.
 *
 * r1 = memory (unused), r2 = a number n. Returns fib(n % 64) + gcd(n, 36) * 1000,
 * computed by separate non-inlined functions (bpf-to-bpf calls, callee frames).
 * n = 10: fib(10) = 55, gcd(10, 36) = 2, result 2055.
 */
#include "bpf_defs.h"

static __noinline __u64 fib(__u64 n)
{
	__u64 a = 0, b = 1, t;
	__u32 i;

	for (i = 0; i < 64 && i < n; i++) {
		t = a + b;
		a = b;
		b = t;
	}
	return a;
}

static __noinline __u64 gcd(__u64 a, __u64 b)
{
	__u32 i;

	for (i = 0; i < 128 && b != 0; i++) {
		__u64 t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static __noinline __u64 combine(__u64 n)
{
	return fib(n % 64) + gcd(n, 36) * 1000;
}

SEC("raw/calls")
__u64 calls(const __u8 *mem, __u64 n)
{
	return combine(n);
}

char _license[] SEC("license") = "Dual MIT/GPL";
