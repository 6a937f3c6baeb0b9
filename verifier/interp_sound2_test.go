package verifier

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"testing"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
)

// item is one step of a generated program; a jump or call names the item it goes to.
type item struct {
	insns  []isa.Instruction
	jumpTo int  // index of the target item, or -1
	call   bool // insns[0] is a local call to the subprogram
}

type soundMaps struct{}

func (soundMaps) MapHandle(interp.MapRef) (uint64, error) { return 0x4000, nil }
func (soundMaps) MapValue(interp.MapRef) ([]byte, bool, error) {
	return nil, false, errors.New("no direct value access here")
}

// genCallsAndMaps builds programs with map lookups (null-checked or not), spills and fills
// of the memory pointer across calls, atomics, and a static subprogram.
func genCallsAndMaps(rng *rand.Rand, n int) []isa.Instruction {
	regs := []r{r3, r4, r5, r6, r7, r8, r9}
	reg := func() r { return regs[rng.Intn(len(regs))] }
	sizes := []int{1, 2, 4, 8}
	var items []item
	put := func(in ...isa.Instruction) { items = append(items, item{insns: in, jumpTo: -1}) }
	// Prologue: scratch registers, stack, and the memory pointer spilled at fp-48.
	for _, x := range regs {
		put(mov(x, int32(rng.Intn(16))))
	}
	for k := int16(1); k <= 5; k++ {
		put(st(8, fp, -8*k, 0))
	}
	put(stx(8, fp, -48, r1), mov(r0, 0))
	reload := ldx(8, r1, fp, -48)
	for len(items) < n {
		switch rng.Intn(10) {
		case 0, 1:
			// Lookup; the result goes to r6 or r7 so it survives later calls.
			dst := []r{r6, r7}[rng.Intn(2)]
			lk := prog(st(4, fp, -52, int32(rng.Intn(4))), movr(r2, fp), add(r2, -52), ldmap(r1, 0), call(HelperMapLookupElem), movr(dst, r0), reload)
			items = append(items, item{insns: lk, jumpTo: -1})
			if rng.Intn(3) != 0 {
				items = append(items, item{insns: []isa.Instruction{jmp(isa.JumpEQ, dst, 0, 0)}, jumpTo: len(items) + 1 + rng.Intn(4)})
			}
			put(ldx(sizes[rng.Intn(4)], reg(), dst, int16(rng.Intn(20)-2)))
		case 2:
			put(ldx(sizes[rng.Intn(4)], reg(), r1, int16(rng.Intn(20)-2)))
		case 3:
			k, p := reg(), reg()
			put(and(k, int32(rng.Intn(16))), movr(p, r6), addr(p, k), ldx(sizes[rng.Intn(4)], reg(), p, 0))
		case 4:
			items = append(items, item{insns: []isa.Instruction{jmp([]isa.JumpOp{isa.JumpEQ, isa.JumpGT, isa.JumpSLT, isa.JumpSET}[rng.Intn(4)], reg(), int32(rng.Intn(8)), 0)}, jumpTo: len(items) + 1 + rng.Intn(4)})
		case 5:
			put(atomic([]int{4, 8}[rng.Intn(2)], []isa.AtomicOp{isa.AtomicAdd, isa.AtomicAdd | isa.AtomicFetch, isa.AtomicXchg}[rng.Intn(3)], []r{fp, r1, r6}[rng.Intn(3)], int16(-8*rng.Intn(3)), reg()))
		case 6:
			// A call to the subprogram, which reads through r1 at an offset from r2.
			items = append(items, item{insns: []isa.Instruction{mov(r2, int32(rng.Intn(12))), callLocal(0), reload}, jumpTo: -1, call: true})
		case 7:
			put(stx(8, fp, int16(-8*(1+rng.Intn(5))), []r{r1, r6, reg()}[rng.Intn(3)]))
		case 8:
			put(ldx(8, []r{r6, r7}[rng.Intn(2)], fp, int16(-8*(1+rng.Intn(5)))))
		case 9:
			put(aluImm(isa.ClassALU64, []isa.ALUOp{isa.ALUAdd, isa.ALUAnd, isa.ALURsh, isa.ALUMul}[rng.Intn(4)], reg(), int32(rng.Intn(16))))
		}
	}
	put(movr(r0, reg()), exit())
	last := len(items) - 1
	// Layout: slot of each item, then the subprogram after the main function.
	start := make([]int, len(items)+1)
	for i, it := range items {
		start[i+1] = start[i] + len(it.insns)
	}
	sub := start[len(items)]
	called := false
	var out []isa.Instruction
	for i, it := range items {
		ins := append([]isa.Instruction(nil), it.insns...)
		if it.jumpTo >= 0 {
			ins[0].Off = int16(start[min(it.jumpTo, last)] - start[i] - 1)
		}
		if it.call {
			called = true
			ins[1].Imm = int32(sub - (start[i] + 1) - 1)
		}
		out = append(out, ins...)
	}
	if !called {
		return out
	}
	// The subprogram: r0 = *(size *)(r1 + r2 + off); exit.
	return append(out, addr(r1, r2), ldx(sizes[rng.Intn(4)], r0, r1, int16(rng.Intn(8))), exit())
}

// TestAcceptedProgramsWithCallsAndMapsStayInBounds is the interpreter soundness check for
// map values, null checks, pointer spills across calls, atomics and static calls.
func TestAcceptedProgramsWithCallsAndMapsStayInBounds(t *testing.T) {
	seed, n := int64(5), 20000
	if testing.Short() {
		n = 2000
	}
	if s := os.Getenv("VERIFIER_SOUND"); s != "" {
		if _, err := fmt.Sscanf(s, "%d,%d", &seed, &n); err != nil {
			t.Fatalf("VERIFIER_SOUND=%q: %v", s, err)
		}
	}
	rng := rand.New(rand.NewSource(seed))
	maps := []MapInfo{{Type: MapTypeHash, KeySize: 4, ValueSize: 16, MaxEntries: 4}}
	accepted := 0
	for iter := 0; iter < n; iter++ {
		insns := genCallsAndMaps(rng, 6+rng.Intn(16))
		minMem := []int{0, 8, 16, 24}[rng.Intn(4)]
		p := &isa.Program{Insns: insns, Maps: []isa.MapRef{{Type: MapTypeHash, KeySize: 4, ValueSize: 16, MaxEntries: 4}}}
		if _, err := Check(p, Options{MinMem: minMem, Maps: maps}); err != nil {
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %T: %v", err, err)
			}
			continue
		}
		accepted++
		ip, err := interp.New(p, &interp.Options{Maps: soundMaps{}})
		if err != nil {
			t.Fatalf("interp.New: %v\n%s", err, disasmAll(insns))
		}
		for k := 0; k < 6; k++ {
			mem := make([]byte, minMem+rng.Intn(3)*rng.Intn(8))
			for j := range mem {
				mem[j] = byte(rng.Intn(256))
			}
			present := rng.Intn(2) == 0
			helpers := interp.HelperTable{HelperMapLookupElem: func(m *interp.Memory, a [5]uint64) (uint64, error) {
				if !present {
					return 0, nil
				}
				return m.Register(make([]byte, 16), false), nil
			}}
			if _, err := ip.Run(&interp.Env{Context: mem, Helpers: helpers}); err != nil {
				t.Fatalf("accepted program failed at run time on %d bytes: %v\n%s", len(mem), err, disasmAll(insns))
			}
		}
	}
	t.Logf("%d of %d random programs accepted, all ran in bounds", accepted, n)
	if accepted < n/50 {
		t.Errorf("only %d accepted: the generator no longer exercises the interesting cases", accepted)
	}
}
