package maps

import (
	"bytes"
	"errors"
	"testing"
)

func TestNewRejectsBadSpecs(t *testing.T) {
	for _, c := range []struct {
		name string
		spec Spec
		want error
	}{
		{"zero max_entries", Spec{Type: Hash, KeySize: 4, ValueSize: 4}, ErrInvalidSpec},
		{"zero value size", Spec{Type: Hash, KeySize: 4, MaxEntries: 1}, ErrInvalidSpec},
		{"zero hash key", Spec{Type: Hash, ValueSize: 4, MaxEntries: 1}, ErrInvalidSpec},
		{"huge hash key", Spec{Type: Hash, KeySize: MaxKeySize + 1, ValueSize: 4, MaxEntries: 1}, ErrInvalidSpec},
		{"array key not 4", Spec{Type: Array, KeySize: 8, ValueSize: 4, MaxEntries: 1}, ErrInvalidSpec},
		{"prog_array value not 4", Spec{Type: ProgArray, KeySize: 4, ValueSize: 8, MaxEntries: 1}, ErrInvalidSpec},
		{"unknown flag", Spec{Type: Array, KeySize: 4, ValueSize: 4, MaxEntries: 1, Flags: 1 << 20}, ErrInvalidSpec},
		{"mmapable hash", Spec{Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1, Flags: FlagMmapable}, ErrInvalidSpec},
		{"hash too large", Spec{Type: Hash, KeySize: 8, ValueSize: MaxValueSize, MaxEntries: 1 << 20}, ErrInvalidSpec},
		{"array too large", Spec{Type: Array, KeySize: 4, ValueSize: MaxValueSize, MaxEntries: 1 << 20}, ErrInvalidSpec},
		{"unsupported type", Spec{Type: 27, KeySize: 4, ValueSize: 4, MaxEntries: 1}, ErrNotSupported},
	} {
		m, err := New(c.spec, nil)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if m != nil {
			m.Close()
		}
	}
}

// op is one Go API call and what it must give.
type op struct {
	do    string // "update", "lookup", "delete"
	key   []byte
	value []byte // update: what to store; lookup: what must come back
	flags uint64
	err   error
}

func runOps(t *testing.T, m *Map, ops []op) {
	t.Helper()
	for i, o := range ops {
		var err error
		switch o.do {
		case "update":
			err = m.Update(o.key, o.value, o.flags)
		case "delete":
			err = m.Delete(o.key)
		case "lookup":
			var v []byte
			v, err = m.Lookup(o.key)
			if err == nil && !bytes.Equal(v, o.value) {
				t.Errorf("op %d lookup %x: got %x, want %x", i, o.key, v, o.value)
			}
		}
		if !errors.Is(err, o.err) || (err == nil) != (o.err == nil) {
			t.Errorf("op %d %s %x: got error %v, want %v", i, o.do, o.key, err, o.err)
		}
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Op != o.do) {
			t.Errorf("op %d: error %v is not an *Error naming %q", i, err, o.do)
		}
	}
}

func TestHashSemantics(t *testing.T) {
	for _, typ := range []Type{Hash, LRUHash} {
		t.Run(typ.String(), func(t *testing.T) {
			m := mustNew(t, Spec{Name: "h", Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 2})
			ops := []op{
				{do: "lookup", key: u32(1), err: ErrKeyNotExist},
				{do: "update", key: u32(1), value: u64(10), flags: UpdateExist, err: ErrKeyNotExist},
				{do: "update", key: u32(1), value: u64(10), flags: UpdateNoExist},
				{do: "lookup", key: u32(1), value: u64(10)},
				{do: "update", key: u32(1), value: u64(11), flags: UpdateNoExist, err: ErrKeyExist},
				{do: "update", key: u32(1), value: u64(12), flags: UpdateExist},
				{do: "update", key: u32(1), value: u64(13), flags: UpdateAny},
				{do: "lookup", key: u32(1), value: u64(13)},
				{do: "update", key: u32(2), value: u64(20)},
				{do: "update", key: u32(1), value: u64(14), flags: 4, err: ErrBadFlags},
				{do: "update", key: u64(1), value: u64(1), err: ErrKeySize},
				{do: "update", key: u32(1), value: u32(1), err: ErrValueSize},
				{do: "lookup", key: []byte{1}, err: ErrKeySize},
				{do: "delete", key: []byte{1}, err: ErrKeySize},
				{do: "delete", key: u32(2)},
				{do: "delete", key: u32(2), err: ErrKeyNotExist},
				{do: "lookup", key: u32(2), err: ErrKeyNotExist},
			}
			runOps(t, m, ops)
			if m.Len() != 1 {
				t.Errorf("Len %d, want 1", m.Len())
			}
		})
	}
}

func TestHashIsFullAtMaxEntriesButReplacesStillWork(t *testing.T) {
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 3})
	runOps(t, m, []op{
		{do: "update", key: u32(1), value: u64(1)},
		{do: "update", key: u32(2), value: u64(2)},
		{do: "update", key: u32(3), value: u64(3)},
		{do: "update", key: u32(4), value: u64(4), err: ErrFull},
		{do: "update", key: u32(3), value: u64(33)},
		{do: "delete", key: u32(1)},
		{do: "update", key: u32(4), value: u64(4)},
		{do: "lookup", key: u32(4), value: u64(4)},
		{do: "lookup", key: u32(3), value: u64(33)},
	})
}

func TestLRUEvictsTheLeastRecentlyUsed(t *testing.T) {
	m := mustNew(t, Spec{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 3})
	for k := uint32(1); k <= 3; k++ {
		if err := m.Update(u32(k), u64(uint64(k)), UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	// 1 is used, so 2 is the least recently used and goes first, then 3.
	if _, err := m.Lookup(u32(1)); err != nil {
		t.Fatal(err)
	}
	runOps(t, m, []op{
		{do: "update", key: u32(4), value: u64(4)},
		{do: "lookup", key: u32(2), err: ErrKeyNotExist},
		{do: "lookup", key: u32(1), value: u64(1)},
		{do: "lookup", key: u32(3), value: u64(3)},
		{do: "lookup", key: u32(4), value: u64(4)},
	})
	if m.Len() != 3 {
		t.Errorf("Len %d after eviction, want 3", m.Len())
	}
	// 1, 3 and 4 were all just looked up: the clock clears each bit once, in list
	// order (3, 1, 4), and then evicts the oldest of them, 3.
	runOps(t, m, []op{
		{do: "update", key: u32(5), value: u64(5)},
		{do: "lookup", key: u32(3), err: ErrKeyNotExist},
		{do: "lookup", key: u32(1), value: u64(1)},
		{do: "lookup", key: u32(4), value: u64(4)},
		{do: "lookup", key: u32(5), value: u64(5)},
	})
	if m.Len() != 3 {
		t.Errorf("Len %d, want 3", m.Len())
	}
}

func TestArraySemantics(t *testing.T) {
	m := mustNew(t, Spec{Name: "a", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 4})
	runOps(t, m, []op{
		{do: "lookup", key: u32(3), value: u64(0)},
		{do: "lookup", key: u32(4), err: ErrKeyNotExist},
		{do: "update", key: u32(3), value: u64(7)},
		{do: "update", key: u32(3), value: u64(8), flags: UpdateExist},
		{do: "update", key: u32(3), value: u64(9), flags: UpdateNoExist, err: ErrKeyExist},
		{do: "update", key: u32(4), value: u64(9), err: ErrOutOfRange},
		{do: "lookup", key: u32(3), value: u64(8)},
		{do: "delete", key: u32(3), err: ErrNotSupported},
		{do: "update", key: u32(1), value: u64(1), flags: 3, err: ErrBadFlags},
	})
}

func TestFrozenAndReadOnlyMapsRefuseGoWrites(t *testing.T) {
	m := mustNew(t, Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	m.Freeze()
	runOps(t, m, []op{
		{do: "update", key: u32(0), value: u64(1), err: ErrReadOnly},
		{do: "lookup", key: u32(0), value: u64(0)},
	})
	ro := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonly})
	runOps(t, ro, []op{{do: "update", key: u32(0), value: u64(1), err: ErrReadOnly}})
}

func TestIterationVisitsEveryKeyOnce(t *testing.T) {
	for _, typ := range []Type{Hash, LRUHash, Array} {
		t.Run(typ.String(), func(t *testing.T) {
			m := mustNew(t, Spec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 100})
			want := map[uint32]uint64{}
			for k := uint32(0); k < 100; k += 1 + k%3 {
				want[k] = uint64(k) * 3
				if err := m.Update(u32(k), u64(uint64(k)*3), UpdateAny); err != nil {
					t.Fatal(err)
				}
			}
			if typ == Array { // every index exists
				for k := uint32(0); k < 100; k++ {
					if _, ok := want[k]; !ok {
						want[k] = 0
					}
				}
			}
			got := map[uint32]uint64{}
			var order [][]byte
			for k, v := range m.All() {
				kk := leU32(k)
				if _, dup := got[kk]; dup {
					t.Fatalf("key %d seen twice", kk)
				}
				got[kk] = leU64(v)
				order = append(order, k)
			}
			if len(got) != len(want) {
				t.Fatalf("iterated %d keys, want %d", len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("key %d: %d, want %d", k, got[k], v)
				}
			}
			// NextKey of nil and of a key not in the map both restart.
			first, err := m.NextKey(nil)
			if err != nil || !bytes.Equal(first, order[0]) {
				t.Errorf("NextKey(nil) = %x, %v; want %x", first, err, order[0])
			}
			if typ != Array {
				if k, err := m.NextKey(u32(1000)); err != nil || !bytes.Equal(k, order[0]) {
					t.Errorf("NextKey(absent) = %x, %v; want %x", k, err, order[0])
				}
			}
			if _, err := m.NextKey(order[len(order)-1]); !errors.Is(err, ErrKeyNotExist) {
				t.Errorf("NextKey(last) error %v, want ErrKeyNotExist", err)
			}
			if _, err := m.NextKey([]byte{1}); !errors.Is(err, ErrKeySize) {
				t.Errorf("NextKey(short key) error %v", err)
			}
			// Stopping early is allowed.
			n := 0
			for range m.All() {
				n++
				if n == 3 {
					break
				}
			}
			if n != 3 {
				t.Errorf("early break ran %d", n)
			}
		})
	}
}

func TestOperationsOnAClosedMapFail(t *testing.T) {
	m, err := New(Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1}, &Options{Grace: Immediate})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	runOps(t, m, []op{
		{do: "update", key: u32(0), value: u64(1), err: ErrClosed},
		{do: "lookup", key: u32(0), err: ErrClosed},
		{do: "delete", key: u32(0), err: ErrClosed},
	})
	if err := m.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func leU32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func leU64(b []byte) uint64 { return uint64(leU32(b)) | uint64(leU32(b[4:]))<<32 }
