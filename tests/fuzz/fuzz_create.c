/*
 * fuzz_create - create_resp_decode() on a whole CREATE response PDU, then a
 * walk over every create context with cctx_iter_next(), running each
 * cctx_decode_* on each context (whatever its name, so every decoder sees
 * every shape), and cctx_find() for the names the client looks up.
 */
#include "fuzz.h"

#include "wire/create.h"

static void decode_ctx(const struct create_ctx *c)
{
	struct lease_ctx lease;
	uint32_t a, b;
	uint64_t x, y;

	(void)cctx_decode_lease(c, &lease);
	(void)cctx_decode_dh2q(c, &a, &b);
	(void)cctx_decode_qfid(c, &x, &y);
	(void)cctx_decode_mxac(c, &a, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"RqLs", "DH2Q", "QFid", "MxAc"};
	struct create_resp resp;
	struct cctx_iter it;
	struct create_ctx c;
	unsigned n = 0;
	int rc;

	if (create_resp_decode(data, size, &resp))
		return 0;
	fuzz_view(data, size, resp.contexts, resp.contexts_len);
	cctx_iter_init(&it, resp.contexts, resp.contexts_len);
	while ((rc = cctx_iter_next(&it, &c)) > 0) {
		fuzz_view(resp.contexts, resp.contexts_len, c.name, c.name_len);
		fuzz_view(resp.contexts, resp.contexts_len, c.data, c.data_len);
		decode_ctx(&c);
		/* Next is a non-zero multiple of 8 until the last entry: bounded. */
		if (++n > resp.contexts_len / 8 + 1)
			FUZZ_FAIL("cctx_iter_next: %u entries in %u bytes", n, resp.contexts_len);
	}
	if (cctx_iter_next(&it, &c) > 0)
		FUZZ_FAIL("cctx_iter_next: an entry after it returned %d", rc);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (cctx_find(resp.contexts, resp.contexts_len, names[i], 4, &c) == 1) {
			fuzz_view(resp.contexts, resp.contexts_len, c.name, c.name_len);
			fuzz_view(resp.contexts, resp.contexts_len, c.data, c.data_len);
			decode_ctx(&c);
		}
	}
	return 0;
}
