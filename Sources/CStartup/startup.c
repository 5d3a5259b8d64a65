/* txn's Swift and C code is compiled for a target CPU (Package.swift: "haswell" by default, so AVX2, FMA, BMI2).
   On an older CPU its first vector instruction would kill it with SIGILL, "illegal instruction", and no word of
   why. This file is compiled for the baseline x86-64 and checks the CPU in a constructor, before main and before
   any code built for the target runs, and says in one line what is missing. */
#include "startup.h"
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(TXN_REQUIRES_AVX2) && (defined(__x86_64__) || defined(__i386__))
const char *txn_required_cpu_features(void) { return "avx2 fma bmi2"; }

static void say(const char *s) { ssize_t r = write(2, s, strlen(s)); (void)r; }

__attribute__((constructor)) static void txn_check_cpu(void) {
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2"), fma = __builtin_cpu_supports("fma"), bmi2 = __builtin_cpu_supports("bmi2");
    if (avx2 && fma && bmi2) return;
    say("txn: this CPU lacks");
    if (!avx2) say(" AVX2");
    if (!fma) say(" FMA");
    if (!bmi2) say(" BMI2");
    say(", which this build of txn needs (it is compiled for x86-64 'haswell', 2013 or later); "
        "rebuild for this CPU with TXN_TARGET_CPU=native swift build -c release\n");
    _exit(1);
}
#else
const char *txn_required_cpu_features(void) { return ""; }
#endif

int txn_die_with_parent(pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    return getppid() == parent ? 0 : -1;
}
