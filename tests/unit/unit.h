/*
 * unit.h: what every Check suite in tests/unit shares.
 */
#ifndef SAMSA_TEST_UNIT_H
#define SAMSA_TEST_UNIT_H

#include <check.h>

/* Runs every test of the suite (and frees it); returns the exit status for
 * main(): 0 when all passed. */
int unit_run(Suite *suite);

#endif
