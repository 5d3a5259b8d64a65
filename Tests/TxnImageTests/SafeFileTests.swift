import Foundation
import XCTest
@testable import TxnFiles
@testable import TxnImage
@testable import TxnTensor

/// Input only from regular files of bounded size; output only onto new paths or regular files (issue 10, classes 3, 4, 8).
final class SafeFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory(self) }
    override func tearDown() { MemoryBudget.limitBytes = MemoryBudget.defaultLimitBytes }

    func testDevicesAreNotReadUntilMemoryRunsOut() {
        assertImageError(.ioError, path: "/dev/zero", reasonContains: "is a character device, not a regular file") {
            try Image.load("/dev/zero")
        }
    }

    func testAFIFOIsRefusedWithoutBlocking() throws {
        let fifo = directory + "/pipe.png"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let start = Date()
        assertImageError(.ioError, path: fifo, reasonContains: "is a FIFO") { try Image.load(fifo) }
        XCTAssertThrowsError(try SafeFile.checkReadable(fifo))  // what `model` checks before the checkpoint reader opens it
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testFilesOverTheBudgetAreRefusedBeforeReading() throws {
        let path = directory + "/big.png"
        try writeFile([UInt8](repeating: 7, count: 3 << 20), path)
        try MemoryBudget.setLimit(mebibytes: 2)
        // Over the memory limit, said in no front end's words: each adds how it raises the limit.
        assertImageError(.tooLarge, path: path, reasonContains: "(the memory limit)") { try Image.load(path) }
        XCTAssertThrowsError(try Image.load(path)) { error in
            XCTAssertEqual((error as? ImageError)?.isOverMemoryLimit, true, "\(error)")
            XCTAssertFalse("\(error)".contains("--max-memory") || "\(error)".contains("set memory"), "\(error)")
        }
        XCTAssertEqual(try SafeFile.read(path, limit: 4 << 20).count, 3 << 20)
    }

    func testNULInAPathIsAnErrorNotATruncation() throws {
        let real = directory + "/a.png"
        try Image(width: 2, height: 2, fill: (0.5, 0.5, 0.5)).save(real)
        assertImageError(.invalidArgument, path: nil, reasonContains: "NUL") { try Image.load(real + "\0ignored") }
        assertImageError(.invalidArgument, path: nil, reasonContains: "NUL") {
            try Image(width: 2, height: 2, fill: (0, 0, 0)).save(directory + "/b.png\0.txt")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["a.png"])
    }

    func testOutputNeverReplacesASymlinkOrADevice() throws {
        let target = directory + "/target.png"
        try writeFile([1, 2, 3], target)
        let link = directory + "/link.png"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let image = Image(width: 2, height: 2, fill: (0.1, 0.2, 0.3))
        assertImageError(.ioError, path: link, reasonContains: "is a symbolic link") { try image.save(link) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), Data([1, 2, 3]))
        XCTAssertThrowsError(try SafeFile.write([1], to: "/dev/null")) { error in
            XCTAssertTrue("\(error)".contains("is a character device: txn only replaces regular files"), "\(error)")
        }
        XCTAssertThrowsError(try SafeFile.checkWritable("/dev/null"))
        var info = stat()
        XCTAssertEqual(lstat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a device")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: directory)), ["target.png", "link.png"])
    }

    func testALongValidNameGetsAValidTemporaryName() throws {
        let name = String(repeating: "é", count: 125) + ".png"  // 254 bytes: valid, but not with a prefix and suffix
        XCTAssertEqual(name.utf8.count, 254)
        let path = directory + "/" + name
        try Image(width: 3, height: 2, fill: (0.5, 0.5, 0.5)).save(path)
        XCTAssertEqual(try Image.load(path).image.width, 3)
        XCTAssertLessThanOrEqual(SafeFile.temporaryName(for: name, random: .max).utf8.count, 255)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [name])
    }

    func testWritabilityIsKnownBeforeTheWork() throws {
        XCTAssertNoThrow(try SafeFile.checkWritable(directory + "/new.png"))
        XCTAssertThrowsError(try SafeFile.checkWritable(directory + "/missing/dir/x.png"))
        XCTAssertNoThrow(try SafeFile.checkWritable(directory + "/missing/dir/x.png", createFolders: true))
        try SafeFile.write([9], to: directory + "/missing/dir/x.png", createFolders: true)
        XCTAssertEqual(try SafeFile.read(directory + "/missing/dir/x.png"), [9])
    }

    /// A relative output in a new one-character folder ("a/G.pth"): Foundation's deletingLastPathComponent traps on
    /// the folder's name, which crashed `txn gan train -o a/G.pth`.
    func testParentPathsOfShortAndRelativePaths() throws {
        let cases = ["a/G.pth": "a", "a": "", "b.png": "", "/x": "/", "/": "/", "./c/G.pth": "./c", "a/b/": "a",
                     "a//b": "a", "/a/b/c.png": "/a/b", "": ""]
        for (path, parent) in cases { XCTAssertEqual(parentPath(path), parent, path) }
        let saved = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(saved) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
        XCTAssertNoThrow(try SafeFile.checkWritable("a/G.pth", createFolders: true))
        try SafeFile.write([7], to: "a/G.pth", createFolders: true)
        XCTAssertEqual(try SafeFile.read(directory + "/a/G.pth"), [7])
    }

    /// The streamed write (checkpoints) is the same atomic write: a failure inside the body leaves the old file
    /// and no temporary file; a replaced file keeps its permissions; large blocks pass through the buffer.
    func testTheStreamedWriteIsAtomicAndKeepsPermissions() throws {
        let path = directory + "/c.pth"
        try writeFile([1, 2, 3], path)
        XCTAssertEqual(chmod(path, 0o640), 0)
        struct Stop: Error {}
        XCTAssertThrowsError(try SafeFile.write(to: path) { sink in
            try [UInt8](repeating: 5, count: 100_000).withUnsafeBytes { try sink.write($0) }
            throw Stop()
        }) { XCTAssertTrue($0 is Stop, "the body's error passes through unchanged: \($0)") }
        XCTAssertEqual(try SafeFile.read(path, limit: 10), [1, 2, 3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["c.pth"])
        let big = (0..<200_000).map { UInt8($0 % 251) }
        try SafeFile.write(to: path) { sink in
            try [UInt8]([7]).withUnsafeBytes { try sink.write($0) }
            try big.withUnsafeBytes { try sink.write($0) }
            XCTAssertEqual(sink.position, 1 + big.count)
        }
        XCTAssertEqual(try SafeFile.read(path, limit: 1 << 20), [7] + big)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int, 0o640)
        XCTAssertThrowsError(try SafeFile.write([1], to: directory + "/")) { XCTAssertTrue("\($0)".contains("not a file name"), "\($0)") }
    }
}
