import Foundation

/// A place taken in something the server bounds (an event stream's slot, an upload's place in `UploadPool`, both
/// counted by a `PlaceCounter`), given back exactly once: by `giveBack()`, or at the latest when the last reference
/// goes (a response that was never written), so no path a connection ends by can keep it.
final class HeldPlace: @unchecked Sendable {
    private let giveBackToOwner: () -> Void
    private let lock = NSLock()
    private var held = true

    /// `giveBack` returns the place to its owner; it is called once.
    init(givenBackBy giveBack: @escaping () -> Void) { giveBackToOwner = giveBack }

    func giveBack() {
        lock.lock()
        let wasHeld = held
        held = false
        lock.unlock()
        if wasHeld { giveBackToOwner() }
    }

    deinit { giveBack() }
}

/// Counts the places held against a limit (open event streams; uploads in the server).
final class PlaceCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var held = 0

    /// A place, or nil when `limit` are held.
    func acquire(limit: Int) -> HeldPlace? {
        lock.lock(); defer { lock.unlock() }
        guard held < limit else { return nil }
        held += 1
        return HeldPlace(givenBackBy: release)
    }

    private func release() {
        lock.lock(); defer { lock.unlock() }
        held -= 1
    }

    var count: Int { lock.lock(); defer { lock.unlock() }; return held }
}
