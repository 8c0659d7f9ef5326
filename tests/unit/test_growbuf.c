// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

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

/* A pipe holding @len bytes of 'a', write end closed. */
static int pipe_with(size_t len)
{
	static char data[10000];
	int p[2];

	memset(data, 'a', sizeof(data));
	assert_int_equal(pipe(p), 0);
	assert_true(len <= sizeof(data));
	assert_int_equal(write(p[1], data, len), (ssize_t)len);
	close(p[1]);
	return p[0];
}

static void test_read_fd_reads_everything_nul_terminated(void **state)
{
	int fd = pipe_with(9000);	/* more than the first 4 KiB buffer */
	size_t len = 0;
	char *buf = NULL;

	assert_int_equal(growbuf_read_fd(fd, 1 << 20, &buf, &len), 0);
	assert_int_equal(len, 9000);
	assert_int_equal(buf[8999], 'a');
	assert_int_equal(buf[9000], '\0');
	free(buf);
	close(fd);
}

static void test_read_fd_refuses_more_than_max(void **state)
{
	int fd = pipe_with(9000);
	size_t len = 0;
	char *buf = NULL;

	assert_int_equal(growbuf_read_fd(fd, 8192, &buf, &len), -EMSGSIZE);
	assert_null(buf);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room_left_keeps_the_buffer),
		cmocka_unit_test(test_doubles_until_it_fits),
		cmocka_unit_test(test_refuses_past_the_limit),
		cmocka_unit_test(test_read_fd_reads_everything_nul_terminated),
		cmocka_unit_test(test_read_fd_refuses_more_than_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
