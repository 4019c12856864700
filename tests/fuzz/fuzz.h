/*
 * fuzz.h - helpers shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * Each harness feeds its input to one decoder or parser and then reads every
 * byte of every view the decoder returned. libFuzzer hands the input over in a
 * heap buffer of exactly `size` bytes, so a view that reaches past the input
 * is an ASan heap-buffer-overflow; fuzz_view() also aborts on a view that
 * points outside the buffer it must live in (a NULL view with a non-zero
 * length, or one into unrelated memory, which ASan alone would miss).
 *
 * Harnesses never write into the input (smb3_decrypt works in place, so
 * fuzz_transform decrypts a copy made with fuzz_dup).
 */
#ifndef SMBF_FUZZ_H
#define SMBF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message libFuzzer records as the crash reason. */
#define FUZZ_FAIL(...)                                                                             \
	do {                                                                                       \
		fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__);                              \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* Read n bytes at p; the volatile sink keeps the loads. */
static inline void fuzz_touch(const uint8_t *p, size_t n)
{
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < n; i++)
		sink ^= p[i];
	(void)sink;
}

/*
 * Check that the view [p, p+n) lies inside [base, base+base_len) (n == 0
 * accepts any p, including NULL) and read all of it.
 */
static inline void fuzz_view_at(const uint8_t *base, size_t base_len, const uint8_t *p, size_t n,
				const char *what)
{
	uintptr_t b = (uintptr_t)base, v = (uintptr_t)p;
	if (n == 0)
		return;
	if (!p || v < b || v - b > base_len || n > base_len - (v - b))
		FUZZ_FAIL("view %s (%zu bytes at %+td) outside its %zu-byte buffer", what, n,
			  p ? (ptrdiff_t)(v - b) : (ptrdiff_t)0, base_len);
	fuzz_touch(p, n);
}
#define fuzz_view(base, base_len, p, n) fuzz_view_at((base), (base_len), (p), (n), #p)

/* A malloc'd copy of exactly n bytes (at least one byte allocated); NULL on OOM. */
static inline uint8_t *fuzz_dup(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	if (c && n)
		memcpy(c, p, n);
	return c;
}

#endif
