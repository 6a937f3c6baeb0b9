package bpfjit

import "github.com/bpfjit/bpfjit/verifier"

// WithHelper registers a host helper under id together with the prototype the verifier
// checks its calls against (argument kinds, return kind), so that verified programs may
// call it. The prototype is added to the program type's helper set (replacing a built-in
// one of the same id); a nil proto registers the function only, as WithHelpers does.
func WithHelper(id int32, fn Helper, proto *verifier.HelperProto) Option {
	return func(c *config) {
		c.addHelper(id, fn)
		if proto != nil {
			if c.protos == nil {
				c.protos = map[int32]*verifier.HelperProto{}
			}
			c.protos[id] = proto
		}
	}
}

func (c *config) addHelper(id int32, fn Helper) {
	if c.helpers == nil {
		c.helpers = map[int32]Helper{}
	}
	c.helpers[id] = fn
}

// verifierOptions returns the options Check runs with: WithVerifier's, plus the
// prototypes of WithHelper (which win over WithVerifier's for the same id). The caller's
// map is never modified.
func (c *config) verifierOptions() verifier.Options {
	o := c.vopts
	if len(c.protos) == 0 {
		return o
	}
	h := make(map[int32]*verifier.HelperProto, len(o.Helpers)+len(c.protos))
	for id, p := range o.Helpers {
		h[id] = p
	}
	for id, p := range c.protos {
		h[id] = p
	}
	o.Helpers = h
	return o
}
