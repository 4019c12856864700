/*
 * credits.h - SMB2 credit and MessageId accounting (MS-SMB2 3.2.4.1.5, 3.2.5.1.4).
 *
 * Pure bookkeeping, no locks: owned by one connection's loop thread.
 * A request costs max(1, CreditCharge) credits and as many consecutive
 * MessageIds. The server grants credits in every response; the window is
 * asked to grow towards `target`.
 */
#ifndef SMBF_NET_CREDITS_H
#define SMBF_NET_CREDITS_H

#include <stddef.h>
#include <stdint.h>

/* The most credits we will ever hold; larger totals are a protocol violation. */
#define CREDITS_MAX_HELD 65535u
/* One credit covers 64 KiB of payload with LARGE_MTU. */
#define CREDIT_UNIT 65536u

struct credits {
	uint32_t avail;      /* credits granted and not yet spent */
	uint32_t in_flight;  /* credits spent on requests still awaiting a final reply */
	uint64_t next_msgid; /* next MessageId to allocate */
	uint32_t target;     /* window the client asks the server to keep open */
	int large_mtu;       /* multi-credit requests allowed (2.1+ with LARGE_MTU) */
};

void credits_init(struct credits *c, uint32_t target);

/* CreditCharge for a request moving `payload` bytes (max of send and receive). */
uint16_t credits_charge_for(const struct credits *c, size_t payload);

/* True when a request of this charge can be sent now. */
int credits_can_send(const struct credits *c, uint16_t charge);

/*
 * Spend credits for a request of `charge`; returns its first MessageId.
 * Call only after credits_can_send().
 */
uint64_t credits_take(struct credits *c, uint16_t charge);

/* CreditRequest to put in a request of this charge. */
uint16_t credits_request_amount(const struct credits *c, uint16_t charge);

/*
 * A response arrived granting `granted` credits. `final` says the request it
 * answers is complete (not an interim STATUS_PENDING), releasing `charge`
 * credits from in_flight. Returns 0, or -EPROTO if the total would exceed
 * CREDITS_MAX_HELD.
 */
int credits_grant(struct credits *c, uint16_t granted, uint16_t charge, int final);

#endif
