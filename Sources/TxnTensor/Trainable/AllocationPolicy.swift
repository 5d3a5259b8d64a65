/// How glibc should treat the large buffers of training.
public enum AllocationPolicy {
    /// Training allocates and frees the same large buffers (activations, unfolded patches) every iteration. txn
    /// starts with a fixed 1 MiB mmap threshold (good for synthesis, which allocates once per size), under which each
    /// of those buffers is a fresh mmap whose pages fault in again: 0.5 s of 2.7 s per seed-preset iteration. Keeping
    /// them in the heap instead makes later iterations reuse the same pages (2.2 s), at no cost in peak memory,
    /// since the sizes repeat. Called by the trainer; idempotent.
    public static func reuseLargeBuffers() {
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 1 << 30)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, Int32.max)
    }
}

/// glibc's `mallopt` (malloc.h is not part of Swift's Glibc module).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
