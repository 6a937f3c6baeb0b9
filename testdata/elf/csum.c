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
#define MAX_LEN 0xffff

/* Sum big-endian 16-bit words of p[0..n) into acc; an odd tail byte is padded with 0. */
static __always_inline __u64 sum_words(const __u8 *p, __u32 n, __u64 acc)
{
	__u32 i;

	for (i = 0; i + 1 < n && i < MAX_LEN; i += 2)
		acc += (__u32)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (__u32)p[n - 1] << 8;
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
	const __u8 *ip, *l4;
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
	ipsum = ~fold(sum_words(ip, ihl, 0)) & 0xffff;

	proto = ip[9];
	if (proto != 6 && proto != 17)
		return -4;
	l4 = ip + ihl;
	l4len = tot - ihl;
	if (proto == 17 && l4len >= 8 && l4[6] == 0 && l4[7] == 0) {
		l4sum = 0; /* UDP sender did not compute a checksum */
	} else {
		acc = ((__u32)ip[12] << 8 | ip[13]) + ((__u32)ip[14] << 8 | ip[15]) +
		      ((__u32)ip[16] << 8 | ip[17]) + ((__u32)ip[18] << 8 | ip[19]) +
		      proto + l4len;
		l4sum = ~fold(sum_words(l4, l4len, acc)) & 0xffff;
	}
	return (__s64)ipsum << 16 | l4sum;
}

char _license[] SEC("license") = "Dual MIT/GPL";
