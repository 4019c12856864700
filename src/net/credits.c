/*
 * credits.c - credit window bookkeeping. See credits.h.
 */
#include "net/credits.h"

#include <errno.h>

void credits_init(struct credits *c, uint32_t target)
{
	c->avail = 1; /* MS-SMB2 3.2.4.1.5: a new connection may send one request */
	c->in_flight = 0;
	c->next_msgid = 0;
	c->target = target ? target : 1;
	c->large_mtu = 0;
}

uint16_t credits_charge_for(const struct credits *c, size_t payload)
{
	size_t n;
	if (!c->large_mtu || payload == 0)
		return 1;
	n = (payload - 1) / CREDIT_UNIT + 1;
	return n > 0xFFFF ? 0xFFFF : (uint16_t)n;
}

static uint32_t cost(uint16_t charge)
{
	return charge ? charge : 1;
}

int credits_can_send(const struct credits *c, uint16_t charge)
{
	return c->avail >= cost(charge);
}

uint64_t credits_take(struct credits *c, uint16_t charge)
{
	uint64_t id = c->next_msgid;
	uint32_t n = cost(charge);
	c->avail -= n;
	c->in_flight += n;
	c->next_msgid += n;
	return id;
}

uint16_t credits_request_amount(const struct credits *c, uint16_t charge)
{
	uint32_t have = c->avail + c->in_flight;
	uint32_t want = cost(charge);
	if (have < c->target) {
		uint32_t grow = c->target - have;
		/* Grow at most 256 per request so a burst does not over-ask. */
		want += grow > 256 ? 256 : grow;
	}
	return want > 0xFFFF ? 0xFFFF : (uint16_t)want;
}

int credits_grant(struct credits *c, uint16_t granted, uint16_t charge, int final)
{
	if (final) {
		uint32_t n = cost(charge);
		c->in_flight = c->in_flight >= n ? c->in_flight - n : 0;
	}
	if ((uint64_t)c->avail + c->in_flight + granted > CREDITS_MAX_HELD)
		return -EPROTO;
	c->avail += granted;
	return 0;
}
