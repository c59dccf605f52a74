/*
 * libFuzzer entry points. Each fuzz-*.c defines LLVMFuzzerTestOneInput
 * (and may define LLVMFuzzerInitialize). Built two ways:
 *   make fuzz    clang -fsanitize=fuzzer,address,undefined: the fuzzer
 *   make check   any compiler, linked with replay.c: runs every file of
 *                tests/fuzz/corpus/NAME once (the regression corpus)
 */
#ifndef DK_FUZZ_H
#define DK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
