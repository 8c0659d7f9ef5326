/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Jittered exponential backoff for reconnects: every agent in a cluster
 * retries when the apiserver comes back, so the delays must not line up.
 */
#ifndef PORIN_K8S_BACKOFF_H
#define PORIN_K8S_BACKOFF_H

#include <stdint.h>

struct k8s_backoff {
	uint32_t min_ms, max_ms;	/* 0: 200 ms and 30 s */
	uint32_t cur_ms;
	uint32_t rng;			/* xorshift state; 0 is reseeded */
};

/* The next delay, in [min_ms, max_ms]; doubles each call. */
uint32_t k8s_backoff_next(struct k8s_backoff *b);
void k8s_backoff_reset(struct k8s_backoff *b);
/* A pseudo-random number from the same state (watch timeouts). */
uint32_t k8s_backoff_rand(struct k8s_backoff *b);

#endif
