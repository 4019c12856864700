/*
 * negotiate.c - NEGOTIATE (MS-SMB2 2.2.3, 2.2.4) and negotiate contexts
 * (2.2.3.1). See negotiate.h for the encoder/decoder conventions.
 */
#include "wire/negotiate.h"

#include <errno.h>
#include <string.h>

#include "wire/utf16.h"

/* MS-SMB2 2.2.3 NEGOTIATE request, offsets within the body. */
enum {
	NEG_REQ_STRUCTURE_SIZE = 36,
	NEG_REQ_DIALECT_COUNT = 2,
	NEG_REQ_SECURITY_MODE = 4,
	NEG_REQ_RESERVED = 6,
	NEG_REQ_CAPABILITIES = 8,
	NEG_REQ_CLIENT_GUID = 12,
	NEG_REQ_CTX_OFFSET = 28, /* NegotiateContextOffset (3.1.1) / ClientStartTime */
	NEG_REQ_CTX_COUNT = 32,
	NEG_REQ_RESERVED2 = 34,
	NEG_REQ_DIALECTS = 36,
};

/* MS-SMB2 2.2.4 NEGOTIATE response, offsets within the body. */
enum {
	NEG_RESP_STRUCTURE_SIZE = 65,
	NEG_RESP_SECURITY_MODE = 2,
	NEG_RESP_DIALECT = 4,
	NEG_RESP_CTX_COUNT = 6,
	NEG_RESP_SERVER_GUID = 8,
	NEG_RESP_CAPABILITIES = 24,
	NEG_RESP_MAX_TRANSACT = 28,
	NEG_RESP_MAX_READ = 32,
	NEG_RESP_MAX_WRITE = 36,
	NEG_RESP_SYSTEM_TIME = 40,
	NEG_RESP_START_TIME = 48,
	NEG_RESP_SECBUF_OFFSET = 56,
	NEG_RESP_SECBUF_LENGTH = 58,
	NEG_RESP_CTX_OFFSET = 60,
	NEG_RESP_BUFFER = 64,
};

/* MS-SMB2 2.2.3.1 NEGOTIATE_CONTEXT header. */
enum {
	NEG_CTX_TYPE = 0,
	NEG_CTX_DATA_LENGTH = 2,
	NEG_CTX_RESERVED = 4,
	NEG_CTX_DATA = 8,
	NEG_CTX_ALIGN = 8,
};

/* Pad with zeros to a multiple of 8 measured from the start of the SMB2 header. */
static int pad8(struct wbuf *w, size_t base)
{
	size_t pos = SMB2_HDR_SIZE + (w->off - base);
	return put_zeros(w, (8 - (pos & 7)) & 7);
}

/* Start a context: write the 8-byte header with DataLength 0; returns its position. */
static int ctx_begin(struct wbuf *w, size_t base, uint16_t type, size_t *start)
{
	int rc = pad8(w, base);
	*start = w->off;
	rc |= put_u16le(w, type);
	rc |= put_u16le(w, 0);
	rc |= put_u32le(w, 0);
	return rc ? -EMSGSIZE : 0;
}

static int ctx_end(struct wbuf *w, size_t start)
{
	size_t dlen = w->off - start - NEG_CTX_DATA;
	if (dlen > UINT16_MAX)
		return -EMSGSIZE;
	return poke_u16le(w, start + NEG_CTX_DATA_LENGTH, (uint16_t)dlen);
}

static int put_u16_list(struct wbuf *w, const uint16_t *v, uint16_t n)
{
	int rc = 0;
	for (uint16_t i = 0; i < n && !rc; i++)
		rc = put_u16le(w, v[i]);
	return rc;
}

static int encode_contexts(struct wbuf *w, size_t base, const struct negotiate_req *req,
			   uint16_t *count)
{
	size_t start;
	int rc;

	*count = 0;
	/* 2.2.3.1.1: one hash algorithm (SHA-512) and the caller's salt. */
	rc = ctx_begin(w, base, SMB2_PREAUTH_INTEGRITY_CAPABILITIES, &start);
	rc = rc ? rc : put_u16le(w, 1);
	rc = rc ? rc : put_u16le(w, req->preauth_salt_len);
	rc = rc ? rc : put_u16le(w, SMB2_PREAUTH_HASH_SHA512);
	rc = rc ? rc : put_bytes(w, req->preauth_salt, req->preauth_salt_len);
	rc = rc ? rc : ctx_end(w, start);
	if (rc)
		return rc;
	(*count)++;

	if (req->cipher_count) { /* 2.2.3.1.2 */
		rc = ctx_begin(w, base, SMB2_ENCRYPTION_CAPABILITIES, &start);
		rc = rc ? rc : put_u16le(w, req->cipher_count);
		rc = rc ? rc : put_u16_list(w, req->ciphers, req->cipher_count);
		rc = rc ? rc : ctx_end(w, start);
		if (rc)
			return rc;
		(*count)++;
	}
	if (req->signing_alg_count) { /* 2.2.3.1.7 */
		rc = ctx_begin(w, base, SMB2_SIGNING_CAPABILITIES, &start);
		rc = rc ? rc : put_u16le(w, req->signing_alg_count);
		rc = rc ? rc : put_u16_list(w, req->signing_algs, req->signing_alg_count);
		rc = rc ? rc : ctx_end(w, start);
		if (rc)
			return rc;
		(*count)++;
	}
	if (req->netname && req->netname[0]) { /* 2.2.3.1.4, UTF-16LE, no terminator */
		size_t n16;
		rc = ctx_begin(w, base, SMB2_NETNAME_NEGOTIATE_CONTEXT_ID, &start);
		if (rc)
			return rc;
		rc = utf8_to_utf16le(req->netname, strlen(req->netname), w->p + w->off,
				     w->cap - w->off, &n16, 0);
		if (rc)
			return rc;
		w->off += n16;
		rc = ctx_end(w, start);
		if (rc)
			return rc;
		(*count)++;
	}
	return 0;
}

int negotiate_req_encode(struct wbuf *w, const struct negotiate_req *req)
{
	size_t base = w->off;
	uint16_t ctx_count = 0;
	int want_ctx = 0, rc = 0;

	if (!req->dialect_count || req->dialect_count > SMB2_MAX_DIALECTS || !req->dialects ||
	    (req->preauth_salt_len && !req->preauth_salt) ||
	    (req->cipher_count && !req->ciphers) || (req->signing_alg_count && !req->signing_algs))
		return -EINVAL;
	if (w->off > w->cap)
		return -EMSGSIZE;
	for (uint16_t i = 0; i < req->dialect_count; i++)
		if (req->dialects[i] == SMB2_DIALECT_0311)
			want_ctx = 1;

	rc |= put_u16le(w, NEG_REQ_STRUCTURE_SIZE);
	rc |= put_u16le(w, req->dialect_count);
	rc |= put_u16le(w, req->security_mode);
	rc |= put_u16le(w, 0);
	rc |= put_u32le(w, req->capabilities);
	rc |= put_bytes(w, req->client_guid, SMB2_GUID_SIZE);
	rc |= put_u32le(w, 0); /* NegotiateContextOffset, poked below */
	rc |= put_u16le(w, 0); /* NegotiateContextCount, poked below */
	rc |= put_u16le(w, 0);
	if (rc)
		goto fail;
	rc = put_u16_list(w, req->dialects, req->dialect_count);
	if (rc)
		goto fail;
	if (want_ctx) {
		size_t ctx_off;
		rc = pad8(w, base);
		if (rc)
			goto fail;
		ctx_off = SMB2_HDR_SIZE + (w->off - base);
		rc = encode_contexts(w, base, req, &ctx_count);
		if (rc)
			goto fail;
		rc = poke_u32le(w, base + NEG_REQ_CTX_OFFSET, (uint32_t)ctx_off);
		rc |= poke_u16le(w, base + NEG_REQ_CTX_COUNT, ctx_count);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	w->off = base;
	return rc == -EILSEQ ? -EILSEQ : -EMSGSIZE;
}

/* Parse the data of one known context into resp; type already deduplicated. */
static int parse_ctx(uint16_t type, struct rbuf *d, struct negotiate_resp *resp)
{
	uint16_t count, salt_len;

	switch (type) {
	case SMB2_PREAUTH_INTEGRITY_CAPABILITIES: /* 2.2.3.1.1: server picks exactly one */
		if (get_u16le(d, &count) || get_u16le(d, &salt_len) || count != 1 ||
		    get_u16le(d, &resp->preauth_hash_alg) ||
		    get_view(d, salt_len, &resp->preauth_salt))
			return -EBADMSG;
		resp->preauth_salt_len = salt_len;
		return 0;
	case SMB2_ENCRYPTION_CAPABILITIES: /* 2.2.3.1.2: one cipher, 0 if none in common */
		if (get_u16le(d, &count) || count != 1 || get_u16le(d, &resp->cipher))
			return -EBADMSG;
		return 0;
	case SMB2_SIGNING_CAPABILITIES: /* 2.2.3.1.7: one algorithm */
		if (get_u16le(d, &count) || count != 1 || get_u16le(d, &resp->signing_alg))
			return -EBADMSG;
		return 0;
	default:
		return 0; /* compression, transport, RDMA, POSIX...: not used, skipped */
	}
}

static int decode_contexts(const uint8_t *pdu, size_t len, uint32_t off, uint16_t count,
			   struct negotiate_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);

	/* The first context is 8-byte aligned from the header and after the fixed body. */
	if ((off & 7) || off < SMB2_HDR_SIZE + NEG_RESP_BUFFER || rbuf_seek(&r, off))
		return -EBADMSG;
	for (uint16_t i = 0; i < count; i++) {
		uint16_t type, dlen;
		uint32_t reserved;
		struct rbuf d;

		if (i && rbuf_skip(&r, (NEG_CTX_ALIGN - (r.off & 7)) & 7))
			return -EBADMSG;
		if (get_u16le(&r, &type) || get_u16le(&r, &dlen) || get_u32le(&r, &reserved) ||
		    rbuf_sub(&r, r.off, dlen, &d) || rbuf_skip(&r, dlen))
			return -EBADMSG;
		if (type < 32) {
			uint32_t bit = 1u << type;
			if ((resp->ctx_present & bit) &&
			    (type == SMB2_PREAUTH_INTEGRITY_CAPABILITIES ||
			     type == SMB2_ENCRYPTION_CAPABILITIES ||
			     type == SMB2_SIGNING_CAPABILITIES))
				return -EBADMSG;
			resp->ctx_present |= bit;
		}
		if (parse_ctx(type, &d, resp))
			return -EBADMSG;
	}
	if (!NEG_CTX_PRESENT(resp, SMB2_PREAUTH_INTEGRITY_CAPABILITIES))
		return -EBADMSG;
	return 0;
}

int negotiate_resp_decode(const uint8_t *pdu, size_t len, struct negotiate_resp *resp)
{
	struct rbuf r = rbuf_init(pdu, len);
	uint16_t size, sec_off, sec_len;
	uint32_t ctx_off;

	memset(resp, 0, sizeof(*resp));
	if (rbuf_seek(&r, SMB2_HDR_SIZE) || get_u16le(&r, &size) ||
	    size != NEG_RESP_STRUCTURE_SIZE || get_u16le(&r, &resp->security_mode) ||
	    get_u16le(&r, &resp->dialect) || get_u16le(&r, &resp->neg_ctx_count) ||
	    get_bytes(&r, resp->server_guid, SMB2_GUID_SIZE) ||
	    get_u32le(&r, &resp->capabilities) || get_u32le(&r, &resp->max_transact_size) ||
	    get_u32le(&r, &resp->max_read_size) || get_u32le(&r, &resp->max_write_size) ||
	    get_u64le(&r, &resp->system_time) || get_u64le(&r, &resp->server_start_time) ||
	    get_u16le(&r, &sec_off) || get_u16le(&r, &sec_len) || get_u32le(&r, &ctx_off))
		return -EBADMSG;
	if (sec_len) {
		if (sec_off < SMB2_HDR_SIZE + NEG_RESP_BUFFER || !range_ok(len, sec_off, sec_len))
			return -EBADMSG;
		resp->security_buffer = pdu + sec_off;
		resp->security_buffer_len = sec_len;
	}
	if (resp->dialect == SMB2_DIALECT_0311) {
		if (decode_contexts(pdu, len, ctx_off, resp->neg_ctx_count, resp))
			return -EBADMSG;
	} else {
		resp->neg_ctx_count = 0; /* Reserved before 3.1.1 */
	}
	return 0;
}
