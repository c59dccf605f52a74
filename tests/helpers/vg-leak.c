/*
 * vg-leak: loses 64 bytes on purpose, so that t0811 can show that
 * `make valgrind` sees a definite leak (a harness that cannot fail
 * proves nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(64);

	if (!p)
		return 1;
	memset(p, 'x', 64);
	printf("%c\n", p[63]);
	p = NULL; /* the only pointer is gone: a definite leak */
	return 0;
}
