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
//
// With maps bound (WithMaps, or maps Load created), the map helpers' and bpf_tail_call's
// built-in prototypes are added where the program type lacks them (a host-defined type),
// since Load provides the helpers themselves (tail calls are lowered inline).
func (c *config) verifierOptions() verifier.Options {
	o := c.vopts
	var add map[int32]*verifier.HelperProto
	if c.table != nil {
		typ := o.Type
		if typ == nil {
			typ = verifier.RawMemoryType
		}
		for _, id := range []int32{verifier.HelperMapLookupElem, verifier.HelperMapUpdateElem, verifier.HelperMapDeleteElem, verifier.HelperTailCall} {
			if typ.Helpers[id] == nil && o.Helpers[id] == nil && c.protos[id] == nil {
				if add == nil {
					add = map[int32]*verifier.HelperProto{}
				}
				add[id] = verifier.Helpers[id]
			}
		}
	}
	if len(c.protos) == 0 && len(add) == 0 {
		return o
	}
	h := make(map[int32]*verifier.HelperProto, len(o.Helpers)+len(c.protos)+len(add))
	for _, m := range []map[int32]*verifier.HelperProto{add, o.Helpers, c.protos} {
		for id, p := range m {
			h[id] = p
		}
	}
	o.Helpers = h
	return o
}
