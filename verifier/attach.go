package verifier

import (
	"fmt"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/cilium/ebpf/btf"
)

// AttachKind is how a tracing or extension program attaches to a target function.
type AttachKind uint8

const (
	AttachFentry AttachKind = iota
	AttachFexit
	AttachFmodRet
	AttachFreplace
)

func (k AttachKind) String() string {
	return [...]string{"fentry", "fexit", "fmod_ret", "freplace"}[k]
}

// TargetKind says what kind of program the target itself is.
type TargetKind uint8

const (
	TargetOrdinary  TargetKind = iota // any program that is neither of the below
	TargetTracing                     // an fentry/fexit/fmod_ret program
	TargetExtension                   // an freplace program
)

// AttachTarget is the program a tracing or freplace program attaches to.
type AttachTarget struct {
	Prog *isa.Program
	Kind TargetKind
	// JITed reports that the target runs as native code; trampolines and replacement
	// patch native entry points, so interpreted targets cannot be attached to.
	JITed bool
	// TypeID resolves a function's BTF type to its id in the target's BTF (for example
	// (*btf.Spec).TypeID of the spec the target was loaded with).
	TypeID func(btf.Type) (btf.TypeID, error)
}

// Attachment is what CheckAttach found: the target function and the program type the
// attaching program must be verified as.
type Attachment struct {
	// Subprog is the index of the target function in Prog.Subprograms(); 0 is the main
	// program itself.
	Subprog int
	Func    *btf.Func
	// Type is the program type to verify the attaching program with: for tracing, a
	// context of one u64 per argument (plus the return value for fexit and fmod_ret).
	Type *ProgType
}

// CheckAttach checks that prog may attach as kind to the function btfID of target.
func CheckAttach(kind AttachKind, prog *isa.Program, target *AttachTarget, btfID btf.TypeID) (*Attachment, error) {
	fail := func(format string, args ...any) (*Attachment, error) {
		return nil, &Error{Insn: -1, Err: ErrAttach, Reason: fmt.Sprintf(format, args...)}
	}
	if target == nil || target.Prog == nil {
		return fail("%s needs a target program", kind)
	}
	if target.TypeID == nil {
		return fail("target program has no BTF to resolve id %d against", btfID)
	}
	subs := target.Prog.Subprograms()
	found := -1
	var fn *btf.Func
	for i, s := range subs {
		if s.BTF == nil {
			continue
		}
		id, err := target.TypeID(s.BTF)
		if err != nil || id != btfID {
			continue
		}
		// Subprogram 0 is the main program: a BTF id naming it is as valid as any other.
		found, fn = i, s.BTF
		break
	}
	if found < 0 {
		return fail("BTF id %d does not name a function of the target program", btfID)
	}
	if !target.JITed {
		return fail("target program is not JIT-compiled: %s attaches to native code", kind)
	}
	proto, ok := fn.Type.(*btf.FuncProto)
	if !ok {
		return fail("target function %s has no prototype", fn.Name)
	}
	switch kind {
	case AttachFreplace:
		switch target.Kind {
		case TargetExtension:
			return fail("freplace cannot target a function of another freplace program")
		case TargetTracing:
			return fail("freplace cannot target an fentry/fexit program")
		}
		if prog == nil || len(prog.Insns) == 0 {
			return fail("freplace needs a program")
		}
		var own *btf.Func
		for _, f := range prog.Funcs {
			if f.Start == 0 {
				own = f.BTF
			}
		}
		if own == nil {
			return fail("freplace programs need BTF for their main function")
		}
		if fn.Linkage != btf.GlobalFunc {
			return fail("freplace can only replace global functions; %s is %v", fn.Name, fn.Linkage)
		}
		ownProto, ok := own.Type.(*btf.FuncProto)
		if !ok {
			return fail("the replacement %s has no prototype", own.Name)
		}
		if err := sameProto(ownProto, proto); err != nil {
			return fail("prototype of %s does not match target %s: %v", own.Name, fn.Name, err)
		}
		return &Attachment{Subprog: found, Func: fn}, nil
	default:
		if target.Kind == TargetTracing {
			return fail("%s cannot attach to an fentry/fexit program", kind)
		}
		n := len(proto.Params)
		if kind != AttachFentry {
			n++ // the return value follows the arguments
		}
		if n > 12 {
			return fail("target function %s has too many arguments (%d) for tracing", fn.Name, len(proto.Params))
		}
		return &Attachment{Subprog: found, Func: fn, Type: NewTracingType(n)}, nil
	}
}

// sameProto compares two prototypes parameter by parameter: integers by size, pointers by
// the size (or struct name) they point to.
func sameProto(a, b *btf.FuncProto) error {
	if len(a.Params) != len(b.Params) {
		return fmt.Errorf("%d parameters, target has %d", len(a.Params), len(b.Params))
	}
	for i := range a.Params {
		if ka, kb := protoKind(a.Params[i].Type), protoKind(b.Params[i].Type); ka != kb {
			return fmt.Errorf("parameter %d is %s, target's is %s", i+1, ka, kb)
		}
	}
	if ka, kb := protoKind(a.Return), protoKind(b.Return); ka != kb {
		return fmt.Errorf("returns %s, target returns %s", ka, kb)
	}
	return nil
}

func protoKind(t btf.Type) string {
	if t == nil {
		return "void"
	}
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Void:
		return "void"
	case *btf.Int:
		return fmt.Sprintf("int%d", 8*u.Size)
	case *btf.Enum:
		return fmt.Sprintf("int%d", 8*u.Size)
	case *btf.Pointer:
		switch p := btf.UnderlyingType(u.Target).(type) {
		case *btf.Struct:
			return "struct " + p.Name + " *"
		case *btf.Void:
			return "void *"
		default:
			if n, err := btf.Sizeof(p); err == nil {
				return fmt.Sprintf("pointer to %d bytes", n)
			}
		}
		return "pointer"
	}
	return fmt.Sprintf("%T", t)
}
