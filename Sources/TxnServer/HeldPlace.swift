import Foundation

/// A place taken in something the server bounds (an event stream's slot in `StreamCounter`, an upload's place in
/// `UploadPool`), given back exactly once: by `giveBack()`, or at the latest when the last reference goes (a response
/// that was never written), so no path a connection ends by can keep it.
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
