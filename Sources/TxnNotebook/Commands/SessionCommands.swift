import Foundation
import TxnFiles
import TxnVGG
import TxnSynthesis
import TxnTensor

func sessionCommands() -> [CommandSpec] {
    [setCommand(), helpCommand(), runCommand(), quitCommand()]
}

// MARK: set

private func setCommand() -> CommandSpec {
    CommandSpec(
        name: "set", summary: "session settings: threads, seed, progress interval, memory limit",
        keys: [ParamSpec("threads", .integer, whenAbsent: "(all cores)", range: Threads.allowedRange, "threads for convolutions and BLAS"),
               ParamSpec("seed", .integer, whenAbsent: "0", range: Arguments.seedRange, "default random seed"),
               ParamSpec("every", .integer, whenAbsent: "10", range: 1...1_000_000, "progress every N iterations"),
               ParamSpec("memory", .integer, whenAbsent: "(3/4 of RAM)", range: 1...(Int.max / MemoryBudget.mebibyte), "memory limit in MiB for what one size may allocate")],
        example: "set threads=2 seed=42",
        describesItsResult: true,
        run: runSet)
}

private func runSet(_ args: Arguments, _ session: CommandContext) throws -> Value {
    // Checked all first, so a bad value changes nothing.
    let threads = args.has("threads") ? try args.int("threads") : nil
    let seed = args.has("seed") ? try args.int("seed") : nil
    let every = args.has("every") ? try args.int("every") : nil
    let memory = args.has("memory") ? try args.int("memory") : nil
    if let memory { try MemoryBudget.setLimit(mebibytes: memory) }
    if let threads { Threads.count = threads }
    if let seed { session.seed = UInt64(seed) }
    if let every { session.progressEvery = every }
    session.print("threads \(Threads.count), seed \(session.seed), progress every \(session.progressEvery), memory limit \(MemoryBudget.limitMiB) MiB")
    return .none
}

// MARK: help

private func helpCommand() -> CommandSpec {
    CommandSpec(
        name: "help", summary: "list the commands, or explain one",
        positional: [ParamSpec("command", .any, whenAbsent: "-", "a command name"),
                     ParamSpec("math", .any, whenAbsent: "-", "--math: the step's mathematics (explain shows them with sizes)")],
        example: "help optimize",
        describesItsResult: true,
        run: runHelp)
}

private func runHelp(_ args: Arguments, _ session: CommandContext) throws -> Value {
    guard let (value, ref) = args.value("command") else {
        session.print("commands (help NAME for one; statements: `x = command args key=value`, `param size = 256`, `time statement`):")
        for c in session.commands { session.print("  \(pad(c.name, 11)) \(c.summary)") }
        return .none
    }
    let name: String
    switch value {
    case .word(let w), .string(let w): name = w
    default: throw CommandError("command: expected a command name", at: ref)
    }
    guard let spec = session.commandsByName[name] else {
        let s = nearest(name, in: session.commandNames).map { " (did you mean '\($0)'?)" } ?? ""
        throw CommandError("no command '\(name)'\(s)", at: ref)
    }
    if let (flag, ref) = args.value("math") {
        guard case .word("--math") = flag else { throw CommandError("expected --math after the command name", at: ref) }
        session.output.write(StepMath.formulas(of: spec.name, session))
        return .none
    }
    session.output.write(spec.help)
    if StepMath.table[spec.name] != nil {
        session.print("\nmathematics: help \(spec.name) --math; with your variables' sizes: explain \(spec.name) <its arguments>")
    }
    return .none
}

// MARK: run

private func runCommand() -> CommandSpec {
    CommandSpec(
        name: "run", summary: "run another notebook in this session (its variables stay)",
        positional: [ParamSpec("path", .path, "a .txn file")],
        example: "run \"tileable.txn\"",
        detail: """
            The notebook runs in this session: it sees the variables already made, and the variables it makes stay \
            afterwards, so `run "gatys.txn"` followed by `show t` works (as `txn -i gatys.txn` does from the shell). \
            Relative paths in it are read from its own folder.
            """,
        describesItsResult: true,
        run: runRun)
}

private func runRun(_ args: Arguments, _ session: CommandContext) throws -> Value {
    try session.runNotebook(try session.inputPath(try args.string("path")))
    return .none
}

// MARK: quit

private func quitCommand() -> CommandSpec {
    CommandSpec(
        name: "quit", summary: "end the session",
        example: "quit",
        describesItsResult: true,
        run: runQuit)
}

private func runQuit(_ args: Arguments, _ session: CommandContext) throws -> Value {
    session.requestQuit()
    return .none
}

extension Interpreter {
    /// `run PATH`: the notebook at `path` in this session, relative paths read from its folder; its errors are
    /// reported where they happen, and `run` itself then fails.
    func runNotebook(_ path: String) throws {
        guard fileStack.count < 16 else { throw CommandError("notebooks run each other too deeply (16 levels)", at: .position(0)) }
        let source: String
        do { source = try SafeFile.readText(path) } catch let failure as SafeFile.Failure {
            let hint = failure.kind == .tooLarge ? " " + raiseMemoryLimitInNotebook : ""
            throw CommandError("cannot read \(displayPath(path)): \(failure.reason)\(hint)", at: .position(0))
        }
        let savedBase = baseDirectory
        baseDirectory = parentPath(path)
        defer { baseDirectory = savedBase }
        let errors = run(source: source, file: displayPath(path))
        if let first = errors.first { throw CommandError("\(displayPath(path)) stopped at line \(first.location.line)", at: .position(0)) }
    }
}
