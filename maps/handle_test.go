package maps

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

func TestHeaderOffsetsArePinned(t *testing.T) {
	var h Header
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"Base", unsafe.Offsetof(h.Base), HeaderBaseOffset},
		{"MaxEntries", unsafe.Offsetof(h.MaxEntries), HeaderMaxEntriesOffset},
		{"Stride", unsafe.Offsetof(h.Stride), HeaderStrideOffset},
		{"StrideLog2", unsafe.Offsetof(h.StrideLog2), HeaderStrideLog2Offset},
		{"Type", unsafe.Offsetof(h.Type), HeaderTypeOffset},
		{"KeySize", unsafe.Offsetof(h.KeySize), HeaderKeySizeOffset},
		{"ValueSize", unsafe.Offsetof(h.ValueSize), HeaderValueSizeOffset},
		{"ID", unsafe.Offsetof(h.ID), HeaderIDOffset},
		{"Flags", unsafe.Offsetof(h.Flags), HeaderFlagsOffset},
		{"Magic", unsafe.Offsetof(h.Magic), HeaderMagicOffset},
		{"size", unsafe.Sizeof(h), HeaderSize},
	} {
		if c.got != c.want {
			t.Errorf("%s: offset %d, constant says %d", c.name, c.got, c.want)
		}
	}
}

// readHeader reads the header the way generated code does: through the handle value.
func readHeader(handle uint64) Header { return *(*Header)(ptr(uintptr(handle))) }

func TestArrayHandleSupportsInlineLookup(t *testing.T) {
	for _, c := range []struct {
		valueSize, wantStride, wantLog2 uint32
	}{
		{1, 8, 3},
		{8, 8, 3},
		{12, 16, 4},
		{24, 24, NoLog2},
		{64, 64, 6},
	} {
		m := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: c.valueSize, MaxEntries: 5})
		h := readHeader(m.Handle())
		if h.Stride != c.wantStride || h.StrideLog2 != c.wantLog2 || h.MaxEntries != 5 ||
			h.Type != uint32(Array) || h.ID != m.ID() || h.Magic != HeaderMagic ||
			h.KeySize != 4 || h.ValueSize != c.valueSize {
			t.Errorf("value size %d: header %+v", c.valueSize, h)
		}
		for idx := uint32(0); idx < 7; idx++ {
			// The JIT's inline sequence.
			var inline uint64
			if idx < h.MaxEntries {
				inline = h.Base + uint64(idx)*uint64(h.Stride)
			}
			key := binary.LittleEndian.AppendUint32(nil, idx)
			if got := lookupWithKey(m, key); got != inline {
				t.Errorf("value size %d, index %d: helper gives %#x, inline formula %#x", c.valueSize, idx, got, inline)
			}
		}
	}
}

func TestFromHandleRejectsWhatIsNotALiveHandle(t *testing.T) {
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if FromHandle(m.Handle()) != m {
		t.Fatal("live handle not resolved")
	}
	var local uint64
	for _, h := range []uint64{0, 1, m.Handle() + 8, m.Handle() + 64, uint64(uintptr(unsafe.Pointer(&local)))} {
		if got := FromHandle(h); got != nil && h != m.Handle() {
			t.Errorf("FromHandle(%#x) = %v", h, got.Spec())
		}
	}
	handle := m.Handle()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if FromHandle(handle) != nil {
		t.Error("closed map's handle still resolves")
	}
	if FromID(m.ID()) != nil {
		t.Error("closed map's ID still resolves")
	}
}
