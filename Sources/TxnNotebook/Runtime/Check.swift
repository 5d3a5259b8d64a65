/// Checking statements against the commands' rules without running them: for front ends that write notebook text
/// (the server's jobs), so that the notebook's rules are the only rules a request is held to.
extension Interpreter {
    /// The first problem of `statements`, or nil: each string is exactly one statement (a `;` or a line break inside
    /// a value written into it would make two); each call names a command, its keys and as many positional arguments
    /// as it takes; every argument written as a value (not a variable's name) has its declared type, range and
    /// choices; and the command's own `check` holds (optimize's options together). Nothing is loaded, computed or
    /// assigned: a variable's value is the run's to check.
    public func check(_ statements: [String], file: String) -> Diagnostic? {
        for (index, text) in statements.enumerated() {
            let line = index + 1
            let lines = SourceLines(text, firstLine: line)
            let parsed: [SourceStatement]
            do {
                parsed = try Parser.parse(text, file: file, firstLine: line).compactMap { item in
                    if case .statement(let s) = item { return s } else { return nil }
                }
            } catch let d as Diagnostic {
                return d
            } catch {
                return Diagnostic(file: file, location: SourceLocation(line: line, column: 1), message: "\(error)")
            }
            guard parsed.count == 1, let call = parsed[0].statement.call else {
                return Diagnostic(file: file, location: SourceLocation(line: line, column: 1),
                                  message: "expected one command, got \(parsed.count) statements", sourceLine: lines[line])
            }
            // explain's arguments are another command's: its own run checks them.
            guard commandsByName[call.name]?.runUnbound == nil else { continue }
            do {
                let arguments = try bind(call, file: file, lines: lines)
                try located(call, file: file, lines: lines) {
                    try arguments.checkWrittenValues()
                    try arguments.spec.check?(arguments)
                }
            } catch let d as Diagnostic {
                return d
            } catch {
                return Diagnostic(file: file, location: call.location, message: "\(error)", sourceLine: lines[line])
            }
        }
        return nil
    }
}

extension Statement {
    /// The command the statement calls, if any (a `param` statement calls none).
    var call: CommandCall? {
        switch self {
        case .command(let c), .assignment(_, _, let c): return c
        case .timed(let inner, _): return inner.call
        case .parameter: return nil
        }
    }
}

extension Arguments {
    /// Reads every argument given as a value as its declaration's type, which checks its range and choices. A word
    /// where a value of another type is declared is a variable's name, left to the run.
    func checkWrittenValues() throws {
        for p in spec.positional + spec.keys {
            guard let (given, _) = value(p.name) else { continue }
            if case .word = given {
                switch p.type {
                case .choice, .layers, .string, .path: break
                default: continue
                }
            }
            switch p.type {
            case .integer: _ = try int(p.name)
            case .number: _ = try number(p.name)
            case .bool: _ = try bool(p.name)
            case .size: _ = try size(p.name)
            case .choice: _ = try choice(p.name)
            case .layers: _ = try layers(p.name)
            case .numbers: _ = try numbers(p.name)
            case .string, .path: _ = try string(p.name)
            case .image, .model, .features, .grams, .tensor, .synthesis, .any: break
            }
        }
    }
}
