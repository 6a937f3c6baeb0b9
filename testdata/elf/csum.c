/* csum: verify the IPv4 header checksum and the TCP or UDP checksum of an Ethernet frame.
 *
 * Calling convention of bpfjit's raw-memory context: r1 = the frame, r2 = its length.
 * Result (r0):
 *   bits 16-31: one's-complement checksum over the IPv4 header (0 when it verifies)
 *   bits  0-15: one's-complement checksum over pseudo-header + segment (0 when it
 *               verifies; 0 as well for UDP without a checksum)
 *   so 0 means "both checksums correct". Negative values are parse errors:
 *   -1 frame too short, -2 not IPv4, -3 bad IPv4 header, -4 neither TCP nor UDP.
 */
#include "bpf_defs.h"

#define ETH_HLEN 14
#define MAX_LEN 1500 /* standard Ethernet MTU: bounds the loops for the verifier */

#define SUM_OUT_OF_BOUNDS (~0ULL)

/* Sum the big-endian 16-bit words of pkt[off..off+n) into acc; an odd tail byte is padded
 * with 0. Every access is also checked against len, the frame's length: the caller has
 * already proven off+n <= len, so these checks never fire, but they are what lets the
 * verifier prove each load in bounds (it relates an index to r2 directly, not through off
 * and n). Each check leaves the loop with a sentinel the caller tests at once, so the
 * verifier follows one path per iteration and the error paths end right away. */
static __always_inline __u64 sum_words(const __u8 *pkt, __u64 len, __u32 off, __u32 n, __u64 acc)
{
	__u64 at;
	__u32 i;

	for (i = 0; i + 1 < n && i < MAX_LEN; i += 2) {
		at = (__u64)off + i;
		/* Opaque to clang, which would otherwise drop the check as implied by the caller's. */
		asm volatile("" : "+r"(at));
		if (at + 1 >= len)
			return SUM_OUT_OF_BOUNDS;
		acc += (__u32)pkt[at] << 8 | pkt[at + 1];
	}
	if (n & 1) {
		at = (__u64)off + n - 1;
		asm volatile("" : "+r"(at));
		if (at >= len)
			return SUM_OUT_OF_BOUNDS;
		acc += (__u32)pkt[at] << 8;
	}
	return acc;
}

static __always_inline __u32 fold(__u64 acc)
{
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (__u32)acc;
}

SEC("raw/csum")
__s64 csum(const __u8 *pkt, __u64 len)
{
	const __u8 *ip;
	__u64 udp_sum;
	__u32 ihl, tot, l4len, ipsum, l4sum;
	__u64 acc;
	__u8 proto;

	if (len < ETH_HLEN + 20)
		return -1;
	if (pkt[12] != 0x08 || pkt[13] != 0x00)
		return -2;
	ip = pkt + ETH_HLEN;
	ihl = (ip[0] & 0xf) * 4;
	tot = (__u32)ip[2] << 8 | ip[3];
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || ETH_HLEN + tot > len)
		return -3;
	acc = sum_words(pkt, len, ETH_HLEN, ihl, 0);
	if (acc == SUM_OUT_OF_BOUNDS)
		return -3;
	ipsum = ~fold(acc) & 0xffff;

	proto = ip[9];
	if (proto != 6 && proto != 17)
		return -4;
	l4len = tot - ihl;
	udp_sum = (__u64)ETH_HLEN + ihl + 6; /* offset of the UDP checksum field */
	asm volatile("" : "+r"(udp_sum)); /* keep the length check below (see sum_words) */
	if (proto == 17 && l4len >= 8 && udp_sum + 1 < len && pkt[udp_sum] == 0 && pkt[udp_sum + 1] == 0) {
		l4sum = 0; /* UDP sender did not compute a checksum */
	} else {
		acc = ((__u32)ip[12] << 8 | ip[13]) + ((__u32)ip[14] << 8 | ip[15]) +
		      ((__u32)ip[16] << 8 | ip[17]) + ((__u32)ip[18] << 8 | ip[19]) +
		      proto + l4len;
		acc = sum_words(pkt, len, ETH_HLEN + ihl, l4len, acc);
		if (acc == SUM_OUT_OF_BOUNDS)
			return -3;
		l4sum = ~fold(acc) & 0xffff;
	}
	return (__s64)ipsum << 16 | l4sum;
}

char _license[] SEC("license") = "Dual MIT/GPL";
