package verifier

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/cilium/ebpf/btf"
)

// attachFixture is a target program with three functions: the main program (BTF id 10), a
// global function g (id 11) taking an int, and a static function s (id 12).
func attachFixture() (*isa.Program, func(btf.Type) (btf.TypeID, error)) {
	mainFn := &btf.Func{Name: "main", Linkage: btf.GlobalFunc, Type: &btf.FuncProto{Return: intT(), Params: []btf.FuncParam{{Name: "ctx", Type: &btf.Pointer{Target: &btf.Struct{Name: "xdp_md", Size: 24}}}}}}
	g := globalFn(0, "g", intT()).BTF
	s := &btf.Func{Name: "s", Linkage: btf.StaticFunc, Type: &btf.FuncProto{Return: intT(), Params: []btf.FuncParam{{Name: "x", Type: intT()}}}}
	p := &isa.Program{
		Insns: prog(to(callLocal(0), "g"), to(callLocal(0), "s"), exit(), label("g"), movr(r0, r1), exit(), label("s"), movr(r0, r1), exit()),
		Funcs: []isa.FuncInfo{{Start: 0, Name: "main", BTF: mainFn}, {Start: 3, Name: "g", BTF: g}, {Start: 5, Name: "s", BTF: s}},
	}
	ids := map[btf.Type]btf.TypeID{mainFn: 10, g: 11, s: 12}
	return p, func(t btf.Type) (btf.TypeID, error) {
		if id, ok := ids[t]; ok {
			return id, nil
		}
		return 0, errors.New("not in this BTF")
	}
}

// replacement is an freplace program whose main function has prototype int(int).
func replacement(params ...btf.Type) *isa.Program {
	var ps []btf.FuncParam
	for _, p := range params {
		ps = append(ps, btf.FuncParam{Name: "x", Type: p})
	}
	return &isa.Program{Insns: ret0, Funcs: []isa.FuncInfo{{Start: 0, Name: "r", BTF: &btf.Func{Name: "r", Linkage: btf.GlobalFunc, Type: &btf.FuncProto{Return: intT(), Params: ps}}}}}
}

func TestCheckAttach(t *testing.T) {
	target, typeID := attachFixture()
	tracer := &isa.Program{Insns: ret0}
	tests := []struct {
		name    string
		kind    AttachKind
		prog    *isa.Program
		tkind   TargetKind
		jited   bool
		id      btf.TypeID
		wantSub int
		wantArg int // context size in u64 for tracing
		err     string
	}{
		{name: "fentry on the main program (subprogram 0)", kind: AttachFentry, prog: tracer, jited: true, id: 10, wantSub: 0, wantArg: 1},
		{name: "fentry on a static subprogram", kind: AttachFentry, prog: tracer, jited: true, id: 12, wantSub: 2, wantArg: 1},
		{name: "fexit sees the return value too", kind: AttachFexit, prog: tracer, jited: true, id: 11, wantSub: 1, wantArg: 2},
		{name: "unknown BTF id", kind: AttachFentry, prog: tracer, jited: true, id: 99, err: "does not name a function"},
		{name: "target not JIT-compiled", kind: AttachFentry, prog: tracer, jited: false, id: 10, err: "not JIT-compiled"},
		{name: "fentry on an fentry program", kind: AttachFentry, prog: tracer, tkind: TargetTracing, jited: true, id: 10, err: "cannot attach to an fentry/fexit program"},
		{name: "freplace of a global function", kind: AttachFreplace, prog: replacement(intT()), jited: true, id: 11, wantSub: 1},
		{name: "freplace of the main program", kind: AttachFreplace, prog: replacement(&btf.Pointer{Target: &btf.Struct{Name: "xdp_md"}}), jited: true, id: 10, wantSub: 0},
		{name: "freplace of a static function", kind: AttachFreplace, prog: replacement(intT()), jited: true, id: 12, err: "only replace global functions"},
		{name: "freplace without BTF", kind: AttachFreplace, prog: tracer, jited: true, id: 11, err: "need BTF"},
		{name: "freplace with another prototype", kind: AttachFreplace, prog: replacement(intT(), intT()), jited: true, id: 11, err: "does not match"},
		{name: "freplace with a pointer for an int", kind: AttachFreplace, prog: replacement(&btf.Pointer{Target: intT()}), jited: true, id: 11, err: "parameter 1"},
		{name: "freplace of an freplace program", kind: AttachFreplace, prog: replacement(intT()), tkind: TargetExtension, jited: true, id: 11, err: "another freplace program"},
		{name: "freplace of an fentry program", kind: AttachFreplace, prog: replacement(intT()), tkind: TargetTracing, jited: true, id: 11, err: "fentry/fexit program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := CheckAttach(tt.kind, tt.prog, &AttachTarget{Prog: target, Kind: tt.tkind, JITed: tt.jited, TypeID: typeID}, tt.id)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrAttach) {
					t.Fatalf("err = %v, want ErrAttach containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Subprog != tt.wantSub {
				t.Errorf("Subprog = %d, want %d", a.Subprog, tt.wantSub)
			}
			if tt.kind == AttachFreplace {
				if _, err := Check(tt.prog, Options{Type: XDPType, EntryFromBTF: true}); err != nil {
					t.Errorf("the replacement does not verify from its prototype: %v", err)
				}
			}
			if tt.kind != AttachFreplace {
				if a.Type == nil || a.Type.Ctx.Size != 8*tt.wantArg {
					t.Errorf("tracing context = %+v, want %d arguments", a.Type, tt.wantArg)
				}
				if _, err := Check(tt.prog, Options{Type: a.Type}); err != nil {
					t.Errorf("the tracer does not verify under the attach type: %v", err)
				}
			}
		})
	}
}

// An freplace program is verified from its own prototype, which CheckAttach matched
// against the target's: an int argument cannot be dereferenced.
func TestFreplaceVerifiedFromPrototype(t *testing.T) {
	p := replacement(intT())
	p.Insns = prog(ldx(8, r0, r1, 0), exit())
	_, err := Check(p, Options{Type: XDPType, EntryFromBTF: true})
	if err == nil || !strings.Contains(err.Error(), "scalar, not a pointer") {
		t.Fatalf("err = %v, want the int argument to be a scalar", err)
	}
	p.Insns = prog(movr(r0, r1), exit())
	if _, err := Check(p, Options{Type: XDPType, EntryFromBTF: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(&isa.Program{Insns: ret0}, Options{EntryFromBTF: true}); err == nil {
		t.Fatal("EntryFromBTF without BTF accepted")
	}
}
