package maps

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func reclaimed(m *Map) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.impl.(*hashMap).reused
}

func isPoison(b []byte) bool {
	for _, c := range b {
		if c != PoisonByte {
			return false
		}
	}
	return true
}

// TestDeletedValueStaysValidUntilReadersLeave pins the grace period: an element deleted
// while a reader holds its pointer keeps its bytes until the reader exits, and is
// poisoned once reclaimed (which is what makes the stress test below able to fail).
func TestDeletedValueStaysValidUntilReadersLeave(t *testing.T) {
	rs := new(Readers)
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 4}, Options{Grace: rs, Poison: true})
	if err := m.Update(u32(1), u64(77), UpdateAny); err != nil {
		t.Fatal(err)
	}
	r := rs.NewReader()
	defer r.Release()
	s := newScratch(t)
	r.Enter()
	p := MapLookupElem(m.Handle(), s.put(0, u32(1)), 0, 0, 0)
	if p == 0 {
		t.Fatal("lookup NULL")
	}
	val := raw(uintptr(p), 8)
	if err := m.Delete(u32(1)); err != nil {
		t.Fatal(err)
	}
	// Churn the map so that the deleted slot is due for reclamation many times over.
	for i := range 200 {
		k := u32(uint32(2 + i%3))
		if err := m.Update(k, u64(uint64(i)), UpdateAny); err != nil {
			t.Fatal(err)
		}
		if leU64(val) != 77 {
			t.Fatalf("after %d updates the deleted value reads %x while its reader is inside", i, val)
		}
	}
	r.Exit()
	m.Synchronize()
	if !isPoison(val) {
		t.Errorf("deleted value after the grace period: %x, want poison", val)
	}
}

// TestReclamationStress: readers hold value pointers inside read-side sections while
// writers replace and delete the same keys. Every value ever written is
// self-consistent and never the poison pattern, and a reader re-reads its value many
// times: it must never change (updates replace elements, they never write in place)
// and never turn to poison.
func TestReclamationStress(t *testing.T) {
	const (
		keys      = 8
		valWords  = 8
		readers   = 4
		writers   = 2
		writerOps = 20000
		minReads  = 500
	)
	rs := new(Readers)
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8 * valWords, MaxEntries: keys},
		Options{Grace: rs, Poison: true})
	encode := func(gen uint64) []byte {
		b := make([]byte, 8*valWords)
		for w := range valWords {
			binary.LittleEndian.PutUint64(b[8*w:], gen*uint64(w+1)^0x5a5a5a5a5a5a5a5a)
		}
		return b
	}
	check := func(b []byte) (gen uint64, ok bool) {
		gen = binary.LittleEndian.Uint64(b) ^ 0x5a5a5a5a5a5a5a5a
		for w := range valWords {
			if binary.LittleEndian.Uint64(b[8*w:]) != gen*uint64(w+1)^0x5a5a5a5a5a5a5a5a {
				return gen, false
			}
		}
		return gen, true
	}

	var stop atomic.Bool
	var seen, bad, updates atomic.Int64
	var wg sync.WaitGroup
	for g := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rs.NewReader()
			defer r.Release()
			s, err := newSlab(4096)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.free()
			for i := 0; !stop.Load(); i++ {
				key := uint64(s.addr())
				binary.LittleEndian.PutUint32(s.mem, uint32((i+g)%keys))
				r.Enter()
				if p := MapLookupElem(m.Handle(), key, 0, 0, 0); p != 0 {
					v := raw(uintptr(p), 8*valWords)
					gen0, ok := check(v)
					for j := 0; ok && j < 20; j++ {
						if j%10 == 0 {
							runtime.Gosched() // let writers retire and reclaim meanwhile
						}
						gen, ok2 := check(v)
						ok = ok2 && gen == gen0
					}
					if !ok {
						bad.Add(1)
						if isPoison(v) {
							t.Errorf("reader saw poison: use after reclaim")
						} else {
							t.Errorf("reader saw a changing or torn value %x", v)
						}
					}
					seen.Add(1)
				}
				r.Exit()
			}
		}()
	}
	var wwg sync.WaitGroup
	for w := range writers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			// Run at least writerOps operations, and on until the readers have checked
			// enough values (on a busy machine they may start late), within a bound.
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; i < writerOps || (seen.Load() < minReads && time.Now().Before(deadline)); i++ {
				k := u32(uint32((i * 7) % keys))
				var err error
				if i%5 == 4 {
					err = m.Delete(k)
					if err != nil && !errorsIsNotExist(err) {
						t.Error(err)
					}
					continue
				}
				err = m.Update(k, encode(uint64(w*writerOps+i+1)), UpdateAny)
				if err == nil {
					updates.Add(1)
				} else if !errorsIsNoMemory(err) {
					t.Error(err)
				}
			}
		}()
	}
	wwg.Wait()
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d bad reads", bad.Load())
	}
	if seen.Load() < minReads {
		t.Fatalf("readers checked only %d values", seen.Load())
	}
	m.Synchronize()
	// Every successful update takes a slot; more of them than there are slots means
	// slots were reclaimed and reused while readers ran.
	if n := updates.Load(); n <= int64(m.impl.(*hashMap).capacity) || reclaimed(m) == 0 {
		t.Errorf("%d updates, %d slots reclaimed: the test did not exercise reuse", n, reclaimed(m))
	}
	t.Logf("%d reads checked, %d slots reclaimed and reused", seen.Load(), reclaimed(m))
}
