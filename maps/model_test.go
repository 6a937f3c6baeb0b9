package maps

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestHashAgreesWithAModel runs random operations against a hash map (through the Go API
// and the raw helpers alternately) and against a Go map with the kernel's rules, and
// compares every result and, at the end, the whole contents.
func TestHashAgreesWithAModel(t *testing.T) {
	const max = 16
	m := mustNew(t, Spec{Type: Hash, KeySize: 2, ValueSize: 3, MaxEntries: max}, Options{Grace: Immediate, Poison: true})
	model := map[string][]byte{}
	rng := rand.New(rand.NewPCG(1, 2))
	s := newScratch(t)
	for i := range 20000 {
		key := []byte{byte(rng.IntN(24)), 0}
		val := []byte{byte(i), byte(i >> 8), byte(i >> 16)}
		flags := uint64(rng.IntN(3))
		viaHelper := i%2 == 1
		old, exists := model[string(key)]
		switch rng.IntN(3) {
		case 0: // update
			var want error
			switch {
			case exists && flags == UpdateNoExist:
				want = ErrKeyExist
			case !exists && flags == UpdateExist:
				want = ErrKeyNotExist
			case !exists && len(model) >= max:
				want = ErrFull
			}
			var errno int64
			if viaHelper {
				errno = int64(MapUpdateElem(m.Handle(), s.put(0, key), s.put(8, val), flags, 0))
			} else {
				errno = Errno(m.Update(key, val, flags))
			}
			if errno != Errno(want) {
				t.Fatalf("op %d: update %x flags %d: errno %d, want %d (%v)", i, key, flags, errno, Errno(want), want)
			}
			if want == nil {
				model[string(key)] = val
			}
		case 1: // delete
			var errno int64
			if viaHelper {
				errno = int64(MapDeleteElem(m.Handle(), s.put(0, key), 0, 0, 0))
			} else {
				errno = Errno(m.Delete(key))
			}
			want := int64(0)
			if !exists {
				want = -2
			}
			if errno != want {
				t.Fatalf("op %d: delete %x: errno %d, want %d", i, key, errno, want)
			}
			delete(model, string(key))
		case 2: // lookup
			var got []byte
			if viaHelper {
				if p := MapLookupElem(m.Handle(), s.put(0, key), 0, 0, 0); p != 0 {
					got = bytes.Clone(raw(uintptr(p), 3))
				}
			} else {
				v, err := m.Lookup(key)
				if err != nil && !errors.Is(err, ErrKeyNotExist) {
					t.Fatal(err)
				}
				got = v
			}
			if !bytes.Equal(got, old) {
				t.Fatalf("op %d: lookup %x: %x, want %x", i, key, got, old)
			}
		}
	}
	if m.Len() != len(model) {
		t.Fatalf("Len %d, model %d", m.Len(), len(model))
	}
	n := 0
	for k, v := range m.All() {
		n++
		if !bytes.Equal(model[string(k)], v) {
			t.Errorf("key %x: %x, model %x", k, v, model[string(k)])
		}
	}
	if n != len(model) {
		t.Errorf("iterated %d keys, model has %d", n, len(model))
	}
}

// TestLRUKeepsRecentKeys: under random use an LRU map never exceeds max_entries, never
// fails an update for lack of room, and always keeps the key it just inserted and
// the key looked up just before.
func TestLRUKeepsRecentKeys(t *testing.T) {
	const max = 8
	m := mustNew(t, Spec{Type: LRUHash, KeySize: 4, ValueSize: 8, MaxEntries: max}, Options{Grace: Immediate, Poison: true})
	rng := rand.New(rand.NewPCG(3, 4))
	var hot []byte
	for i := range 5000 {
		k := u32(uint32(rng.IntN(64)))
		if err := m.Update(k, u64(uint64(i)), UpdateAny); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		if hot != nil && !bytes.Equal(hot, k) {
			if _, err := m.Lookup(hot); err != nil {
				t.Fatalf("op %d: key %x looked up just before the insert was evicted", i, hot)
			}
		}
		if v, err := m.Lookup(k); err != nil || leU64(v) != uint64(i) {
			t.Fatalf("op %d: inserted key %x: %x, %v", i, k, v, err)
		}
		hot = k
		if n := m.Len(); n > max {
			t.Fatalf("op %d: %d elements", i, n)
		}
	}
	if m.Len() != max {
		t.Errorf("Len %d, want %d", m.Len(), max)
	}
}
