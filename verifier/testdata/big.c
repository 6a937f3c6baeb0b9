// A long straight-line program (about 4,000 instructions): 400 unrolled rounds of a
// checksum over the first 1600 bytes of the packet, each with a data-dependent branch.
// Build: see Makefile.
#include "bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} result SEC(".maps");

SEC("xdp")
int checksum(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 1600 > end)
		return XDP_PASS;
	__u32 *w = data;
	__u64 acc = bpf_ktime_get_ns();
#pragma unroll
	for (int i = 0; i < 400; i++) {
		__u32 v = w[i];
		if (v & (1u << (i & 31)))
			acc = acc * 31 + v;
		else
			acc = (acc ^ v) * 17;
		asm volatile("" : "+r"(acc)); /* keep rounds in order: no hoisted loads */
	}
	__u32 key = 0;
	__u64 *r = bpf_map_lookup_elem(&result, &key);
	if (r)
		*r = acc;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
