/*
 * spnego.c - minimal SPNEGO token codec (RFC 4178, MS-SPNG 2.2).
 *
 * Only the shapes SMB2 SESSION_SETUP uses are handled:
 *   client -> server: InitialContextToken(NegTokenInit), NegTokenResp
 *   server -> client: InitialContextToken(NegTokenInit2), NegTokenResp
 *
 * The DER reader is a flat cursor: each structure level is handled by its
 * own function at a fixed depth (at most six nested elements), so hostile
 * input cannot drive recursion. Every element must fit inside its parent
 * exactly; context tags inside a SEQUENCE must be strictly increasing, which
 * also rules out duplicates. Lengths are capped at 2^24 - 1.
 */
#include "auth/spnego.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/buf.h"

/* ASN.1 identifier octets (X.690 8.1.2). */
enum {
	DER_ENUMERATED = 0x0a,
	DER_OCTET_STRING = 0x04,
	DER_OID = 0x06,
	DER_SEQUENCE = 0x30,
	DER_APPLICATION_0 = 0x60, /* [APPLICATION 0] constructed, RFC 2743 3.1 */
	DER_CTX_0 = 0xa0,	  /* [n] constructed is DER_CTX_0 + n */
	DER_CTX_1 = 0xa1,
	DER_CTX_2 = 0xa2,
	DER_CTX_3 = 0xa3,
	DER_CTX_4 = 0xa4,
	DER_CTX_MASK = 0xe0,
	DER_TAG_NUMBER_MASK = 0x1f,
	DER_LEN_LONG = 0x80,
};

/* Longest value we encode or accept: 3 length octets. */
#define DER_MAX_LEN 0xffffffu

struct mech_oid {
	enum spnego_mech mech;
	uint8_t len;
	uint8_t der[12]; /* full TLV: 06 len value */
};

static const struct mech_oid mech_oids[] = {
    {SPNEGO_MECH_NTLMSSP,
     12,
     {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}},
    {SPNEGO_MECH_KRB5, 11, {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}},
    {SPNEGO_MECH_MSKRB5, 11, {0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}},
    {SPNEGO_MECH_KRB5_U2U,
     12,
     {0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03}},
    {SPNEGO_MECH_NEGOEX,
     12,
     {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e}},
};

/* 1.3.6.1.5.5.2, RFC 4178 3.1 */
static const uint8_t spnego_oid[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};

static const struct mech_oid *mech_lookup(enum spnego_mech mech)
{
	for (size_t i = 0; i < sizeof(mech_oids) / sizeof(mech_oids[0]); i++) {
		if (mech_oids[i].mech == mech)
			return &mech_oids[i];
	}
	return NULL;
}

/* ---- Encoding ------------------------------------------------------------------------ */

/* Octets needed for the length of a value of len bytes (len <= DER_MAX_LEN). */
static size_t der_len_size(size_t len)
{
	return len < 0x80 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 4;
}

/* Whole TLV size for a value of len bytes. */
static size_t der_tlv_size(size_t len)
{
	return 1 + der_len_size(len) + len;
}

/* Write tag and length at p; return the header size. */
static size_t der_put_hdr(uint8_t *p, uint8_t tag, size_t len)
{
	size_t n = der_len_size(len);

	p[0] = tag;
	if (n == 1) {
		p[1] = (uint8_t)len;
	} else {
		p[1] = (uint8_t)(DER_LEN_LONG | (n - 1));
		for (size_t i = 0; i < n - 1; i++)
			p[2 + i] = (uint8_t)(len >> (8 * (n - 2 - i)));
	}
	return 1 + n;
}

/* Content length of the MechTypeList SEQUENCE, or 0 on an unknown mech. */
static size_t mechtypes_content_len(const enum spnego_mech *mechs, size_t n)
{
	size_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		const struct mech_oid *o = mech_lookup(mechs[i]);
		if (!o)
			return 0;
		sum += o->len;
	}
	return sum;
}

static size_t put_mechtypes(uint8_t *p, const enum spnego_mech *mechs, size_t n, size_t content)
{
	size_t off = der_put_hdr(p, DER_SEQUENCE, content);

	for (size_t i = 0; i < n; i++) {
		const struct mech_oid *o = mech_lookup(mechs[i]);
		memcpy(p + off, o->der, o->len);
		off += o->len;
	}
	return off;
}

int spnego_mechtypes_der(const enum spnego_mech *mechs, size_t n, uint8_t **out, size_t *out_len)
{
	size_t content, total;
	uint8_t *p;

	*out = NULL;
	*out_len = 0;
	if (!mechs || n == 0 || n > SPNEGO_MAX_MECHS)
		return -EINVAL;
	content = mechtypes_content_len(mechs, n);
	if (!content)
		return -EINVAL;
	total = der_tlv_size(content);
	p = malloc(total);
	if (!p)
		return -ENOMEM;
	put_mechtypes(p, mechs, n, content);
	*out = p;
	*out_len = total;
	return 0;
}

int spnego_init_token(const enum spnego_mech *mechs, size_t n, const uint8_t *mech_token,
		      size_t token_len, uint8_t **out, size_t *out_len)
{
	size_t mt_content, mt, a0, tok = 0, a2 = 0, seq, init, inner, total, off;
	uint8_t *p;

	*out = NULL;
	*out_len = 0;
	if (!mechs || n == 0 || n > SPNEGO_MAX_MECHS || (token_len && !mech_token))
		return -EINVAL;
	if (token_len > DER_MAX_LEN - 64)
		return -EMSGSIZE;
	mt_content = mechtypes_content_len(mechs, n);
	if (!mt_content)
		return -EINVAL;
	mt = der_tlv_size(mt_content);
	a0 = der_tlv_size(mt);
	if (token_len) {
		tok = der_tlv_size(token_len);
		a2 = der_tlv_size(tok);
	}
	seq = der_tlv_size(a0 + a2);
	init = der_tlv_size(seq);
	inner = sizeof(spnego_oid) + init;
	total = der_tlv_size(inner);
	p = malloc(total);
	if (!p)
		return -ENOMEM;

	off = der_put_hdr(p, DER_APPLICATION_0, inner);
	memcpy(p + off, spnego_oid, sizeof(spnego_oid));
	off += sizeof(spnego_oid);
	off += der_put_hdr(p + off, DER_CTX_0, seq);	    /* negTokenInit [0] */
	off += der_put_hdr(p + off, DER_SEQUENCE, a0 + a2); /* NegTokenInit */
	off += der_put_hdr(p + off, DER_CTX_0, mt);	    /* mechTypes [0] */
	off += put_mechtypes(p + off, mechs, n, mt_content);
	if (token_len) {
		off += der_put_hdr(p + off, DER_CTX_2, tok); /* mechToken [2] */
		off += der_put_hdr(p + off, DER_OCTET_STRING, token_len);
		memcpy(p + off, mech_token, token_len);
		off += token_len;
	}
	*out = p;
	*out_len = off;
	return 0;
}

int spnego_resp_token(const uint8_t *token, size_t len, const uint8_t *mic, size_t mic_len,
		      uint8_t **out, size_t *out_len)
{
	size_t tok = 0, a2 = 0, m = 0, a3 = 0, seq, total, off;
	uint8_t *p;

	*out = NULL;
	*out_len = 0;
	if ((len && !token) || (mic_len && !mic) || (!len && !mic_len))
		return -EINVAL;
	if (len > DER_MAX_LEN - 64 || mic_len > DER_MAX_LEN - 64 - len)
		return -EMSGSIZE;
	if (len) {
		tok = der_tlv_size(len);
		a2 = der_tlv_size(tok);
	}
	if (mic_len) {
		m = der_tlv_size(mic_len);
		a3 = der_tlv_size(m);
	}
	seq = der_tlv_size(a2 + a3);
	total = der_tlv_size(seq);
	p = malloc(total);
	if (!p)
		return -ENOMEM;

	off = der_put_hdr(p, DER_CTX_1, seq);		    /* negTokenResp [1] */
	off += der_put_hdr(p + off, DER_SEQUENCE, a2 + a3); /* NegTokenResp */
	if (len) {
		off += der_put_hdr(p + off, DER_CTX_2, tok); /* responseToken [2] */
		off += der_put_hdr(p + off, DER_OCTET_STRING, len);
		memcpy(p + off, token, len);
		off += len;
	}
	if (mic_len) {
		off += der_put_hdr(p + off, DER_CTX_3, m); /* mechListMIC [3] */
		off += der_put_hdr(p + off, DER_OCTET_STRING, mic_len);
		memcpy(p + off, mic, mic_len);
		off += mic_len;
	}
	*out = p;
	*out_len = off;
	return 0;
}

/* ---- Parsing ------------------------------------------------------------------------- */

/* A cursor over the contents of one constructed element. */
struct der {
	const uint8_t *p;
	size_t len;
	size_t off;
};

/* One parsed element: its tag, its value, and the whole TLV. */
struct tlv {
	uint8_t tag;
	const uint8_t *val;
	size_t len;
	const uint8_t *raw;
	size_t raw_len;
};

static struct der der_over(const uint8_t *p, size_t len)
{
	struct der d = {p, len, 0};
	return d;
}

static bool der_done(const struct der *d)
{
	return d->off == d->len;
}

/* Read the next element; it must lie wholly inside d. */
static int der_next(struct der *d, struct tlv *t)
{
	size_t start = d->off, off = d->off, vlen;
	uint8_t b;

	if (!range_ok(d->len, off, 2))
		return -EBADMSG;
	t->tag = d->p[off++];
	if ((t->tag & DER_TAG_NUMBER_MASK) == DER_TAG_NUMBER_MASK)
		return -EBADMSG; /* high tag numbers never occur in SPNEGO */
	b = d->p[off++];
	if (b < DER_LEN_LONG) {
		vlen = b;
	} else {
		size_t n = b & ~DER_LEN_LONG;

		/* 0x80 is BER indefinite length; more than 3 octets exceeds our cap. */
		if (n == 0 || n > 3 || !range_ok(d->len, off, n))
			return -EBADMSG;
		vlen = 0;
		for (size_t i = 0; i < n; i++)
			vlen = (vlen << 8) | d->p[off++];
	}
	if (!range_ok(d->len, off, vlen))
		return -EBADMSG;
	t->val = d->p + off;
	t->len = vlen;
	t->raw = d->p + start;
	t->raw_len = off + vlen - start;
	d->off = off + vlen;
	return 0;
}

/* The contents of t must be exactly one element with tag want. */
static int der_only(const struct tlv *t, uint8_t want, struct tlv *inner)
{
	struct der d = der_over(t->val, t->len);
	int rc = der_next(&d, inner);

	if (rc)
		return rc;
	if (inner->tag != want || !der_done(&d))
		return -EBADMSG;
	return 0;
}

static enum spnego_mech mech_from_oid(const struct tlv *oid)
{
	for (size_t i = 0; i < sizeof(mech_oids) / sizeof(mech_oids[0]); i++) {
		if (oid->raw_len == mech_oids[i].len &&
		    memcmp(oid->raw, mech_oids[i].der, oid->raw_len) == 0)
			return mech_oids[i].mech;
	}
	return SPNEGO_MECH_UNKNOWN;
}

/* [n] { OCTET STRING } -> view of the string's contents. */
static int parse_octets(const struct tlv *t, const uint8_t **view, size_t *len)
{
	struct tlv s;
	int rc = der_only(t, DER_OCTET_STRING, &s);

	if (rc)
		return rc;
	*view = s.val;
	*len = s.len;
	return 0;
}

/* mechTypes [0] { SEQUENCE OF OID } */
static int parse_mechtypes(const struct tlv *t, struct spnego_msg *m)
{
	struct tlv seq, oid;
	struct der d;
	int rc = der_only(t, DER_SEQUENCE, &seq);

	if (rc)
		return rc;
	m->mech_types_der = seq.raw;
	m->mech_types_der_len = seq.raw_len;
	d = der_over(seq.val, seq.len);
	while (!der_done(&d)) {
		rc = der_next(&d, &oid);
		if (rc)
			return rc;
		if (oid.tag != DER_OID || oid.len == 0)
			return -EBADMSG;
		if (m->n_mechs < SPNEGO_MAX_MECHS)
			m->mechs[m->n_mechs++] = mech_from_oid(&oid);
		m->total_mechs++;
	}
	return 0;
}

/*
 * NegTokenInit (RFC 4178 4.2.1) and NegTokenInit2 (MS-SPNG 2.2.1):
 *   SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2],
 *              mechListMIC [3] (RFC) | negHints [3] (MS), mechListMIC [4] (MS) }
 */
static int parse_init(const struct tlv *t, struct spnego_msg *m)
{
	struct tlv seq, e, v;
	struct der d;
	int last = -1, rc;

	m->kind = SPNEGO_NEG_TOKEN_INIT;
	rc = der_only(t, DER_SEQUENCE, &seq);
	if (rc)
		return rc;
	d = der_over(seq.val, seq.len);
	while (!der_done(&d)) {
		rc = der_next(&d, &e);
		if (rc)
			return rc;
		if ((e.tag & DER_CTX_MASK) != DER_CTX_0 || (int)(e.tag - DER_CTX_0) <= last)
			return -EBADMSG;
		last = e.tag - DER_CTX_0;
		switch (e.tag) {
		case DER_CTX_0:
			rc = parse_mechtypes(&e, m);
			break;
		case DER_CTX_2:
			rc = parse_octets(&e, &m->mech_token, &m->mech_token_len);
			break;
		case DER_CTX_3:
			/* RFC 4178 mechListMIC is an OCTET STRING; MS-SPNG negHints a SEQUENCE. */
			if (e.len && e.val[0] == DER_OCTET_STRING)
				rc = parse_octets(&e, &m->mech_list_mic, &m->mech_list_mic_len);
			else
				rc = der_only(&e, DER_SEQUENCE, &v); /* negHints, ignored */
			break;
		case DER_CTX_4:
			rc = parse_octets(&e, &m->mech_list_mic, &m->mech_list_mic_len);
			break;
		default:
			break; /* reqFlags [1] and unknown extensions: well-formed, ignored */
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* NegTokenResp (RFC 4178 4.2.2): SEQUENCE { negState [0], supportedMech [1],
 * responseToken [2], mechListMIC [3] }, all optional. */
static int parse_resp(const struct tlv *t, struct spnego_msg *m)
{
	struct tlv seq, e, v;
	struct der d;
	int last = -1, rc;

	m->kind = SPNEGO_NEG_TOKEN_RESP;
	rc = der_only(t, DER_SEQUENCE, &seq);
	if (rc)
		return rc;
	d = der_over(seq.val, seq.len);
	while (!der_done(&d)) {
		rc = der_next(&d, &e);
		if (rc)
			return rc;
		if ((e.tag & DER_CTX_MASK) != DER_CTX_0 || (int)(e.tag - DER_CTX_0) <= last)
			return -EBADMSG;
		last = e.tag - DER_CTX_0;
		switch (e.tag) {
		case DER_CTX_0:
			rc = der_only(&e, DER_ENUMERATED, &v);
			if (!rc && (v.len != 1 || v.val[0] > SPNEGO_REQUEST_MIC))
				rc = -EBADMSG;
			if (!rc)
				m->neg_state = (enum spnego_neg_state)v.val[0];
			break;
		case DER_CTX_1:
			rc = der_only(&e, DER_OID, &v);
			if (!rc && v.len == 0)
				rc = -EBADMSG;
			if (!rc) {
				m->has_supported_mech = true;
				m->supported_mech = mech_from_oid(&v);
			}
			break;
		case DER_CTX_2:
			rc = parse_octets(&e, &m->mech_token, &m->mech_token_len);
			break;
		case DER_CTX_3:
			rc = parse_octets(&e, &m->mech_list_mic, &m->mech_list_mic_len);
			break;
		default:
			break;
		}
		if (rc)
			return rc;
	}
	return 0;
}

int spnego_parse(const uint8_t *in, size_t len, struct spnego_msg *m)
{
	struct der d = der_over(in, len), inner;
	struct tlv top, oid, tok;
	int rc;

	memset(m, 0, sizeof(*m));
	m->neg_state = SPNEGO_NEG_STATE_ABSENT;
	if (!in || len == 0)
		return -ENODATA;
	rc = der_next(&d, &top);
	if (rc)
		goto bad;
	if (!der_done(&d)) {
		rc = -EBADMSG; /* trailing bytes after the token */
		goto bad;
	}
	switch (top.tag) {
	case DER_APPLICATION_0:
		/* InitialContextToken: thisMech OID, then innerContextToken. */
		inner = der_over(top.val, top.len);
		rc = der_next(&inner, &oid);
		if (rc)
			goto bad;
		if (oid.raw_len != sizeof(spnego_oid) ||
		    memcmp(oid.raw, spnego_oid, sizeof(spnego_oid)) != 0) {
			rc = -EBADMSG;
			goto bad;
		}
		rc = der_next(&inner, &tok);
		if (rc)
			goto bad;
		if (tok.tag != DER_CTX_0 || !der_done(&inner)) {
			rc = -EBADMSG;
			goto bad;
		}
		rc = parse_init(&tok, m);
		break;
	case DER_CTX_0:
		rc = parse_init(&top, m);
		break;
	case DER_CTX_1:
		rc = parse_resp(&top, m);
		break;
	default:
		rc = -EBADMSG;
		break;
	}
	if (rc == 0)
		return 0;
bad:
	memset(m, 0, sizeof(*m));
	m->neg_state = SPNEGO_NEG_STATE_ABSENT;
	return -EBADMSG;
}

bool spnego_has_mech(const struct spnego_msg *m, enum spnego_mech mech)
{
	if (m->kind == SPNEGO_NEG_TOKEN_RESP)
		return m->has_supported_mech && m->supported_mech == mech;
	for (size_t i = 0; i < m->n_mechs; i++) {
		if (m->mechs[i] == mech)
			return true;
	}
	return false;
}
