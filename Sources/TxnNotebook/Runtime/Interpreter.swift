import Foundation
import TxnFiles
import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// Runs notebook statements against a set of variables.
///
/// Every statement either completes or changes nothing: a command computes its value first and the
/// variable is assigned only when it succeeded, so a typo never loses what the session built.
public final class Interpreter {
    public var variables: [String: Value] = [:]
    /// Values for `param` statements given on the command line (`--set size=128`).
    public var overrides: [String: Value] = [:]
    public var output: OutputSink
    /// Where relative paths are read from (the notebook's folder; the working folder in the REPL).
    public var baseDirectory: String
    /// Where relative paths are written to.
    public var outputDirectory: String
    /// The folder of the default weights.
    public var modelsDirectory: String
    /// The checkpoint `model` loads when given no path (`txn --weights FILE`); nil: vgg_normalised.pth in
    /// `modelsDirectory`. The file itself, not its folder: `--weights DIR/x.pth` must load x.pth.
    public var defaultWeights: String?
    var defaultWeightsPath: String { defaultWeights ?? modelsDirectory + "/vgg_normalised.pth" }
    /// Seed for `noise`, crops and syntheses that do not give one.
    public var seed: UInt64 = 0
    /// Print progress of long commands every N iterations.
    public var progressEvery = 10
    /// Follows and stops long commands for a front end (the web interface); nil in the terminal.
    public var monitor: RunMonitor?
    /// Set by `quit`.
    public private(set) var quitRequested = false
    /// The model used by commands that are not given one: the last one `model` made.
    var currentModel: ModelValue?
    /// Commands in order of `help`.
    let commands: [CommandSpec]
    let commandsByName: [String: CommandSpec]
    /// The file being run, for `run` (nested files) and diagnostics.
    var fileStack: [String] = []

    public init(output: OutputSink = TerminalOutput(), baseDirectory: String = FileManager.default.currentDirectoryPath,
                outputDirectory: String? = nil, modelsDirectory: String) {
        self.output = output
        self.baseDirectory = baseDirectory
        self.outputDirectory = outputDirectory ?? baseDirectory
        self.modelsDirectory = modelsDirectory
        commands = allCommands()
        commandsByName = Dictionary(uniqueKeysWithValues: commands.map { ($0.name, $0) })
    }

    public var commandNames: [String] { commands.map(\.name) }

    public func print(_ text: String) { output.write(text + "\n") }

    // MARK: Running source

    /// One statement's outcome, for front ends that render notebooks.
    public struct Cell {
        public var item: NotebookItem
        public var output: String
        public var images: [(caption: String, image: Image)]
        public var error: Diagnostic?
        public var seconds: Double
    }

    /// Runs a whole notebook. Stops at the first error unless `keepGoing`; returns the error count.
    /// `onCell` sees each statement and prose block as it completes.
    @discardableResult
    public func run(source: String, file: String, firstLine: Int = 1, echo: Bool = false, keepGoing: Bool = false,
                    onCell: ((Cell) -> Void)? = nil) -> [Diagnostic] {
        let source = normalizedSource(source)
        let items: [NotebookItem]
        do {
            items = try Parser.parse(source, file: file, firstLine: firstLine)
        } catch let d as Diagnostic {
            output.write(d.description + "\n")
            return [d]
        } catch {
            let d = Diagnostic(file: file, location: SourceLocation(line: 1, column: 1), message: "\(error)")
            output.write(d.description + "\n")
            return [d]
        }
        let lines = SourceLines(source, firstLine: firstLine)
        var errors: [Diagnostic] = []
        fileStack.append(file)
        defer { fileStack.removeLast() }
        for item in items {
            guard !quitRequested else { break }
            switch item {
            case .prose:
                onCell?(Cell(item: item, output: "", images: [], error: nil, seconds: 0))
            case .statement(let s):
                if echo { output.write("\(file):\(s.line)> \(s.text)\n") }
                let recorder = RecordingOutput(next: output)
                let saved = output
                output = recorder
                let start = Date()
                var failure: Diagnostic?
                do {
                    try execute(s.statement, file: file, lines: lines)
                } catch let d as Diagnostic {
                    failure = d
                } catch {
                    failure = Diagnostic(file: file, location: s.statement.location, message: "\(error)",
                                         sourceLine: lines[s.line])
                }
                output = saved
                // Ctrl-C stops the run after the statement it came during (an optimisation has already
                // consumed it, keeping its best image); a second Ctrl-C before that ends the process.
                if failure == nil && Interrupt.isRequested {
                    Interrupt.reset()
                    failure = Diagnostic(file: file, location: s.statement.location, message: "interrupted (Ctrl-C): stopped after this statement",
                                         sourceLine: lines[s.line])
                }
                if let failure {
                    output.write(failure.description + "\n")
                    errors.append(failure)
                }
                onCell?(Cell(item: item, output: recorder.text, images: recorder.images, error: failure,
                             seconds: Date().timeIntervalSince(start)))
                if let failure, !keepGoing || failure.isInterruption { return errors }
            }
        }
        return errors
    }

    /// Runs one statement; errors carry their place in `file`.
    public func execute(_ statement: Statement, file: String, lines: SourceLines) throws {
        func diagnostic(_ message: String, at location: SourceLocation, notes: [String] = []) -> Diagnostic {
            Diagnostic(file: file, location: location, message: message, sourceLine: lines[location.line], notes: notes)
        }
        switch statement {
        case .parameter(let name, _, let expression):
            if let given = overrides[name] {
                variables[name] = given
            } else {
                variables[name] = try evaluate(expression, file: file, lines: lines)
            }
        case .assignment(let target, let location, let call):
            if commandsByName[target] != nil {
                throw diagnostic("'\(target)' is a command name; choose another variable name", at: location)
            }
            let value = try self.call(call, file: file, lines: lines)
            // Only now, after success, does the variable change.
            variables[target] = value
            if case .none = value {} else if !isQuiet(call.name) { print("\(target) = \(value.summary)") }
        case .command(let call):
            let value = try self.call(call, file: file, lines: lines)
            if case .none = value {} else if !isQuiet(call.name) { print(value.summary) }
        case .timed(let inner, _):
            let start = Date()
            try execute(inner, file: file, lines: lines)
            print(String(format: "time: %.3f s", Date().timeIntervalSince(start)))
        }
    }

    /// Commands whose result they already describe themselves.
    private func isQuiet(_ name: String) -> Bool { commandsByName[name]?.describesItsResult ?? false }

    func call(_ call: CommandCall, file: String, lines: SourceLines) throws -> Value {
        if let runUnbound = commandsByName[call.name]?.runUnbound { return try runUnbound(self, call, file, lines) }
        let arguments = try bind(call, file: file, lines: lines)
        return try located(call, file: file, lines: lines) { try arguments.spec.run(arguments, self) }
    }

    /// Checks a call's arguments against its command's spec and evaluates them.
    func bind(_ call: CommandCall, file: String, lines: SourceLines) throws -> Arguments {
        func diagnostic(_ message: String, at location: SourceLocation, notes: [String] = []) -> Diagnostic {
            Diagnostic(file: file, location: location, message: message, sourceLine: lines[location.line], notes: notes)
        }
        guard let spec = commandsByName[call.name] else {
            let suggestion = nearest(call.name, in: commandNames).map { " (did you mean '\($0)'?)" } ?? ""
            throw diagnostic("unknown command '\(call.name)'\(suggestion)", at: call.location,
                             notes: ["commands: \(commandNames.joined(separator: ", ")); `help NAME` explains one"])
        }
        guard call.positional.count <= spec.positional.count else {
            let extra = call.positional[spec.positional.count]
            throw diagnostic("\(call.name) takes \(spec.positional.count) positional argument\(spec.positional.count == 1 ? "" : "s"), "
                             + "this is one too many", at: extra.location, notes: ["usage: \(spec.usage)"])
        }
        var keywords: [String: Value] = [:]
        let validKeys = spec.keys.map(\.name) + spec.positional.map(\.name)
        for (key, location, expression) in call.keywords {
            guard validKeys.contains(key) else {
                let suggestion = nearest(key, in: validKeys).map { " (did you mean '\($0)'?)" } ?? ""
                throw diagnostic("\(call.name) has no key '\(key)'\(suggestion)", at: location,
                                 notes: ["valid keys: " + spec.keys.map { "\($0.name)=\($0.defaultText ?? "…")" }.joined(separator: " ")])
            }
            keywords[key] = try evaluate(expression, file: file, lines: lines, literalWords: wordsAreLiteral(spec, key))
        }
        var positional: [Value] = []
        for (i, expression) in call.positional.enumerated() {
            positional.append(try evaluate(expression, file: file, lines: lines, literalWords: wordsAreLiteral(spec, spec.positional[i].name)))
        }
        for (i, p) in spec.positional.enumerated() where p.required && i >= positional.count && keywords[p.name] == nil {
            throw diagnostic("\(call.name) needs its \(p.name) (\(p.type.name))", at: call.location, notes: ["usage: \(spec.usage)"])
        }
        let names = call.positional.map { e -> String? in
            if case .name(let n, let path, _) = e { return ([n] + path.map(\.0)).joined(separator: ".") }
            return nil
        }
        var arguments = Arguments(spec: spec, positional: positional, keywords: keywords, positionalNames: names)
        arguments.variableNames = Array(variables.keys)
        return arguments
    }

    /// Runs `body` for `call`, turning its errors into diagnostics that point at the argument they name.
    func located<T>(_ call: CommandCall, file: String, lines: SourceLines, _ body: () throws -> T) throws -> T {
        func diagnostic(_ message: String, at location: SourceLocation, notes: [String] = []) -> Diagnostic {
            Diagnostic(file: file, location: location, message: message, sourceLine: lines[location.line], notes: notes)
        }
        do {
            return try body()
        } catch let e as CommandError {
            var location = call.location
            switch e.argument {
            case .key(let k):
                if let kw = call.keywords.first(where: { $0.key == k }) { location = kw.value.location }
            case .position(let i) where i < call.positional.count:
                location = call.positional[i].location
            default: break
            }
            throw diagnostic(e.message, at: location, notes: e.notes)
        } catch let d as Diagnostic {
            throw d
        } catch let e as SynthesisError {
            // Point at the key the option came from, if it was given.
            let location = call.keywords.first(where: { $0.key == e.field.rawValue })?.value.location ?? call.location
            throw diagnostic(notebookWording(e), at: location)
        } catch {
            throw diagnostic(notebookWording(error), at: call.location)
        }
    }

    /// Keys that take words (layer names, modes) read bare names as words even if a variable has the name.
    private func wordsAreLiteral(_ spec: CommandSpec, _ key: String) -> Bool {
        let p = spec.keys.first { $0.name == key } ?? spec.positional.first { $0.name == key }
        switch p?.type {
        case .choice, .layers: return true
        default: return false
        }
    }

    func evaluate(_ expression: Expression, file: String, lines: SourceLines, literalWords: Bool = false) throws -> Value {
        switch expression {
        case .number(let v, _): return .number(v)
        case .size(let w, let h, _): return .size(w, h)
        case .string(let s, _): return .string(s)
        case .list(let items, _):
            return .list(try items.map { try evaluate($0, file: file, lines: lines, literalWords: literalWords) })
        case .name(let name, let path, let location):
            var value: Value
            if name == "true" || name == "false" {
                value = .bool(name == "true")
            } else if !literalWords || !path.isEmpty, let v = variables[name] {
                value = v
            } else if !path.isEmpty {
                let suggestion = nearest(name, in: Array(variables.keys)).map { " (did you mean '\($0)'?)" } ?? ""
                throw Diagnostic(file: file, location: SourceLocation(line: location.line, column: location.column, length: name.count),
                                 message: "no variable '\(name)'\(suggestion)", sourceLine: lines[location.line])
            } else {
                value = .word(name)
            }
            for (field, fieldLocation) in path {
                do {
                    value = try value.field(field)
                } catch let e as CommandError {
                    throw Diagnostic(file: file, location: fieldLocation, message: e.message, sourceLine: lines[fieldLocation.line])
                }
            }
            return value
        }
    }

    // MARK: Paths

    /// Paths are checked as given, before Foundation normalises them: a NUL would silently cut them short.
    func inputPath(_ path: String) throws -> String {
        try SafeFile.checkPath(path)
        return path.hasPrefix("/") || path.hasPrefix("~") ? (path as NSString).expandingTildeInPath
            : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardized.path
    }

    func outputPath(_ path: String) throws -> String {
        try SafeFile.checkPath(path)
        return path.hasPrefix("/") || path.hasPrefix("~") ? (path as NSString).expandingTildeInPath
            : URL(fileURLWithPath: outputDirectory).appendingPathComponent(path).standardized.path
    }

    /// A path as the user should see it: relative to the working folder when inside it.
    public func displayPath(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }

    func requestQuit() { quitRequested = true }
}

extension Interpreter {
    /// Checks that every override (`--set name=value`) names a `param` that `source` declares: an override of
    /// nothing would be silently ignored, and the run would use the default the user meant to change.
    /// A source that does not parse is left to `run` to report.
    public func checkOverrides(declaredIn source: String, file: String) throws {
        guard !overrides.isEmpty, let items = try? Parser.parse(source, file: file) else { return }
        var declared: [String] = []
        for case .statement(let s) in items {
            if case .parameter(let name, _, _) = s.statement { declared.append(name) }
        }
        for name in overrides.keys.sorted() where !declared.contains(name) {
            let hint = nearest(name, in: declared).map { " (did you mean '\($0)'?)" } ?? ""
            throw CommandError("--set \(name): \(file) has no parameter '\(name)'\(hint); "
                + (declared.isEmpty ? "it declares none" : "its parameters: \(declared.joined(separator: ", "))"))
        }
    }

    /// Evaluates one value written as in a notebook (for `--set name=value`).
    public func evaluateLiteral(_ text: String, file: String) throws -> Value {
        try evaluate(try Parser.parseValue(text, file: file), file: file, lines: SourceLines(text))
    }
}
