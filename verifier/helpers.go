package verifier

// ArgType says what a helper expects in one argument register.
type ArgType uint8

const (
	ArgNone       ArgType = iota // unused
	ArgAnything                  // any initialized value
	ArgScalar                    // a number
	ArgMapPtr                    // a map (lddw of a map)
	ArgMapKey                    // pointer to initialized memory of the map's key size
	ArgMapValue                  // pointer to initialized memory of the map's value size
	ArgCtx                       // the context pointer, unmodified
	ArgMem                       // pointer to initialized memory; the next argument is its size
	ArgUninitMem                 // pointer to memory the helper fills; the next argument is its size
	ArgSize                      // size of the preceding memory argument: a bounded scalar, > 0
	ArgSizeOrZero                // like ArgSize, may be 0
)

// RetType says what a helper returns in r0.
type RetType uint8

const (
	RetInteger        RetType = iota // a number
	RetVoid                          // nothing: r0 is uninitialized afterwards
	RetMapValueOrNull                // a value of the ArgMapPtr map, or null
)

// HelperProto is a helper's signature as the verifier checks it.
type HelperProto struct {
	Name string
	Args [5]ArgType
	Ret  RetType
	// MapTypes restricts the ArgMapPtr argument to these BPF_MAP_TYPE_* values; empty
	// accepts any map type except program arrays.
	MapTypes []uint32
}

func (p *HelperProto) nargs() int {
	n := 0
	for i, a := range p.Args {
		if a != ArgNone {
			n = i + 1
		}
	}
	return n
}

// Helper ids, numbered as in the kernel.
const (
	HelperMapLookupElem     int32  = 1
	HelperMapUpdateElem     int32  = 2
	HelperMapDeleteElem     int32  = 3
	HelperProbeRead         int32  = 4
	HelperKtimeGetNs        int32  = 5
	HelperTracePrintk       int32  = 6
	HelperGetPrandomU32     int32  = 7
	HelperGetSmpProcessorID int32  = 8
	HelperTailCall          int32  = 12
	HelperGetCurrentPidTgid int32  = 14
	HelperSkbLoadBytes      int32  = 26
	HelperProbeReadKernel   int32  = 113
	HelperKtimeGetBootNs    int32  = 125
	MapTypeHash             uint32 = 1
	MapTypeArray            uint32 = 2
	MapTypeProgArray        uint32 = 3
	MapTypePercpuArray      uint32 = 6
)

// Helpers is the table of built-in helper prototypes.
var Helpers = map[int32]*HelperProto{
	HelperMapLookupElem:     {Name: "map_lookup_elem", Args: [5]ArgType{ArgMapPtr, ArgMapKey}, Ret: RetMapValueOrNull},
	HelperMapUpdateElem:     {Name: "map_update_elem", Args: [5]ArgType{ArgMapPtr, ArgMapKey, ArgMapValue, ArgScalar}},
	HelperMapDeleteElem:     {Name: "map_delete_elem", Args: [5]ArgType{ArgMapPtr, ArgMapKey}},
	HelperProbeRead:         {Name: "probe_read", Args: [5]ArgType{ArgUninitMem, ArgSizeOrZero, ArgAnything}},
	HelperKtimeGetNs:        {Name: "ktime_get_ns"},
	HelperTracePrintk:       {Name: "trace_printk", Args: [5]ArgType{ArgMem, ArgSize, ArgAnything, ArgAnything, ArgAnything}},
	HelperGetPrandomU32:     {Name: "get_prandom_u32"},
	HelperGetSmpProcessorID: {Name: "get_smp_processor_id"},
	HelperTailCall:          {Name: "tail_call", Args: [5]ArgType{ArgCtx, ArgMapPtr, ArgScalar}, Ret: RetVoid, MapTypes: []uint32{MapTypeProgArray}},
	HelperGetCurrentPidTgid: {Name: "get_current_pid_tgid"},
	HelperSkbLoadBytes:      {Name: "skb_load_bytes", Args: [5]ArgType{ArgCtx, ArgScalar, ArgUninitMem, ArgSize}},
	HelperProbeReadKernel:   {Name: "probe_read_kernel", Args: [5]ArgType{ArgUninitMem, ArgSizeOrZero, ArgAnything}},
	HelperKtimeGetBootNs:    {Name: "ktime_get_boot_ns"},
}

// commonHelpers are available to every built-in program type.
var commonHelpers = []int32{
	HelperMapLookupElem, HelperMapUpdateElem, HelperMapDeleteElem, HelperKtimeGetNs,
	HelperTracePrintk, HelperGetPrandomU32, HelperGetSmpProcessorID, HelperKtimeGetBootNs,
}

func helperSet(ids ...int32) map[int32]*HelperProto {
	m := make(map[int32]*HelperProto, len(ids))
	for _, id := range ids {
		m[id] = Helpers[id]
	}
	return m
}

// MapInfo is what the verifier needs to know of a map.
type MapInfo struct {
	Type       uint32 // BPF_MAP_TYPE_*
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
}
