package bpfjit

import (
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

// A program runs with a helper table only when its code may reach a helper (a call of
// any id, bpf_tail_call included, or a callx) or it has a budget; without one, Run takes
// the bridge's fast path. Host helpers registered but never called do not count.
func TestHelperTableOnlyWhereHelpersCanBeCalled(t *testing.T) {
	mov := isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 7}
	exit := isa.Instruction{Opcode: isa.OpExit}
	call := func(id int32) isa.Instruction { return isa.Instruction{Opcode: isa.OpCall, Imm: id} }
	callx := isa.Instruction{Opcode: isa.OpCallX, Dst: 2}
	host := WithHelpers(map[int32]Helper{100: func(a, _, _, _, _ uint64) uint64 { return a }})
	tests := []struct {
		name  string
		insns []isa.Instruction
		opts  []Option
		table bool
	}{
		{"no call", []isa.Instruction{mov, exit}, nil, false},
		{"no call, host helpers registered", []isa.Instruction{mov, exit}, []Option{host}, false},
		{"standard helper call", []isa.Instruction{call(int32(HelperKtimeGetNs)), exit}, nil, true},
		{"host helper call", []isa.Instruction{call(100), exit}, []Option{host}, true},
		{"callx", []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: 2, Imm: 100}, callx, exit}, []Option{host}, true},
		{"budget", []isa.Instruction{mov, exit}, []Option{WithBudget(1000)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(&isa.Program{Insns: tt.insns}, append(tt.opts, Unverified())...)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if got := p.helpers != nil; got != tt.table {
				t.Errorf("helper table: %v, want %v", got, tt.table)
			}
			if _, err := p.Run(nil); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
}
