// sparta-canonicalize is linear in the size of a union: a chain of 16000
// unions (each using the last) flattens into one union of 16001 operands, and
// a union of 16000 operands is left alone, each within a few seconds.
// RUN: python3 %S/../cli/Inputs/hostile_pattern.py union-chain 16000 > %t.chain.mlir
// RUN: sh -c 'ulimit -v 4000000; timeout 60 sparta-opt %t.chain.mlir --sparta-canonicalize' > %t.chain.out
// RUN: grep -c 'sparta.union' %t.chain.out | FileCheck %s --check-prefix=ONE
// RUN: grep 'sparta.union' %t.chain.out | tr ',' '\n' | wc -l | FileCheck %s --check-prefix=OPERANDS
// ONE: {{^1$}}
// OPERANDS: {{^16001$}}
// RUN: python3 %S/../cli/Inputs/hostile_pattern.py wide 16000 > %t.wide.mlir
// RUN: sh -c 'ulimit -v 4000000; timeout 60 sparta-opt %t.wide.mlir --sparta-canonicalize' > %t.wide.out
// RUN: grep 'sparta.union' %t.wide.out | tr ',' '\n' | wc -l | FileCheck %s --check-prefix=WIDE
// WIDE: {{^16000$}}
