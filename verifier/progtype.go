package verifier

import "fmt"

// FieldKind is what reading a context field yields.
type FieldKind uint8

const (
	FieldScalar     FieldKind = iota // a number
	FieldPacket                      // pointer to packet data
	FieldPacketEnd                   // pointer one past the packet
	FieldPacketMeta                  // pointer to packet metadata
)

// Field is one field of a context structure.
type Field struct {
	Name      string
	Off, Size int
	Kind      FieldKind
	Write     bool // programs may store to it (scalar fields only)
	// Narrow allows loads smaller than Size at any offset inside the field (scalar fields).
	Narrow bool
}

// Context describes the structure r1 points to at entry.
type Context struct {
	Name   string // the C struct name, matched against BTF pointer arguments of global functions
	Size   int
	Fields []Field
}

// field returns the field that an access of size bytes at off falls in.
func (c *Context) field(off, size int) (*Field, error) {
	for i := range c.Fields {
		f := &c.Fields[i]
		if off < f.Off || off >= f.Off+f.Size {
			continue
		}
		if off+size > f.Off+f.Size {
			return nil, fmt.Errorf("access of %d bytes at offset %d crosses the end of field %s", size, off, f.Name)
		}
		if size != f.Size && (!f.Narrow || f.Kind != FieldScalar) {
			return nil, fmt.Errorf("field %s must be accessed with size %d, not %d", f.Name, f.Size, size)
		}
		if size != f.Size && off%size != 0 {
			return nil, fmt.Errorf("narrow access of %d bytes at offset %d is misaligned", size, off)
		}
		return f, nil
	}
	return nil, fmt.Errorf("offset %d (size %d) is not a field of %s", off, size, c.Name)
}

// ProgType describes a kind of program: what it gets in its registers at entry, which
// helpers it may call and which memory it may write pointers into. Hosts may define their
// own.
type ProgType struct {
	Name string
	// Ctx describes r1 at entry; nil for the raw memory type.
	Ctx *Context
	// RawMemory: r1 points at a memory region and r2 holds its length. Accesses must stay
	// within the length the program has proven (by comparing r2) or MinMem.
	RawMemory bool
	// Helpers is the set of helpers the type may call; Options.Helpers adds to it.
	Helpers map[int32]*HelperProto
	// PacketWrite allows stores through packet pointers.
	PacketWrite bool
	// LegacyPacketLoads allows LD_ABS/LD_IND (socket filters).
	LegacyPacketLoads bool
	// AllowPtrLeak lets programs store pointers where the host reads numbers (memory,
	// map values, the context) and return them in r0.
	AllowPtrLeak bool
	// KernelType is the kernel's BPF_PROG_TYPE_* number, for the differential test (0: none).
	KernelType uint32
}

// Built-in program types.
var (
	// RawMemoryType is the conformance suite's model: r1 = pointer to memory, r2 = length.
	RawMemoryType = &ProgType{
		Name:      "raw",
		RawMemory: true,
		Helpers:   helperSet(commonHelpers...),
	}

	// XDPType has the kernel's struct xdp_md as context.
	XDPType = &ProgType{
		Name: "xdp",
		Ctx: &Context{Name: "xdp_md", Size: 24, Fields: []Field{
			{Name: "data", Off: 0, Size: 4, Kind: FieldPacket},
			{Name: "data_end", Off: 4, Size: 4, Kind: FieldPacketEnd},
			{Name: "data_meta", Off: 8, Size: 4, Kind: FieldPacketMeta},
			{Name: "ingress_ifindex", Off: 12, Size: 4},
			{Name: "rx_queue_index", Off: 16, Size: 4},
			{Name: "egress_ifindex", Off: 20, Size: 4},
		}},
		Helpers:     helperSet(append([]int32{HelperTailCall}, commonHelpers...)...),
		PacketWrite: true,
		KernelType:  6, // BPF_PROG_TYPE_XDP
	}

	// SocketFilterType has a subset of the kernel's struct __sk_buff as context; socket
	// filters read the packet through LD_ABS/LD_IND, not through pointers.
	SocketFilterType = &ProgType{
		Name: "socket",
		Ctx: &Context{Name: "__sk_buff", Size: 92, Fields: []Field{
			{Name: "len", Off: 0, Size: 4, Narrow: true},
			{Name: "pkt_type", Off: 4, Size: 4, Narrow: true},
			{Name: "mark", Off: 8, Size: 4, Narrow: true},
			{Name: "queue_mapping", Off: 12, Size: 4, Narrow: true},
			{Name: "protocol", Off: 16, Size: 4, Narrow: true},
			{Name: "vlan_present", Off: 20, Size: 4, Narrow: true},
			{Name: "vlan_tci", Off: 24, Size: 4, Narrow: true},
			{Name: "vlan_proto", Off: 28, Size: 4, Narrow: true},
			{Name: "priority", Off: 32, Size: 4, Narrow: true},
			{Name: "ingress_ifindex", Off: 36, Size: 4, Narrow: true},
			{Name: "ifindex", Off: 40, Size: 4, Narrow: true},
			{Name: "tc_index", Off: 44, Size: 4, Narrow: true},
			{Name: "cb", Off: 48, Size: 20, Narrow: true, Write: true},
			{Name: "hash", Off: 68, Size: 4, Narrow: true},
			{Name: "tc_classid", Off: 72, Size: 4, Narrow: true},
			{Name: "napi_id", Off: 88, Size: 4, Narrow: true},
		}},
		Helpers:           helperSet(append([]int32{HelperTailCall, HelperSkbLoadBytes}, commonHelpers...)...),
		LegacyPacketLoads: true,
		KernelType:        1, // BPF_PROG_TYPE_SOCKET_FILTER
	}

	// TracingType is fentry/fexit: the context is a read-only array of u64 arguments.
	TracingType = NewTracingType(6)
)

// NewTracingType returns a tracing program type whose context holds nargs u64 arguments (for
// fexit, the return value is one more).
func NewTracingType(nargs int) *ProgType {
	c := &Context{Name: "tracing_args", Size: 8 * nargs}
	for i := range nargs {
		c.Fields = append(c.Fields, Field{Name: fmt.Sprintf("arg%d", i), Off: 8 * i, Size: 8})
	}
	return &ProgType{
		Name:         "tracing",
		Ctx:          c,
		Helpers:      helperSet(append([]int32{HelperProbeRead, HelperGetCurrentPidTgid, HelperProbeReadKernel}, commonHelpers...)...),
		AllowPtrLeak: true,
		KernelType:   26, // BPF_PROG_TYPE_TRACING
	}
}

// ProgTypeByName returns a built-in type by its name ("raw", "xdp", "socket", "tracing").
func ProgTypeByName(name string) (*ProgType, bool) {
	for _, t := range []*ProgType{RawMemoryType, XDPType, SocketFilterType, TracingType} {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}
