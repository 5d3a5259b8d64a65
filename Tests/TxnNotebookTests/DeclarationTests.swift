import Foundation
import XCTest
import TxnImage
@testable import TxnNotebook
import TxnVGG

/// Each command's arguments are declared once (name, type, default, range) and the commands read them only
/// through that declaration (issue 10, "declare each command's arguments once, typed").
final class DeclarationTests: XCTestCase {
    /// Which declared types each accessor of `Arguments` can read.
    private static let accessorTypes: [String: (ParamType) -> Bool] = [
        "int": { if case .integer = $0 { return true } else { return false } },
        "number": { if case .number = $0 { return true } else { return false } },
        "bool": { if case .bool = $0 { return true } else { return false } },
        "size": { if case .size = $0 { return true } else { return false } },
        "choice": { if case .choice = $0 { return true } else { return false } },
        "layers": { if case .layers = $0 { return true } else { return false } },
        "numbers": { if case .numbers = $0 { return true } else { return false } },
        "wholeNumbers": { if case .numbers = $0 { return true } else { return false } },
        "string": { switch $0 { case .string, .path: return true; default: return false } },
        "image": { switch $0 { case .image, .any: return true; default: return false } },
        "optionalImage": { switch $0 { case .image, .any: return true; default: return false } },
        "model": { if case .model = $0 { return true } else { return false } },
        "gan": { if case .any = $0 { return true } else { return false } },
        "seed": { if case .integer = $0 { return true } else { return false } },
        "any": { _ in true }, "raw": { _ in true }, "has": { _ in true }, "value": { _ in true }, "ref": { _ in true },
    ]

    /// Walks the source of every command: each argument a command reads (`args.int("steps")`, `args.seed(…)`)
    /// is declared by that command, with a type the accessor can read.
    func testEveryArgumentACommandReadsIsDeclaredWithItsType() throws {
        let folders = ["Commands", "Teaching"].map { InterpreterTests.repoRoot + "/Sources/TxnNotebook/" + $0 }
        let specs = Dictionary(uniqueKeysWithValues: allCommands().map { ($0.name, $0) })
        let access = try NSRegularExpression(pattern: #"args\.(\w+)\((?:"([^"]+)")?"#)
        let commandName = try NSRegularExpression(pattern: #"name: "(\w+)""#)
        var seenCommands = Set<String>(), reads = 0
        for folder in folders {
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".swift") {
            let source = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            // One chunk per command: from its `CommandSpec(` to the next.
            for chunk in source.components(separatedBy: "CommandSpec(").dropFirst() {
                let ns = chunk as NSString
                guard let m = commandName.firstMatch(in: chunk, range: NSRange(location: 0, length: ns.length)) else { continue }
                let name = ns.substring(with: m.range(at: 1))
                let spec = try XCTUnwrap(specs[name], "\(file): no command '\(name)'")
                seenCommands.insert(name)
                for a in access.matches(in: chunk, range: NSRange(location: 0, length: ns.length)) {
                    let accessor = ns.substring(with: a.range(at: 1))
                    guard let accepts = Self.accessorTypes[accessor] else { continue }  // not an argument accessor
                    let argument = a.range(at: 2).location == NSNotFound ? (accessor == "seed" ? "seed" : nil) : ns.substring(with: a.range(at: 2))
                    let param = try XCTUnwrap(argument.flatMap { a in (spec.keys + spec.positional).first { $0.name == a } },
                                              "\(name) reads '\(argument ?? "?")' with args.\(accessor) but does not declare it")
                    XCTAssertTrue(accepts(param.type), "\(name): args.\(accessor)(\"\(param.name)\") reads a parameter declared \(param.type.name)")
                    reads += 1
                }
            }
        }
        }
        XCTAssertEqual(seenCommands, Set(specs.keys), "commands whose source the walk did not find")
        XCTAssertGreaterThan(reads, 80, "the walk found too few argument reads to mean anything")
    }

    /// Every declared default is read by the command's own accessor for its type: it parses as its type and lies
    /// in its range. Nothing else gives a default: a required argument stays required.
    func testEveryDeclaredDefaultParsesAsItsType() throws {
        var checked = 0
        for spec in allCommands() {
            let args = Arguments(spec: spec, positional: [], keywords: [:])
            for p in spec.positional + spec.keys {
                guard case .value(let v)? = p.fallback else {
                    if p.required { XCTAssertThrowsError(try args.any(p.name), "\(spec.name) \(p.name)") }
                    continue
                }
                XCTAssertNoThrow(try { () throws -> Void in
                    switch p.type {
                    case .integer: _ = try args.int(p.name)
                    case .number: _ = try args.number(p.name)
                    case .bool: _ = try args.bool(p.name)
                    case .size: _ = try args.size(p.name)
                    case .choice: _ = try args.choice(p.name)
                    case .layers: _ = try args.layers(p.name)
                    case .numbers: _ = try args.numbers(p.name)
                    case .string, .path: _ = try args.string(p.name)
                    case .any: _ = try args.any(p.name)
                    default: XCTFail("\(spec.name) \(p.name): a \(p.type.name) cannot have a written default (\(v.asWritten))")
                    }
                }(), "\(spec.name) \(p.name)=\(v.asWritten)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 30)
    }

    func testReadingAnUndeclaredArgumentIsAnErrorNotACrash() throws {
        let optimize = try XCTUnwrap(allCommands().first { $0.name == "optimize" })
        let args = Arguments(spec: optimize, positional: [], keywords: [:])
        XCTAssertThrowsError(try args.int("stepz")) { e in
            XCTAssertEqual((e as? CommandError)?.message, "internal error: optimize reads 'stepz', which it does not declare")
        }
        // A second default besides the declared one would be two places for one default.
        XCTAssertThrowsError(try args.int("history", default: 5)) { e in
            XCTAssertTrue("\(e)".contains("besides its declared one"), "\(e)")
        }
        XCTAssertEqual(try args.int("history"), 20)
        XCTAssertNil(try args.steps("steps"), "absent steps are decided by the size (`Octaves.defaultSteps`)")
        XCTAssertEqual(try args.layers("layers"), VGG19.gatysLayers)
        XCTAssertEqual(try args.numbers("weights"), [VGG19.gatysLayerWeight])
        XCTAssertEqual(try args.int("every", default: 7), 7, "a default decided when the command runs")
        XCTAssertEqual(try args.seed(session: 42), 42)
    }

    /// Help is made from the declarations: the same text as when the defaults were written out by hand.
    func testHelpShowsTheDeclaredDefaults() throws {
        let specs = Dictionary(uniqueKeysWithValues: allCommands().map { ($0.name, $0) })
        XCTAssertEqual(specs["optimize"]?.usage, "optimize <source> [model] size=256 steps=(by size) optimizer=lbfgs history=20 lr=0.02 "
            + "layers=conv1_1,pool1,pool2,pool3,pool4 weights=1000000000 norm=pixels padding=(model) pooling=(model) init=meannoise "
            + "sigma=0.01 seed=(session) bounds=source histmatch=false every=10 snapshot=0 distance=true show=false "
            + "loss=gram projections=(channels) sw_weight=0.1 redraw=10 octaves=(auto) octave_steps=(steps, else by size) eval_tile=(auto) log=(none)")
        XCTAssertEqual(specs["model"]?.usage, "model [path] pooling=avg padding=reflect convention=auto upto=pool4 algorithm=auto")
        XCTAssertEqual(specs["tile"]?.usage, "tile <image> [grid]")
        XCTAssertTrue(specs["tile"]?.help.contains("grid           size (N or WxH), optional") == true)
        XCTAssertEqual(specs["animate"]?.usage, "animate <gan> <path> size=128 frames=40 walk=sine delay=7 seed=(session)")
        XCTAssertEqual(specs["gan"]?.usage, "gan <source> preset=small crop=(preset) batch=(preset) scaling=1 augment=false lr=(preset) seed=(session) periodic=false split=(preset)")
        XCTAssertEqual(VGG19.gatysDeepestLayer, try VGG19.deepestLayer(of: VGG19.gatysLayers))
    }

    /// Ranges come from the declaration too.
    func testDeclaredRangesAreChecked() throws {
        let out = RecordingOutput(next: nil)
        let tmp = NSTemporaryDirectory() + "txn-decl-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let interp = Interpreter(output: out, baseDirectory: tmp, outputDirectory: tmp, modelsDirectory: "/nonexistent")
        func error(_ source: String) -> String? { interp.run(source: source, file: "t.txn").first?.message }
        XCTAssertNil(error("x = noise size=8"))
        XCTAssertEqual(error("save x \"a.jpg\" quality=0"), "quality: 0 is out of range 1…100")
        XCTAssertEqual(error("m = montage [x, x] height=8"), "height: 8 is out of range 16…4096")
        XCTAssertEqual(error("set seed=-1"), "seed: -1 is out of range 0…2147483647")
        XCTAssertEqual(error("y = noise seed=-1"), "seed: -1 is out of range 0…2147483647")
        XCTAssertNil(error("y = noise"))
        guard case .image(let y)? = interp.variables["y"] else { return XCTFail("no image") }
        XCTAssertEqual([y.width, y.height], [256, 256], "noise's declared size")
    }

    /// Completion splits the line where the scanner does: an assignment without spaces, `time` before an
    /// assignment, and nothing inside a comment.
    func testCompletionUsesTheScannersWords() {
        let interp = Interpreter(output: RecordingOutput(next: nil), baseDirectory: "/", modelsDirectory: "/nonexistent")
        let line1 = "x=noise s"
        XCTAssertEqual(Set(interp.complete(line: line1, cursor: line1.count).candidates), ["seed=", "sigma=", "size="])
        let line2 = "time x = noise si"
        XCTAssertEqual(Set(interp.complete(line: line2, cursor: line2.count).candidates), ["sigma=", "size="])
        let line3 = "x = noise # s"
        XCTAssertEqual(interp.complete(line: line3, cursor: line3.count).candidates, [])
        let line4 = "gram f norm=pixels-c"
        let c = interp.complete(line: line4, cursor: line4.count)
        XCTAssertEqual(c.candidates, ["pixels-channels"])
        XCTAssertEqual(c.start, 12)
        let line5 = "x = noise size=8; y = opt"
        XCTAssertEqual(interp.complete(line: line5, cursor: line5.count).candidates, ["optimize"])
    }
}
