package bpfjit

// DirectTailCallSites reports how many direct tail-call sites p's code has (tests).
func DirectTailCallSites(p *Program) int { return len(p.lst.image.TailCalls) }

// PokeErrors returns the patch failures of p's direct sites (tests).
func PokeErrors(p *Program) []error {
	var out []error
	for _, s := range p.pokes {
		if s.err != nil {
			out = append(out, s.err)
		}
	}
	return out
}

// SetTailCallStackLimit changes the native-stack limit of tail calls from callees for
// programs loaded until restore is called (tests).
func SetTailCallStackLimit(n int32) (restore func()) {
	old := tailCallStackLimit
	tailCallStackLimit = n
	return func() { tailCallStackLimit = old }
}

// InlinedLookups returns the slots of p's array lookups lowered inline (tests).
func InlinedLookups(p *Program) []int { return p.lst.inlined }

// KeptFrameSites reports how many of p's direct sites now keep p's frame: their frame word
// jumps to the slot program's body (tests).
func KeptFrameSites(p *Program) int {
	n := 0
	for _, s := range p.pokes {
		if s.frame != 0 {
			n++
		}
	}
	return n
}
