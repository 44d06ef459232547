/*
 * unit.c: the runner every Check suite in tests/unit uses.
 */
#include "unit.h"

#include <stdlib.h>

int unit_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
