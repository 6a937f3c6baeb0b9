package verifier

import (
	"github.com/bpfjit/bpfjit/isa"
)

type accKind uint8

const (
	accRead accKind = iota
	accWrite
)

// storeVal is the value a store writes; src is the source register, -1 for an immediate.
type storeVal struct {
	reg Reg
	src int
}

// access checks a load or store of size bytes at base+off and returns what a load yields.
func (v *verifier) access(i int, regno isa.Register, base *Reg, off, size int, kind accKind, val *storeVal) (Reg, error) {
	unknown := func() Reg {
		s := UnknownScalar()
		s.cast(size)
		return scalarReg(s)
	}
	if kind == accWrite && val.reg.Type.IsPointer() && base.Type != PtrToStack && !v.pt.AllowPtrLeak {
		return Reg{}, v.errAt(i, ErrPointerLeak, "R%d leaks a pointer (%s) into %s memory the host can read", val.src, val.reg.Type, base.Type)
	}
	switch base.Type {
	case ScalarValue:
		return Reg{}, v.errAt(i, ErrMemAccess, "R%d is a scalar, not a pointer: invalid mem access 'scalar'", regno)
	case PtrToMapValueOrNull, PtrToBufOrNull:
		return Reg{}, v.errAt(i, ErrMemAccess, "R%d invalid mem access '%s': null-check the pointer before using it", regno, base.Type)
	case ConstPtrToMap, PtrToPacketEnd:
		return Reg{}, v.errAt(i, ErrMemAccess, "R%d invalid mem access '%s'", regno, base.Type)
	case PtrToStack:
		return v.stackAccess(i, regno, base, off, size, kind, val)
	case PtrToCtx:
		return v.ctxAccess(i, regno, base, off, size, kind, val)
	case PtrToMapValue:
		m := v.maps[base.Map]
		if err := v.regionCheck(i, regno, base, off, size, int64(m.ValueSize), "map value"); err != nil {
			return Reg{}, err
		}
	case PtrToMem:
		if err := v.regionCheck(i, regno, base, off, size, v.cur.memRange, "memory region"); err != nil {
			return Reg{}, err
		}
	case PtrToBuf:
		if err := v.regionCheck(i, regno, base, off, size, base.Range, "buffer"); err != nil {
			return Reg{}, err
		}
	case PtrToPacket, PtrToPacketMeta:
		if kind == accWrite && !v.pt.PacketWrite {
			return Reg{}, v.errAt(i, ErrMemAccess, "program type %s may not write into the packet", v.pt.Name)
		}
		if err := v.packetCheck(i, regno, base, off, size); err != nil {
			return Reg{}, err
		}
	}
	return unknown(), nil
}

// regionCheck bounds an access to an object of limit bytes through a pointer whose offset
// may vary.
func (v *verifier) regionCheck(i int, regno isa.Register, base *Reg, off, size int, limit int64, what string) error {
	vo := base.Val
	if vo.Smin < 0 && int64(base.Off)+int64(off)+vo.Smin < 0 {
		return v.errAt(i, ErrMemAccess, "R%d min value is negative (%v): use an unsigned index or check it is >= 0 before accessing the %s", regno, vo, what)
	}
	if vo.Umax >= maxVarOff && !(base.Type == PtrToMem && vo.LenOK && vo.Umax < 1<<33) {
		return v.errAt(i, ErrMemAccess, "R%d unbounded memory access (%v): bound the offset with a comparison before accessing the %s", regno, vo, what)
	}
	lo := int64(base.Off) + int64(off) + vo.Smin
	hi := int64(base.Off) + int64(off) + int64(vo.Umax) + int64(size)
	// In the raw memory region, a variable offset compared with the length is bounded by it:
	// var + slack <= len, so the access ends in the region when off + size <= slack.
	byLen := base.Type == PtrToMem && vo.LenOK && int64(base.Off)+int64(off)+int64(size) <= vo.LenSlack
	if lo < 0 || hi > limit && !byLen {
		hint := ""
		if base.Type == PtrToMem {
			hint = ": prove the length first by comparing r2 (the length) with a constant"
		}
		return v.errAt(i, ErrMemAccess, "R%d invalid access to %s: off=%d size=%d reaches [%d, %d) but only %d bytes are valid%s", regno, what, int64(base.Off)+int64(off), size, lo, hi, limit, hint)
	}
	return nil
}

func (v *verifier) packetCheck(i int, regno isa.Register, base *Reg, off, size int) error {
	if base.Val.Umax >= 0xffff || base.Val.Smin < 0 {
		return v.errAt(i, ErrMemAccess, "R%d packet pointer with an unbounded variable offset %v", regno, base.Val)
	}
	o := int64(base.Off) + int64(off)
	// Below the pointer's base is before the packet (or before the metadata).
	if o < 0 || o+int64(size) > base.Range {
		return v.errAt(i, ErrMemAccess, "R%d invalid access to packet: off=%d size=%d, %d bytes proven: compare the pointer against data_end first", regno, o, size, base.Range)
	}
	return nil
}

// breakSpill turns a spilled register that is being partly overwritten into data. The
// bytes of a pointer that remain are address bits: reading them would leak the address, so
// they become unreadable unless the program type allows leaks.
func (v *verifier) breakSpill(s *slot) {
	k := SlotMisc
	if s.spill.Type.IsPointer() && !v.pt.AllowPtrLeak {
		k = SlotPtrBits
	}
	s.kind = [8]SlotKind{k, k, k, k, k, k, k, k}
}

func (v *verifier) noteDepth(fr *frame, depth int) {
	if depth > v.subs[fr.subprog].depth {
		v.subs[fr.subprog].depth = depth
	}
}

func (v *verifier) stackAccess(i int, regno isa.Register, base *Reg, off, size int, kind accKind, val *storeVal) (Reg, error) {
	fr := v.cur.frames[base.Frame]
	vo := base.Val
	lo := int64(base.Off) + int64(off) + vo.Smin
	hi := int64(base.Off) + int64(off) + vo.Smax + int64(size)
	if lo < -MaxStack || hi > 0 || vo.Smax >= maxVarOff || vo.Smin <= -maxVarOff {
		return Reg{}, v.errAt(i, ErrMemAccess, "invalid stack access by R%d: off=%d size=%d, the stack is fp-%d to fp-1", regno, int64(base.Off)+int64(off), size, MaxStack)
	}
	v.noteDepth(fr, int(-lo))
	if !vo.IsConst() {
		// Variable offset: every byte in the window may be the one accessed.
		if kind == accWrite {
			if val.reg.Type.IsPointer() {
				return Reg{}, v.errAt(i, ErrMemAccess, "spilling pointer R%d through a variable stack offset is not allowed", val.src)
			}
			for o := lo; o < hi; o++ {
				if k, s := fr.byteKind(int(o)); k == SlotSpill {
					v.breakSpill(s)
				}
			}
			return Reg{}, nil
		}
		for o := lo; o < hi; o++ {
			if k, _ := fr.byteKind(int(o)); k == SlotInvalid || k == SlotPtrBits {
				return Reg{}, v.errAt(i, ErrMemAccess, "invalid variable-offset read from stack R%d: fp%d may never have been written (window [%d, %d))", regno, o, lo, hi)
			}
		}
		s := UnknownScalar()
		s.cast(size)
		return scalarReg(s), nil
	}
	o := int(lo)
	if o%size != 0 {
		// As in the kernel: spill tracking works on naturally aligned accesses.
		return Reg{}, v.errAt(i, ErrMemAccess, "misaligned stack access by R%d: off=%d size=%d", regno, o, size)
	}
	if kind == accWrite {
		if val.reg.Type == PtrToStack && val.reg.Frame > base.Frame {
			// The callee's frame dies when it returns; the caller must never see it.
			return Reg{}, v.errAt(i, ErrMemAccess, "cannot spill a pointer to frame %d into the stack of caller frame %d", val.reg.Frame, base.Frame)
		}
		if size == 8 && o%8 == 0 && (val.src >= 0 || val.reg.Val.IsConst()) {
			s := fr.slotAt(o)
			s.kind = [8]SlotKind{SlotSpill, SlotSpill, SlotSpill, SlotSpill, SlotSpill, SlotSpill, SlotSpill, SlotSpill}
			s.spill = val.reg
			return Reg{}, nil
		}
		if val.reg.Type.IsPointer() {
			return Reg{}, v.errAt(i, ErrMemAccess, "invalid register spill of pointer R%d: size %d at fp%d, must be 8 bytes at a multiple of 8", val.src, size, o)
		}
		for b := o; b < o+size; b++ {
			s := fr.slotAt(b)
			if s.isSpill() {
				v.breakSpill(s)
			}
			s.kind[(b%8+8)%8] = SlotMisc
		}
		return Reg{}, nil
	}
	if size == 8 && o%8 == 0 {
		if _, s := fr.byteKind(o); s != nil && s.isSpill() {
			return s.spill, nil
		}
	}
	for b := o; b < o+size; b++ {
		k, s := fr.byteKind(b)
		switch k {
		case SlotInvalid:
			return Reg{}, v.errAt(i, ErrMemAccess, "invalid read from stack R%d: off=%d size=%d, fp%d was never written", regno, o, size, b)
		case SlotPtrBits:
			return Reg{}, v.errAt(i, ErrPointerLeak, "read from stack R%d: off=%d size=%d, fp%d holds what is left of a partly overwritten pointer", regno, o, size, b)
		case SlotSpill:
			if s.spill.Type != ScalarValue && !v.pt.AllowPtrLeak {
				return Reg{}, v.errAt(i, ErrPointerLeak, "partial read of spilled pointer (%s) at fp%d", s.spill.Type, b)
			}
		}
	}
	s := UnknownScalar()
	s.cast(size)
	return scalarReg(s), nil
}

func (v *verifier) ctxAccess(i int, regno isa.Register, base *Reg, off, size int, kind accKind, val *storeVal) (Reg, error) {
	if !base.Val.IsConst() {
		return Reg{}, v.errAt(i, ErrMemAccess, "variable ctx access through R%d (%v) prohibited", regno, base.Val)
	}
	o := int(base.Off) + off + int(int64(base.Val.T.Value))
	f, err := v.pt.Ctx.field(o, size)
	if err != nil {
		return Reg{}, v.errAt(i, ErrMemAccess, "invalid %s context access: %v", v.pt.Name, err)
	}
	v.ctxFields[i] = *f
	if kind == accWrite {
		if !f.Write {
			return Reg{}, v.errAt(i, ErrMemAccess, "context field %s is read only", f.Name)
		}
		return Reg{}, nil
	}
	switch f.Kind {
	case FieldPacket:
		return ptrReg(PtrToPacket), nil
	case FieldPacketEnd:
		return ptrReg(PtrToPacketEnd), nil
	case FieldPacketMeta:
		return ptrReg(PtrToPacketMeta), nil
	}
	s := UnknownScalar()
	s.cast(size)
	return scalarReg(s), nil
}

// helperMem checks a memory argument of size bytes (umax of the size register) for a helper
// or a global function: readable and initialized when the callee reads it, writable (and
// then initialized) when it writes.
func (v *verifier) helperMem(i int, regno isa.Register, size int, write bool) error {
	reg, err := v.readReg(i, regno)
	if err != nil {
		return err
	}
	if size == 0 {
		return nil
	}
	switch reg.Type {
	case PtrToStack:
		if !reg.Val.IsConst() {
			return v.errAt(i, ErrHelper, "R%d: variable stack offset in a memory argument is not supported", regno)
		}
		fr := v.cur.frames[reg.Frame]
		o := int(reg.Off) + int(int64(reg.Val.T.Value))
		if o < -MaxStack || o+size > 0 {
			return v.errAt(i, ErrHelper, "R%d: stack region fp%d..+%d outside the frame", regno, o, size)
		}
		v.noteDepth(fr, -o)
		for b := o; b < o+size; b++ {
			if write {
				s := fr.slotAt(b)
				if s.isSpill() {
					v.breakSpill(s)
				}
				s.kind[(b%8+8)%8] = SlotMisc
				continue
			}
			k, s := fr.byteKind(b)
			if k == SlotInvalid || k == SlotPtrBits {
				return v.errAt(i, ErrHelper, "R%d: invalid indirect read from stack at fp%d (region fp%d..+%d): initialize it first", regno, b, o, size)
			}
			if k == SlotSpill && s.spill.Type.IsPointer() && !v.pt.AllowPtrLeak {
				return v.errAt(i, ErrPointerLeak, "R%d: the memory passed at fp%d holds a spilled pointer (%s) the callee would see as data", regno, b, s.spill.Type)
			}
		}
		return nil
	case PtrToMapValue, PtrToMem, PtrToBuf, PtrToPacket, PtrToPacketMeta:
		kind := accRead
		var sv *storeVal
		if write {
			kind, sv = accWrite, &storeVal{reg: scalarReg(UnknownScalar()), src: -1}
		}
		_, err := v.access(i, regno, reg, 0, size, kind, sv)
		return err
	}
	return v.errAt(i, ErrHelper, "R%d must point to memory (stack, map value, packet or region), not %s", regno, reg.Type)
}
