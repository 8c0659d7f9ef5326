// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "growbuf.h"

static void test_room_left_keeps_the_buffer(void **state)
{
	size_t cap = 16;
	char *buf = malloc(cap), *before = buf;

	assert_int_equal(growbuf_reserve(&buf, &cap, 10, 6, 64), 0);
	assert_ptr_equal(buf, before);
	assert_int_equal(cap, 16);
	free(buf);
}

static void test_doubles_until_it_fits(void **state)
{
	size_t cap = 16;
	char *buf = malloc(cap);

	assert_int_equal(growbuf_reserve(&buf, &cap, 16, 1, 64), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(growbuf_reserve(&buf, &cap, 20, 40, 64), 0);
	assert_int_equal(cap, 64);
	buf[63] = 'x';	/* the memory is really there (valgrind/ASan would say) */
	free(buf);
}

static void test_refuses_past_the_limit(void **state)
{
	size_t cap = 32;
	char *buf = malloc(cap);

	assert_int_equal(growbuf_reserve(&buf, &cap, 32, 1, 32), -EMSGSIZE);
	assert_int_equal(cap, 32);	/* untouched, still the caller's */
	assert_int_equal(growbuf_reserve(&buf, &cap, 30, 100, 64), -EMSGSIZE);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room_left_keeps_the_buffer),
		cmocka_unit_test(test_doubles_until_it_fits),
		cmocka_unit_test(test_refuses_past_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
