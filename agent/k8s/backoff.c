// SPDX-License-Identifier: Apache-2.0
#include "backoff.h"

uint32_t k8s_backoff_rand(struct k8s_backoff *b)
{
	uint32_t x = b->rng ? b->rng : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	b->rng = x;
	return x;
}

uint32_t k8s_backoff_next(struct k8s_backoff *b)
{
	uint32_t min = b->min_ms ? b->min_ms : 200;
	uint32_t max = b->max_ms ? b->max_ms : 30000;
	uint32_t d, ret;

	if (b->cur_ms < min)
		b->cur_ms = min;
	d = b->cur_ms;
	b->cur_ms = d > max / 2 ? max : d * 2;
	/* Up to half again on top, then clamp: spread but bounded. */
	ret = d + k8s_backoff_rand(b) % (d / 2 + 1);
	return ret > max ? max : ret;
}

void k8s_backoff_reset(struct k8s_backoff *b)
{
	b->cur_ms = 0;
}
