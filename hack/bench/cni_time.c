// SPDX-License-Identifier: Apache-2.0
/*
 * cni_time: run one program the way a container runtime runs a CNI plugin and
 * print its wall time.
 *
 *   cni_time [-o OUT] STDIN_FILE PROG [ARG...]
 *
 * PROG runs with the caller's environment (CNI_COMMAND, CNI_NETNS, ... are set
 * by the caller), stdin read from STDIN_FILE, stdout written to OUT (default
 * /dev/null) and stderr inherited.  The clock runs from just before the spawn
 * to the reaping of the child, so it covers exactly what a runtime waits for:
 * process creation, dynamic linking, the plugin's work and exit.  The spawn
 * is posix_spawn() (clone(CLONE_VM|CLONE_VFORK) in glibc), as cheap as Go's
 * os/exec that containerd and CRI-O use.
 *
 * Prints "<elapsed µs with 0.1 µs resolution>\n" on stdout and exits with the
 * child's exit status (128 + signal if it was killed).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

extern char **environ;

static void usage(void)
{
	fprintf(stderr, "usage: cni_time [-o OUT] STDIN_FILE PROG [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	const char *out = "/dev/null";
	long long t0, t1;
	int opt, status, err;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+o:")) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2)
		usage();

	/* Check the files here, so a typo is not timed as a failing plugin. */
	if (access(argv[optind], R_OK) < 0 || access(argv[optind + 1], X_OK) < 0) {
		fprintf(stderr, "cni_time: %s\n", strerror(errno));
		return 2;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, argv[optind], O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	t0 = now_ns();
	err = posix_spawn(&pid, argv[optind + 1], &fa, NULL, &argv[optind + 1], environ);
	if (err) {
		fprintf(stderr, "cni_time: spawn %s: %s\n", argv[optind + 1], strerror(err));
		return 2;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("cni_time: waitpid");
			return 2;
		}
	}
	t1 = now_ns();
	posix_spawn_file_actions_destroy(&fa);

	printf("%.1f\n", (t1 - t0) / 1000.0);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
