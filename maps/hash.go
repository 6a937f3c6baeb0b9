package maps

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
)

// hashMap is a chained hash table in the style of the kernel's RCU hash lists. Element
// slots (1-based; 0 is nil) hold key and value in one mmap'd slab. Programs look up
// without locks: bucket heads and next links are atomics, an update of an existing key
// links a fresh element in place of the old one (a reader sees the old value or the new
// one, never a mix), and an unlinked element keeps its next link and its memory until a
// grace period has passed, so a reader standing on it can finish its walk and use its
// value.
//
// LRU maps approximate least-recently-used eviction like the kernel: lookups set a
// reference bit; eviction walks the list from the oldest element, giving referenced ones
// a second chance at the young end.
type hashMap struct {
	m                *Map
	keySize, valSize uint32
	valOff, elemSize uint32
	slab             *slab
	base             uintptr

	seed    maphash.Seed
	buckets []atomic.Uint32
	mask    uint32

	capacity uint32   // slots in the slab
	used     uint32   // slots ever handed out (the slab's high-water mark)
	free     []uint32 // reclaimed slots
	live     uint32
	rec      reclaimer
	reused   uint64 // slots reclaimed so far (for tests)

	lru    bool
	oldest uint32
	newest uint32
}

func newHash(m *Map, lru bool) (*hashMap, error) {
	s := m.spec
	h := &hashMap{m: m, keySize: s.KeySize, valSize: s.ValueSize, lru: lru,
		seed: maphash.MakeSeed(), rec: reclaimer{src: m.grace}}
	h.valOff = elemKeyOff + stride(s.KeySize)
	h.elemSize = h.valOff + stride(s.ValueSize)
	// Room beyond max_entries for elements waiting out a grace period. It is address
	// space only until used (MAP_NORESERVE), so be generous: a reader that stays in
	// its section for long blocks reclamation of everything retired meanwhile.
	h.capacity = s.MaxEntries + max(reserveSlots, s.MaxEntries)
	sl, err := newSlab(uint64(h.capacity) * uint64(h.elemSize))
	if err != nil {
		return nil, err
	}
	h.slab, h.base = sl, sl.addr()
	nb := uint32(1)
	for nb < s.MaxEntries {
		nb <<= 1
	}
	h.buckets = make([]atomic.Uint32, nb)
	h.mask = nb - 1
	return h, nil
}

// Element layout in the slab: a header the map uses, then key and value, each 8-byte
// aligned. Keeping the per-element metadata in the slab means a slot that was never used
// costs no memory at all.
const (
	elemNextOff  = 0  // u32, atomic: next slot in the bucket's chain
	elemTagOff   = 4  // u32: high half of the key's hash
	elemOlderOff = 8  // u32: LRU list, towards the oldest
	elemNewerOff = 12 // u32: LRU list, towards the newest
	elemRefOff   = 16 // u32, atomic: LRU reference bit
	elemKeyOff   = 24
)

// reserveSlots is the least number of slots beyond max_entries.
const reserveSlots = 4096

func (h *hashMap) elem(i uint32) uintptr { return h.base + uintptr(i-1)*uintptr(h.elemSize) }
func (h *hashMap) nx(i uint32) *atomic.Uint32 {
	return (*atomic.Uint32)(ptr(h.elem(i) + elemNextOff))
}
func (h *hashMap) tag(i uint32) *uint32 { return (*uint32)(ptr(h.elem(i) + elemTagOff)) }
func (h *hashMap) old(i uint32) *uint32 { return (*uint32)(ptr(h.elem(i) + elemOlderOff)) }
func (h *hashMap) nw(i uint32) *uint32  { return (*uint32)(ptr(h.elem(i) + elemNewerOff)) }
func (h *hashMap) rf(i uint32) *atomic.Uint32 {
	return (*atomic.Uint32)(ptr(h.elem(i) + elemRefOff))
}
func (h *hashMap) key(i uint32) []byte { return raw(h.elem(i)+elemKeyOff, h.keySize) }
func (h *hashMap) value(i uint32) []byte {
	return raw(h.elem(i)+uintptr(h.valOff), h.valSize)
}

func (h *hashMap) hash(key []byte) (bucket, tag uint32) {
	v := maphash.Bytes(h.seed, key)
	return uint32(v) & h.mask, uint32(v >> 32)
}

// find walks the key's chain; it is safe without the lock inside a read-side section.
func (h *hashMap) find(key []byte) uint32 {
	b, tag := h.hash(key)
	for i := h.buckets[b].Load(); i != 0; i = h.nx(i).Load() {
		if *h.tag(i) == tag && bytes.Equal(h.key(i), key) {
			return i
		}
	}
	return 0
}

func (h *hashMap) lookup(key []byte) uintptr {
	i := h.find(key)
	if i == 0 {
		return 0
	}
	if h.lru && h.rf(i).Load() == 0 {
		h.rf(i).Store(1)
	}
	return h.elem(i) + uintptr(h.valOff)
}

// findLocked returns the key's slot and its predecessor in the chain (0: the bucket head).
func (h *hashMap) findLocked(b, tag uint32, key []byte) (i, pred uint32) {
	for i = h.buckets[b].Load(); i != 0; pred, i = i, h.nx(i).Load() {
		if *h.tag(i) == tag && bytes.Equal(h.key(i), key) {
			return i, pred
		}
	}
	return 0, 0
}

// link makes pred's successor (or the bucket's head) i.
func (h *hashMap) link(b, pred, i uint32) {
	if pred == 0 {
		h.buckets[b].Store(i)
	} else {
		h.nx(pred).Store(i)
	}
}

func (h *hashMap) alloc() uint32 {
	h.rec.poll(false, h.reclaim)
	if n := len(h.free); n > 0 {
		i := h.free[n-1]
		h.free = h.free[:n-1]
		return i
	}
	if h.used < h.capacity {
		h.used++
		return h.used
	}
	h.rec.poll(true, h.reclaim)
	if n := len(h.free); n > 0 {
		i := h.free[n-1]
		h.free = h.free[:n-1]
		return i
	}
	return 0
}

func (h *hashMap) reclaim(slots []uint32) {
	for _, i := range slots {
		if h.m.poison {
			poison(raw(h.elem(i), h.elemSize))
		}
		h.nx(i).Store(0)
		h.free = append(h.free, i)
		h.reused++
	}
}

func (h *hashMap) update(key, value []byte, flags uint64) error {
	b, tag := h.hash(key)
	old, pred := h.findLocked(b, tag, key)
	switch {
	case old != 0 && flags == UpdateNoExist:
		return h.m.err("update", ErrKeyExist, "")
	case old == 0 && flags == UpdateExist:
		return h.m.err("update", ErrKeyNotExist, "")
	}
	full := old == 0 && h.live >= h.m.spec.MaxEntries
	if full && !h.lru {
		return h.m.err("update", ErrFull, "%d elements", h.live)
	}
	i := h.alloc()
	if i == 0 {
		return h.m.err("update", ErrNoMemory, "%d slots wait for a grace period", len(h.rec.retired)+len(h.rec.waiting))
	}
	if full {
		// Eviction may unlink elements of any chain; a new key is linked at its
		// bucket's head, so pred is not used below.
		h.evict()
	}
	copy(h.key(i), key)
	copy(h.value(i), value)
	*h.tag(i) = tag
	if old != 0 {
		// Replace in place: readers see the old element or the new, each whole.
		h.nx(i).Store(h.nx(old).Load())
		h.link(b, pred, i)
		h.unlinkLRU(old)
		h.rec.retire(old)
	} else {
		h.nx(i).Store(h.buckets[b].Load())
		h.buckets[b].Store(i)
		h.live++
	}
	h.pushLRU(i)
	return nil
}

func (h *hashMap) delete(key []byte) error {
	b, tag := h.hash(key)
	i, pred := h.findLocked(b, tag, key)
	if i == 0 {
		return h.m.err("delete", ErrKeyNotExist, "")
	}
	h.remove(b, pred, i)
	h.rec.poll(false, h.reclaim)
	return nil
}

func (h *hashMap) remove(b, pred, i uint32) {
	h.link(b, pred, h.nx(i).Load())
	h.unlinkLRU(i)
	h.rec.retire(i)
	h.live--
}

// evict removes one element, the oldest not referenced since it was last looked at.
func (h *hashMap) evict() {
	for n := uint32(0); n <= 2*h.live && h.oldest != 0; n++ {
		i := h.oldest
		if h.rf(i).Load() != 0 && n < h.live {
			h.rf(i).Store(0)
			h.unlinkLRU(i)
			h.pushLRU(i)
			continue
		}
		b, _ := h.hash(h.key(i))
		var pred uint32
		for j := h.buckets[b].Load(); j != i; pred, j = j, h.nx(j).Load() {
		}
		h.remove(b, pred, i)
		return
	}
}

func (h *hashMap) pushLRU(i uint32) {
	if !h.lru {
		return
	}
	h.rf(i).Store(0)
	*h.old(i), *h.nw(i) = h.newest, 0
	if h.newest != 0 {
		*h.nw(h.newest) = i
	} else {
		h.oldest = i
	}
	h.newest = i
}

func (h *hashMap) unlinkLRU(i uint32) {
	if !h.lru {
		return
	}
	o, n := *h.old(i), *h.nw(i)
	if o != 0 {
		*h.nw(o) = n
	} else {
		h.oldest = n
	}
	if n != 0 {
		*h.old(n) = o
	} else {
		h.newest = o
	}
	*h.old(i), *h.nw(i) = 0, 0
}

// nextKey iterates bucket by bucket, each chain from its head.
func (h *hashMap) nextKey(key []byte) ([]byte, error) {
	start := uint32(0)
	if key != nil {
		b, tag := h.hash(key)
		if i, _ := h.findLocked(b, tag, key); i != 0 {
			if n := h.nx(i).Load(); n != 0 {
				return bytes.Clone(h.key(n)), nil
			}
			start = b + 1
		}
	}
	for b := uint64(start); b <= uint64(h.mask); b++ {
		if i := h.buckets[b].Load(); i != 0 {
			return bytes.Clone(h.key(i)), nil
		}
	}
	return nil, h.m.err("next_key", ErrKeyNotExist, "no more keys")
}

func (h *hashMap) count() int { return int(h.live) }

func (h *hashMap) synchronize() { h.rec.synchronize(h.reclaim) }

func (h *hashMap) close() {
	h.slab.free()
}
