package bpfjit

import (
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/verifier"
)

// Standard helpers Load provides unless the host registers the same id itself (kernel
// numbering): ktime_get_ns, trace_printk, get_prandom_u32 and get_smp_processor_id; with a
// map table bound, also the map helpers (see WithMaps).
const (
	HelperKtimeGetNs        = verifier.HelperKtimeGetNs
	HelperTracePrintk       = verifier.HelperTracePrintk
	HelperGetPrandomU32     = verifier.HelperGetPrandomU32
	HelperGetSmpProcessorID = verifier.HelperGetSmpProcessorID
)

// WithTraceOutput sends what bpf_trace_printk (helper 6) formats to w, one call's text per
// Write (calls from concurrent runs are serialized). Without it the text is discarded and
// the helper still returns its length.
func WithTraceOutput(w io.Writer) Option { return func(c *config) { c.trace = w } }

// monoBase anchors ktime_get_ns: time.Since reads Go's monotonic clock (vDSO, no system
// call), offset so that values are nanoseconds since an arbitrary point before start-up,
// never 0, like CLOCK_MONOTONIC.
var monoBase = time.Now().Add(-time.Second)

func ktimeGetNs(_, _, _, _, _ uint64) uint64 { return uint64(time.Since(monoBase)) }

func getPrandomU32(_, _, _, _, _ uint64) uint64 { return uint64(rand.Uint32()) }

// addStandardHelpers registers the standard helpers the host has not registered itself.
// get_smp_processor_id is bound per run (runnerPool); here it only reserves its id.
func (c *config) addStandardHelpers() {
	std := map[int32]Helper{
		HelperKtimeGetNs:        ktimeGetNs,
		HelperGetPrandomU32:     getPrandomU32,
		HelperTracePrintk:       newTracePrintk(c.trace),
		HelperGetSmpProcessorID: func(_, _, _, _, _ uint64) uint64 { return 0 },
	}
	for id, fn := range std {
		if _, ok := c.helpers[id]; !ok {
			c.addHelper(id, fn)
			if id == HelperGetSmpProcessorID {
				c.perRunnerID = true
			}
		}
	}
}

// anyHelper is the id callsHelper matches every helper with.
const anyHelper = -1

// callsHelper reports whether insns call helper id directly; with anyHelper, whether they
// may call any helper at all (a callx may reach one).
func callsHelper(insns []isa.Instruction, id int32) bool {
	for i := range insns {
		if insns[i].IsHelperCall() && (insns[i].Imm == id || id == anyHelper) || insns[i].IsCallX() && id == anyHelper {
			return true
		}
	}
	return false
}

// errno values trace_printk returns, as the kernel's negative errnos.
const einval = ^uint64(22 - 1) // -EINVAL

// newTracePrintk returns bpf_trace_printk(fmt, fmt_size, a1, a2, a3) writing to w (nil:
// nowhere). fmt points at fmt_size bytes (the verifier proves them readable) that must
// hold a NUL; the result is the length of the formatted text or -EINVAL.
func newTracePrintk(w io.Writer) Helper {
	var mu sync.Mutex
	return func(r1, r2, a1, a2, a3 uint64) uint64 {
		if r1 == 0 || r2 == 0 || r2 > 1<<16 {
			return einval
		}
		format := unsafe.Slice((*byte)(rawPtr(uintptr(r1))), r2)
		out, ok := FormatTrace(format, [3]uint64{a1, a2, a3})
		if !ok {
			return einval
		}
		if w != nil {
			mu.Lock()
			w.Write(out) // the kernel's trace buffer drops on overflow too: no error path
			mu.Unlock()
		}
		return uint64(len(out))
	}
}

// rawPtr turns an address the program passed into a pointer without a uintptr conversion
// that vet flags: it points at memory the program was given or its native stack, never
// at a Go heap object the collector could move.
func rawPtr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

// FormatTrace formats a bpf_trace_printk format string (up to its NUL) with up to three
// arguments, as the kernel does for the conversions it allows: %d %i %u %x %X %c and %p,
// with l or ll before the integer ones (none: 32 bits, sign- or zero-extended; l, ll: 64
// bits), and %%. Anything else (%s included: an argument is never read as an address),
// more than three conversions or a format without a NUL is invalid (ok false).
func FormatTrace(format []byte, args [3]uint64) (out []byte, ok bool) {
	end := -1
	for i, b := range format {
		if b == 0 {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, false
	}
	format = format[:end]
	out = make([]byte, 0, len(format)+32)
	n := 0
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch != '%' {
			out = append(out, ch)
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			out = append(out, '%')
			continue
		}
		long := 0
		for long < 2 && i < len(format) && format[i] == 'l' {
			long++
			i++
		}
		if i >= len(format) || n == len(args) {
			return nil, false
		}
		v := args[n]
		n++
		switch conv := format[i]; conv {
		case 'd', 'i':
			if long == 0 {
				v = uint64(int64(int32(v)))
			}
			out = strconv.AppendInt(out, int64(v), 10)
		case 'u', 'x', 'X':
			if long == 0 {
				v = uint64(uint32(v))
			}
			switch conv {
			case 'u':
				out = strconv.AppendUint(out, v, 10)
			case 'x':
				out = strconv.AppendUint(out, v, 16)
			default:
				start := len(out)
				out = strconv.AppendUint(out, v, 16)
				for k := start; k < len(out); k++ {
					if out[k] >= 'a' {
						out[k] -= 'a' - 'A'
					}
				}
			}
		case 'c':
			if long != 0 {
				return nil, false
			}
			out = append(out, byte(v))
		case 'p':
			if long != 0 {
				return nil, false
			}
			out = append(out, "0x"...)
			out = strconv.AppendUint(out, v, 16)
		default:
			return nil, false
		}
	}
	return out, true
}
