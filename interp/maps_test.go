package interp_test

import (
	"errors"
	"testing"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
)

// maps is a MapResolver with one array map (fd 3, index 0) whose value is value.
type maps struct {
	value    []byte
	readOnly bool
}

func (m *maps) MapHandle(ref interp.MapRef) (uint64, error) {
	if ref.Ref != 3 && !(ref.ByIndex && ref.Ref == 0) {
		return 0, errors.New("no such map")
	}
	return 0xabc, nil
}

func (m *maps) MapValue(ref interp.MapRef) ([]byte, bool, error) {
	if _, err := m.MapHandle(ref); err != nil {
		return nil, false, err
	}
	return m.value, m.readOnly, nil
}

func TestLddwPseudoSources(t *testing.T) {
	newProg := func(m *maps, insns ...any) (*interp.Program, error) {
		return interp.New(&isa.Program{Insns: build(insns...)}, &interp.Options{Maps: m})
	}
	t.Run("map by fd and by index load the resolver's handle", func(t *testing.T) {
		for _, src := range []isa.Register{isa.PseudoMapFD, isa.PseudoMapIdx} {
			ref := int32(3)
			if src == isa.PseudoMapIdx {
				ref = 0
			}
			p, err := newProg(&maps{}, ldPseudo(r0, src, uint64(ref)), exit)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := p.Run(nil); err != nil || res.R0 != 0xabc {
				t.Errorf("src %d: got %+v, %v", src, res, err)
			}
		}
	})
	t.Run("map value is addressable memory at the given offset", func(t *testing.T) {
		m := &maps{value: make([]byte, 16)}
		for _, src := range []isa.Register{isa.PseudoMapValue, isa.PseudoMapIdxValue} {
			ref := uint64(3)
			if src == isa.PseudoMapIdxValue {
				ref = 0
			}
			p, err := newProg(m, ldPseudo(r1, src, 8<<32|ref), st(isa.SizeDW, r1, 0, 0x77),
				ldx(isa.SizeDW, r0, r1, 0), exit)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := p.Run(nil); err != nil || res.R0 != 0x77 || m.value[8] != 0x77 {
				t.Errorf("src %d: got %+v, %v, value %x", src, res, err, m.value)
			}
		}
	})
	t.Run("a read-only map value rejects stores", func(t *testing.T) {
		p, err := newProg(&maps{value: make([]byte, 8), readOnly: true}, ldPseudo(r1, isa.PseudoMapValue, 3),
			st(isa.SizeB, r1, 0, 1), exit)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Run(nil)
		if !errors.Is(err, interp.ErrReadOnly) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown map and offset outside the value fail in New", func(t *testing.T) {
		if _, err := newProg(&maps{}, ldPseudo(r1, isa.PseudoMapFD, 4), exit); !errors.Is(err, interp.ErrUnresolved) {
			t.Errorf("unknown map: got %v", err)
		}
		if _, err := newProg(&maps{value: make([]byte, 8)}, ldPseudo(r1, isa.PseudoMapValue, 8<<32|3), exit); !errors.Is(err, interp.ErrUnresolved) {
			t.Errorf("offset 8 in an 8-byte value: got %v", err)
		}
	})
	t.Run("function address identifies the callback's slot", func(t *testing.T) {
		p, err := newProg(nil, ldPseudo(r0, isa.PseudoFunc, 2), exit, mov(r0, 0), exit)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Run(nil)
		if slot, ok := interp.FuncSlot(res.R0); err != nil || !ok || slot != 3 {
			t.Fatalf("got %#x (slot %d, %v), %v; want the address of slot 3", res.R0, slot, ok, err)
		}
	})
}

func TestHelperRegisteredRegionIsAccessible(t *testing.T) {
	buf := []byte{1, 2, 3, 4}
	h := interp.HelperTable{1: func(m *interp.Memory, _ [5]uint64) (uint64, error) { return m.Register(buf, false), nil }}
	prog := build(call(1), ldx(isa.SizeW, r1, r0, 0), st(isa.SizeB, r0, 0, 9), movX(r0, r1), exit)
	if got := runR0(t, prog, &interp.Env{Helpers: h}); got != 0x04030201 || buf[0] != 9 {
		t.Fatalf("r0 = %#x, buf %v", got, buf)
	}
}
