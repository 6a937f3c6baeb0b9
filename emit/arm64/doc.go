// Package arm64 encodes the A64 instructions that bpfjit's arm64 back end emits.
//
// The encoder only produces bytes, so it runs (and is tested) on any host. Every
// encoding function returns the 32-bit instruction word and an error; it never
// panics on bad operands. Operands follow assembly order: destination first, then
// sources, as in "add x0, x1, x2" == AddReg(W64, X0, X1, X2).
//
// Instruction families are described by small tables (opcode bits per operation)
// combined by one function per encoding class, mirroring the structure of the
// Arm ARM's encoding index rather than one case per mnemonic.
//
// Buf collects encoded words, keeps the first error with its byte position and
// lets branches be patched once their targets are known (SetBranchOffset).
package arm64
