#!/usr/bin/env python3
"""Writes the sample inputs of the programs in this directory and samples.json, which
lists for each (object, program, input) the expected r0. The expected values come from
an independent Python model of each program, not from running the BPF code."""
import json
import struct


def csum16(data, acc=0):
    if len(data) % 2:
        data += b"\0"
    for i in range(0, len(data), 2):
        acc += data[i] << 8 | data[i + 1]
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return acc


def ipv4_frame(proto, payload, corrupt=False, udp_nocsum=False):
    src, dst = bytes([192, 168, 1, 10]), bytes([10, 0, 0, 7])
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", 40000, 80, 0x01020304, 0, 5 << 4, 0x02, 65535, 0, 0) + payload
        csum_at = 16
    else:
        l4 = struct.pack("!HHHH", 5353, 53, 8 + len(payload), 0) + payload
        csum_at = 6
    if not udp_nocsum:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
        c = 0xFFFF & ~csum16(pseudo + l4)
        if proto == 17 and c == 0:
            c = 0xFFFF
        l4 = l4[:csum_at] + struct.pack("!H", c) + l4[csum_at + 2:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x1234, 0x4000, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", 0xFFFF & ~csum16(ip)) + ip[12:]
    frame = bytes.fromhex("020000000002" "020000000001" "0800") + ip + l4
    if corrupt:
        frame = frame[:-1] + bytes([frame[-1] ^ 0x40])
    return frame


def model_csum(f):
    """What csum.c computes, written from its specification."""
    if len(f) < 34:
        return -1
    if f[12:14] != b"\x08\x00":
        return -2
    ip = f[14:]
    ihl, tot = (ip[0] & 15) * 4, ip[2] << 8 | ip[3]
    if ip[0] >> 4 != 4 or ihl < 20 or tot < ihl or 14 + tot > len(f):
        return -3
    ipsum = 0xFFFF & ~csum16(ip[:ihl])
    proto = ip[9]
    if proto not in (6, 17):
        return -4
    l4 = ip[ihl:tot]
    if proto == 17 and len(l4) >= 8 and l4[6:8] == b"\0\0":
        l4sum = 0
    else:
        l4sum = 0xFFFF & ~csum16(ip[12:20] + struct.pack("!BBH", 0, proto, len(l4)) + l4)
    return ipsum << 16 | l4sum


def u64(v):
    return v & 0xFFFFFFFFFFFFFFFF


samples = []


def sample(obj, prog, name, data, result, note):
    with open(name, "wb") as fh:
        fh.write(data)
    samples.append({"object": obj, "program": prog, "input": name,
                    "result": "0x%x" % u64(result), "note": note})


tcp = ipv4_frame(6, b"GET / HTTP/1.0\r\n\r\n")
udp = ipv4_frame(17, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01")
bad = ipv4_frame(6, b"GET / HTTP/1.0\r\n\r\n", corrupt=True)
for f in (tcp, udp):
    assert model_csum(f) == 0
sample("csum.o", "csum", "tcp.bin", tcp, model_csum(tcp), "valid IPv4/TCP frame: both checksums verify")
sample("csum.o", "csum", "udp.bin", udp, model_csum(udp), "valid IPv4/UDP (DNS) frame: both checksums verify")
sample("csum.o", "csum", "tcp_corrupt.bin", bad, model_csum(bad), "TCP payload bit flipped: L4 checksum is off")
sample("csum.o", "csum", "arp.bin", tcp[:12] + b"\x08\x06" + tcp[14:42], -2, "not IPv4")
sample("maps.o", "count", "tcp.bin", tcp, 1, "first frame with empty maps: proto_count[6] becomes 1")
sample("calls.o", "calls", "ten.bin", b"0123456789", 2055, "r2 = 10: fib(10) + gcd(10, 36) * 1000 = 55 + 2000")
sample("global_func.o", "global_entry", "digits.bin", b"12345\n", 12346, "leading decimal 12345, plus 1")
sample("v4ops.o", "v4ops", "v4ops.mem", bytes.fromhex("fb00feffffffff f0".replace(" ", "")), 2498,
       "a=-5, b=-2, w=-16: -5000 / -2 + (-16 % 7) = 2500 - 2")
with open("samples.json", "w") as fh:
    json.dump(samples, fh, indent=1)
    fh.write("\n")
