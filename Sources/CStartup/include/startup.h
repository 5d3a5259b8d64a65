#ifndef TXN_STARTUP_H
#define TXN_STARTUP_H
#include <sys/types.h>
/* What txn's process does at start in C: the CPU check (before main, in a constructor: see startup.c) and the
   parent-death signal, which Swift cannot call (prctl is variadic). */

/* The instruction-set extensions this build of txn was compiled for, as a readable list ("avx2 fma bmi2", or ""
   for a build for the baseline x86-64). */
const char *txn_required_cpu_features(void);

/* Asks Linux to SIGKILL this process when its parent dies; returns 0 if the parent is still `parent`, -1 if it
   is already gone (then the caller exits). */
int txn_die_with_parent(pid_t parent);
#endif
