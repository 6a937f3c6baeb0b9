/* maps: count frames per IP protocol in an array map and bytes per IPv4 source address
 * in a hash map, with global variables in .data, .rodata and .bss.
 *
 * r1 = the Ethernet frame, r2 = its length. Returns the frame's new count for its
 * protocol, or 0 when the frame is ignored (too short, not IPv4, filtered out).
 */
#include "bpf_defs.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} src_bytes SEC(".maps");

/* Only count this protocol when non-zero; set by the loader before load. */
volatile const __u32 only_proto = 0;
/* Frames seen, counted or not. */
__u64 frames_seen = 0;
/* Smallest frame accepted; an initialized global lands in .data. */
__u64 min_len = 34;

SEC("raw/count")
__u64 count(const __u8 *pkt, __u64 len)
{
	__u32 proto, src;
	__u64 *n, one = 1, bytes = len;

	frames_seen++;
	if (len < min_len || pkt[12] != 0x08 || pkt[13] != 0x00)
		return 0;
	proto = pkt[14 + 9];
	if (only_proto && proto != only_proto)
		return 0;

	src = (__u32)pkt[26] << 24 | (__u32)pkt[27] << 16 | (__u32)pkt[28] << 8 | pkt[29];
	n = bpf_map_lookup_elem(&src_bytes, &src);
	if (n)
		*n += len;
	else
		bpf_map_update_elem(&src_bytes, &src, &bytes, BPF_ANY);

	n = bpf_map_lookup_elem(&proto_count, &proto);
	if (!n)
		return 0;
	__sync_fetch_and_add(n, one);
	return *n;
}

char _license[] SEC("license") = "Dual MIT/GPL";
