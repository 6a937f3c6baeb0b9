package maps

// reclaimer defers the reuse of element slots until a grace period has passed since they
// were unlinked. All methods run with the map's lock held.
type reclaimer struct {
	src     GraceSource
	retired []uint32    // unlinked, no grace period started yet
	waiting []uint32    // unlinked before period started
	period  GracePeriod // nil when none is in progress
}

// batch is how many retired slots justify starting a grace period on a source where
// that is expensive (execmem's costs system calls and a membarrier).
const batch = 256

func (r *reclaimer) retire(i uint32) { r.retired = append(r.retired, i) }

// poll frees the waiting batch when its period is over and starts a period for the
// retired slots when there are enough of them, or any when force is set.
func (r *reclaimer) poll(force bool, free func([]uint32)) {
	if r.period != nil {
		if !r.period.Done() {
			return
		}
		free(r.waiting)
		r.waiting, r.period = r.waiting[:0], nil
	}
	if len(r.retired) == 0 || (!force && len(r.retired) < batch) {
		return
	}
	r.waiting, r.retired = r.retired, r.waiting[:0]
	r.period = r.src.Start()
	if r.period.Done() {
		free(r.waiting)
		r.waiting, r.period = r.waiting[:0], nil
	}
}

// synchronize blocks until every retired slot is freed.
func (r *reclaimer) synchronize(free func([]uint32)) {
	for len(r.retired) > 0 || r.period != nil {
		if r.period != nil {
			Wait(r.period)
		}
		r.poll(true, free)
	}
}
