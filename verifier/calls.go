package verifier

import (
	"errors"
	"slices"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/cilium/ebpf/btf"
)

func (v *verifier) call(i int, in isa.Instruction) error {
	switch {
	case in.IsHelperCall():
		return v.helperCall(i, in.Imm)
	case in.IsLocalCall():
		return v.localCall(i, i+1+int(in.Imm))
	case in.IsCallX():
		// callx calls the helper whose id is in dst. Accepted when dst is the same
		// constant on every path, so the JIT can emit a direct call.
		reg, err := v.readReg(i, in.Dst)
		if err != nil {
			return err
		}
		id, ok := reg.Val.Const()
		if reg.Type != ScalarValue || !ok || int64(id) != int64(int32(id)) {
			return v.errAt(i, ErrUnsupported, "indirect call through R%d (%v): the helper id must be a known constant", in.Dst, *reg)
		}
		if prev, seen := v.callx[i]; seen && prev != int32(id) {
			return v.errAt(i, ErrUnsupported, "indirect call through R%d reaches helpers %d and %d on different paths", in.Dst, prev, id)
		}
		v.callx[i] = int32(id)
		return v.helperCall(i, int32(id))
	}
	return v.errAt(i, ErrUnsupported, "kernel function calls (kfuncs) are not supported")
}

func (v *verifier) clobberCallerSaved(regs *[isa.NumRegisters]Reg) {
	for a := isa.R1; a <= isa.R5; a++ {
		regs[a] = Reg{}
	}
}

func (v *verifier) helperCall(i int, id int32) error {
	p := v.helper(id)
	if p == nil {
		if k, ok := Helpers[id]; ok {
			return v.errAt(i, ErrHelper, "program type %s may not call helper %s#%d", v.pt.Name, k.Name, id)
		}
		return v.errAt(i, ErrHelper, "unknown helper #%d", id)
	}
	v.usedHelp[id] = true
	regs := &v.cur.cur().regs
	mapIdx := int32(-1)
	for a := 0; a < 5; a++ {
		r := isa.Register(a + 1)
		t := p.Args[a]
		if t == ArgNone || t == ArgSize || t == ArgSizeOrZero {
			continue
		}
		reg, err := v.readReg(i, r)
		if err != nil {
			return err
		}
		switch t {
		case ArgAnything:
		case ArgScalar:
			if reg.Type != ScalarValue {
				return v.errAt(i, ErrHelper, "R%d of %s must be a scalar, not %s", r, p.Name, reg.Type)
			}
		case ArgMapPtr:
			if reg.Type != ConstPtrToMap {
				return v.errAt(i, ErrHelper, "R%d of %s must be a map (lddw of a map), not %s", r, p.Name, reg.Type)
			}
			mapIdx = reg.Map
			mt := v.maps[mapIdx].Type
			if len(p.MapTypes) > 0 && !slices.Contains(p.MapTypes, mt) || len(p.MapTypes) == 0 && mt == MapTypeProgArray {
				return v.errAt(i, ErrHelper, "map %d of type %d cannot be passed to %s", mapIdx, mt, p.Name)
			}
		case ArgMapKey, ArgMapValue:
			if mapIdx < 0 {
				return v.errAt(i, ErrHelper, "helper %s: key/value argument without a map argument before it", p.Name)
			}
			m := v.maps[mapIdx]
			size := m.KeySize
			if t == ArgMapValue {
				size = m.ValueSize
			}
			if err := v.helperMem(i, r, int(size), false); err != nil {
				return err
			}
		case ArgCtx:
			if reg.Type != PtrToCtx || reg.Off != 0 || !reg.Val.IsConst() || reg.Val.T.Value != 0 {
				return v.errAt(i, ErrHelper, "R%d of %s must be the unmodified context pointer, not %v", r, p.Name, *reg)
			}
		case ArgMem, ArgUninitMem:
			if a == 4 {
				return v.errAt(i, ErrHelper, "helper %s: memory argument without a size argument", p.Name)
			}
			sz, err := v.readReg(i, r+1)
			if err != nil {
				return err
			}
			if sz.Type != ScalarValue {
				return v.errAt(i, ErrHelper, "R%d size of %s must be a scalar, not %s", r+1, p.Name, sz.Type)
			}
			if sz.Val.Umax >= maxVarOff {
				return v.errAt(i, ErrHelper, "R%d unbounded memory size %v for %s: bound it with a comparison", r+1, sz.Val, p.Name)
			}
			if sz.Val.Umax == 0 && p.Args[a+1] == ArgSize {
				return v.errAt(i, ErrHelper, "R%d invalid zero-sized memory argument for %s", r+1, p.Name)
			}
			if err := v.helperMem(i, r, int(sz.Val.Umax), t == ArgUninitMem); err != nil {
				return err
			}
		}
	}
	if id == HelperTailCall {
		v.noteTailCall(i, regs)
	}
	v.clobberCallerSaved(regs)
	switch p.Ret {
	case RetInteger:
		regs[isa.R0] = scalarReg(UnknownScalar())
	case RetVoid:
		regs[isa.R0] = Reg{}
	case RetMapValueOrNull:
		regs[isa.R0] = Reg{Type: PtrToMapValueOrNull, Map: mapIdx, ID: v.newID(), Val: ConstScalar(0)}
	}
	v.cur.insn = i + 1
	return nil
}

// noteTailCall records the map and index seen at a tail-call site; a site that sees two
// different ones, or a non-constant index, is poisoned for direct calls.
func (v *verifier) noteTailCall(i int, regs *[isa.NumRegisters]Reg) {
	key, isConst := regs[isa.R3].Val.Const()
	m := int(regs[isa.R2].Map)
	s, ok := v.tail[i]
	if !ok {
		v.tail[i] = &TailCallSite{Insn: i, Map: m, Key: key, Direct: isConst}
		return
	}
	if s.Map != m || !isConst || s.Key != key {
		s.Direct = false
	}
}

func (v *verifier) localCall(i, target int) error {
	f := v.subOf[target]
	st := v.cur
	caller := st.cur()
	if v.subs[f].global {
		if err := v.checkGlobalArgs(i, f); err != nil {
			return err
		}
		v.clobberCallerSaved(&caller.regs)
		caller.regs[isa.R0] = Reg{}
		if p, ok := v.subs[f].BTF.Type.(*btf.FuncProto); ok && p.Return != nil {
			if _, void := btf.UnderlyingType(p.Return).(*btf.Void); !void {
				caller.regs[isa.R0] = scalarReg(UnknownScalar())
			}
		}
		st.insn = i + 1
		return nil
	}
	if len(st.frames) >= MaxCallFrames {
		return v.errAt(i, ErrCallDepth, "the call stack of %d frames is too deep", len(st.frames)+1)
	}
	callee := newFrame(i, f, len(st.frames))
	for a := isa.R1; a <= isa.R5; a++ {
		callee.regs[a] = caller.regs[a]
	}
	st.frames = append(st.frames, callee)
	st.insn = target
	return nil
}

// paramKind classifies a BTF parameter of a global function.
type paramKind struct {
	kind RegType // ScalarValue, PtrToCtx or PtrToBufOrNull
	size int64
}

func (v *verifier) globalParams(f int) ([]paramKind, error) {
	fn := v.subs[f].BTF
	proto, ok := fn.Type.(*btf.FuncProto)
	if !ok {
		return nil, errors.New("BTF of the function is not a function prototype")
	}
	if len(proto.Params) > 5 {
		return nil, errors.New("more than 5 parameters")
	}
	var out []paramKind
	for _, p := range proto.Params {
		switch t := btf.UnderlyingType(p.Type).(type) {
		case *btf.Int, *btf.Enum:
			out = append(out, paramKind{kind: ScalarValue})
		case *btf.Pointer:
			target := btf.UnderlyingType(t.Target)
			if s, ok := target.(*btf.Struct); ok && v.pt.Ctx != nil && s.Name == v.pt.Ctx.Name {
				out = append(out, paramKind{kind: PtrToCtx})
				continue
			}
			size, err := btf.Sizeof(target)
			if err != nil || size == 0 {
				return nil, errors.New("parameter " + p.Name + " points to a type of unknown size")
			}
			out = append(out, paramKind{kind: PtrToBufOrNull, size: int64(size)})
		default:
			return nil, errors.New("parameter " + p.Name + " is neither an integer nor a pointer")
		}
	}
	return out, nil
}

// checkGlobalArgs checks a call of global function f against its BTF prototype.
func (v *verifier) checkGlobalArgs(i, f int) error {
	params, err := v.globalParams(f)
	if err != nil {
		return v.errAt(i, ErrFuncSignature, "global function %s: %v", v.subs[f].Name, err)
	}
	for a, p := range params {
		r := isa.Register(a + 1)
		reg, err := v.readReg(i, r)
		if err != nil {
			return err
		}
		switch p.kind {
		case ScalarValue:
			if reg.Type != ScalarValue {
				return v.errAt(i, ErrFuncSignature, "R%d argument of %s must be a scalar, not %s", r, v.subs[f].Name, reg.Type)
			}
		case PtrToCtx:
			if reg.Type != PtrToCtx || reg.Off != 0 {
				return v.errAt(i, ErrFuncSignature, "R%d argument of %s must be the context pointer, not %v", r, v.subs[f].Name, *reg)
			}
		case PtrToBufOrNull:
			if c, ok := reg.Val.Const(); reg.Type == ScalarValue && ok && c == 0 {
				continue // NULL is allowed; the callee null-checks
			}
			if err := v.helperMem(i, r, int(p.size), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// globalEntryState is the state a global function is verified from: only what its BTF
// prototype promises.
func (v *verifier) globalEntryState(f int) (*state, error) {
	params, err := v.globalParams(f)
	if err != nil {
		return nil, v.errAt(v.subs[f].Start, ErrFuncSignature, "global function %s: %v", v.subs[f].Name, err)
	}
	fr := newFrame(-1, f, 0)
	for a, p := range params {
		r := &fr.regs[a+1]
		switch p.kind {
		case ScalarValue:
			*r = scalarReg(UnknownScalar())
		case PtrToCtx:
			*r = ptrReg(PtrToCtx)
		case PtrToBufOrNull:
			*r = Reg{Type: PtrToBufOrNull, Range: p.size, ID: v.newID(), Val: ConstScalar(0)}
		}
	}
	return &state{frames: []*frame{fr}, insn: v.subs[f].Start}, nil
}
