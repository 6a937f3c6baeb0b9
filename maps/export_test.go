package maps

// Reclaimed exposes the number of reclaimed hash slots to the external tests.
func Reclaimed(m *Map) uint64 { return reclaimed(m) }
