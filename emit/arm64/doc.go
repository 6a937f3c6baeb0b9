// Package arm64 is bpfjit's arm64 back end: an encoder of the A64 instructions the
// JIT needs, and Backend, which lowers BPF to them on package emit's driver.
//
// # Encoder
//
// The encoder only produces bytes, so it runs (and is tested) on any host. Every
// encoding function returns the 32-bit instruction word and an error; it never
// panics on bad operands. Operands follow assembly order: destination first, then
// sources, as in "add x0, x1, x2" == AddReg(ADD, W64, X0, X1, X2).
//
// Instruction families are described by small tables (opcode bits per operation)
// combined by one function per encoding class, mirroring the structure of the
// Arm ARM's encoding index rather than one case per mnemonic. SP and XZR are
// distinct Reg values although both encode as 31, so using the one an operand
// slot cannot hold is an *EncodeError instead of a silently different
// instruction. Pc-relative forms report *BranchRangeError when out of reach, which
// is how a caller decides to use a long form (BCondFar).
//
// Each checked encoder validates its operands and then calls an unexported one
// (addSubImm, logicImm, ldStImm, immShift, movImm, dp2, ...) that only composes the
// word from register fields; the lowering calls those directly, since its operands
// are its own registers.
//
// Buf collects encoded words, keeps the first error with its byte position and
// lets branches be patched once their targets are known (SetBranchOffset).
//
// # Lowering
//
// Backend implements emit.Backend with the kernel's register map (BPF R0 x7,
// R1–R5 x0–x4, R6–R9 x19–x22, R10 x25, blinding AX x9) and the bridge's arm64
// contract (context in x23, helper calls through the gate). x18 and x28 are never
// used and every function keeps a frame record in x29. Conditional branches that
// cannot reach their target in ±1 MiB are linked as "b.!cond +8; b target".
// Atomics use LSE instructions or ldaxr/stlxr loops (Backend.Atomics).
//
// Lowering is the compile-time hot path (about a hundred machine instructions per
// BPF instruction): Backend implements emit.RangeBackend, so a run of slots is one
// loop, and a 256-entry table gives each opcode its form, so a slot is dispatched
// with one table load and one switch. The common forms (register ALU operations,
// loads and stores whose offset fits, immediate shifts, one-instruction constants,
// add/sub of an immediate) append their single word in the loop itself; constants
// are searched with comparisons and bit folds (movImm32, halfMask) rather than
// loops, and EncodeBitmask is constant time.
package arm64
