/* check.h - the tests' assertions: count failures, print the first ones with
 * file:line, and make main's exit code non-zero (llm.c's test forgot that: we don't).
 * Use: CHECK(cond, "fmt", ...); CHECK_NEAR(a, b, tol); return check_done(); */
#ifndef WN_CHECK_H
#define WN_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        check_count++;                                                                     \
        if (!(cond)) {                                                                     \
            if (check_failures++ < 50) {                                                   \
                fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);   \
                fprintf(stderr, __VA_ARGS__);                                              \
                fputc('\n', stderr);                                                       \
            }                                                                              \
        }                                                                                  \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, %s = %.9g, tolerance %g", #a, \
          (double)(a), #b, (double)(b), (double)(tol))

/* Call at the end of main. */
static inline int check_done(void) {
    if (check_failures) fprintf(stderr, "%d of %d checks failed\n", check_failures, check_count);
    else fprintf(stderr, "all %d checks passed\n", check_count);
    return check_failures ? 1 : 0;
}

/* Print a reason and exit 77 (SKIPPED), for tests that need what is absent. */
#define SKIP_TEST(...)                                                                     \
    do {                                                                                   \
        printf("SKIPPED: ");                                                               \
        printf(__VA_ARGS__);                                                               \
        printf("\n");                                                                      \
        exit(77);                                                                          \
    } while (0)

/* For what a test needs but the repository cannot hold (real weights, ../shared, a
 * tool): SKIPPED, except in CI (CI=true), where a test that is asked to run and cannot
 * find its data fails. What the repository holds is never skipped: CHECK it. */
#define SKIP_OR_FAIL(...)                                                                  \
    do {                                                                                   \
        const char *ci_ = getenv("CI");                                                    \
        int fail_ = ci_ && !strcmp(ci_, "true");                                           \
        printf(fail_ ? "FAIL (CI=true, so not skipped): " : "SKIPPED: ");                  \
        printf(__VA_ARGS__);                                                               \
        printf("\n");                                                                      \
        exit(fail_ ? 1 : 77);                                                              \
    } while (0)
#endif
