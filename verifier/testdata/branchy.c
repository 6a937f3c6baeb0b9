// A packet classifier with many data-dependent branches: Ethernet with up to two VLAN
// tags, IPv4 (variable header length) or IPv6, then TCP, UDP or ICMP, with per-class
// counters in an array map. Build: see Makefile.
#include "bpf.h"

struct vlan_hdr {
	__u16 tci;
	__u16 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __attribute__((always_inline)) void count(__u32 key)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &key);
	if (c)
		__sync_fetch_and_add(c, 1);
}

static __attribute__((always_inline)) int classify_port(__u16 port)
{
	switch (port) {
	case 22: return 10;
	case 53: return 11;
	case 80: return 12;
	case 123: return 13;
	case 443: return 14;
	case 8080: return 15;
	}
	if (port < 1024)
		return 16;
	if (port >= 49152)
		return 17;
	return 18;
}

SEC("xdp")
int classify(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__u16 proto = eth->h_proto;
	void *l3 = eth + 1;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bswap16(ETH_P_8021Q) && proto != bswap16(ETH_P_8021AD))
			break;
		struct vlan_hdr *vh = l3;
		if ((void *)(vh + 1) > end)
			return XDP_DROP;
		proto = vh->proto;
		l3 = vh + 1;
	}
	__u8 l4proto;
	void *l4;
	if (proto == bswap16(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > end)
			return XDP_DROP;
		if (ip->ihl < 5) {
			count(1);
			return XDP_DROP;
		}
		if (ip->ttl <= 1) {
			count(2);
			return XDP_PASS;
		}
		l4proto = ip->protocol;
		l4 = (void *)ip + ip->ihl * 4;
		count(3);
	} else if (proto == bswap16(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > end)
			return XDP_DROP;
		if (ip6->hop_limit <= 1) {
			count(4);
			return XDP_PASS;
		}
		l4proto = ip6->nexthdr;
		l4 = ip6 + 1;
		count(5);
	} else {
		count(6);
		return XDP_PASS;
	}
	if (l4proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > end)
			return XDP_DROP;
		if (th->syn && th->fin) {
			count(7);
			return XDP_DROP;
		}
		if (th->rst)
			count(8);
		count(classify_port(bswap16(th->dest)));
		if (th->syn && !th->ack)
			count(19);
	} else if (l4proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > end)
			return XDP_DROP;
		if (uh->len == 0) {
			count(9);
			return XDP_DROP;
		}
		count(20 + classify_port(bswap16(uh->dest)));
	} else if (l4proto == IPPROTO_ICMP) {
		struct icmphdr *ih = l4;
		if ((void *)(ih + 1) > end)
			return XDP_DROP;
		count(40 + (ih->type & 15));
	} else {
		count(63);
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
