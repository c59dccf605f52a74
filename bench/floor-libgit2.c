/* The floor for one process per record: a program that only calls
 * git_libgit2_init(), as the ledger issue defines it. */
#include <git2.h>

int main(void)
{
	git_libgit2_init();
	git_libgit2_shutdown();
	return 0;
}
