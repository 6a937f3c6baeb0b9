package emit

// HelperMapLookupElem is the helper id of bpf_map_lookup_elem.
const HelperMapLookupElem = 1

// Where inline array lookups read an array map's maps.Header; the root package's tests
// pin them to package maps' constants.
const (
	HeaderStrideOffset = 12 // u32: bytes between consecutive values
)

// InlineArrayLookup reports whether the helper call at stream slot i is an array lookup to
// lower inline (Options.InlineArrayLookups). Backends that can do so emit, with r1 the
// map's handle and r2 a pointer to a u32 index,
//
//	r0 = index < max entries ? base + index*stride : 0
//
// reading base, max entries and stride from the handle's header, and change only r0 and
// scratch registers; the others call the helper as usual.
func (c *Compiler) InlineArrayLookup(i int) bool {
	d := c.tail.inline
	if d == nil {
		return false
	}
	in := &c.S.Insns[i]
	if !in.IsHelperCall() || in.Imm != HelperMapLookupElem {
		return false
	}
	o := int(c.S.Orig[i])
	return o < len(d) && d[o]
}

// slotSet returns a by-slot set of slots, reusing buf; nil when slots is empty.
func slotSet(buf []bool, slots []int, n int) []bool {
	if len(slots) == 0 {
		return nil
	}
	buf = grow(buf, n)
	clear(buf)
	for _, i := range slots {
		if i >= 0 && i < n {
			buf[i] = true
		}
	}
	return buf
}
