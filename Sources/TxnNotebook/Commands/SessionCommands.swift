import Foundation
import TxnVGG
import TxnSynthesis
import TxnTensor

func sessionCommands() -> [CommandSpec] {
    [
        CommandSpec(
            name: "set", summary: "session settings: threads, seed, progress interval, memory limit",
            keys: [ParamSpec("threads", .integer, default: "(all cores)", "threads for convolutions and BLAS"),
                   ParamSpec("seed", .integer, default: "0", "default random seed"),
                   ParamSpec("every", .integer, default: "10", "progress every N iterations"),
                   ParamSpec("memory", .integer, default: "(3/4 of RAM)", "memory limit in MiB for what one size may allocate")],
            example: "set threads=2 seed=42",
            run: { args, interp in
                // Checked all first, so a bad value changes nothing.
                let threads = args.has("threads") ? try args.int("threads", range: Threads.allowedRange) : nil
                let seed = args.has("seed") ? try args.int("seed", range: Arguments.seedRange) : nil
                let every = args.has("every") ? try args.int("every", range: 1...1_000_000) : nil
                let memory = args.has("memory") ? try args.int("memory", range: 1...(Int.max / MemoryBudget.mebibyte)) : nil
                if let memory { try MemoryBudget.setLimit(mebibytes: memory) }
                if let threads { Threads.count = threads }
                if let seed { interp.seed = UInt64(seed) }
                if let every { interp.progressEvery = every }
                interp.print("threads \(Threads.count), seed \(interp.seed), progress every \(interp.progressEvery), memory limit \(MemoryBudget.limitMiB) MiB")
                return .none
            }),

        CommandSpec(
            name: "help", summary: "list the commands, or explain one",
            positional: [ParamSpec("command", .any, default: "-", "a command name"),
                         ParamSpec("math", .any, default: "-", "--math: the step's mathematics (explain shows them with sizes)")],
            example: "help optimize",
            run: { args, interp in
                guard let (value, ref) = args.value("command") else {
                    interp.print("commands (help NAME for one; statements: `x = command args key=value`, `param size = 256`, `time statement`):")
                    for c in interp.commands { interp.print("  \(pad(c.name, 11)) \(c.summary)") }
                    return .none
                }
                let name: String
                switch value {
                case .word(let w), .string(let w): name = w
                default: throw CommandError("command: expected a command name", at: ref)
                }
                guard let spec = interp.commandsByName[name] else {
                    let s = nearest(name, in: interp.commandNames).map { " (did you mean '\($0)'?)" } ?? ""
                    throw CommandError("no command '\(name)'\(s)", at: ref)
                }
                if let (flag, ref) = args.value("math") {
                    guard case .word("--math") = flag else { throw CommandError("expected --math after the command name", at: ref) }
                    interp.output.write(StepMath.formulas(of: spec.name, interp))
                    return .none
                }
                interp.output.write(spec.help)
                if StepMath.table[spec.name] != nil {
                    interp.print("\nmathematics: help \(spec.name) --math; with your variables' sizes: explain \(spec.name) <its arguments>")
                }
                return .none
            }),

        CommandSpec(
            name: "run", summary: "run another notebook in this session (its variables stay)",
            positional: [ParamSpec("path", .path, "a .txn file")],
            example: "run \"tileable.txn\"",
            detail: """
                The notebook runs in this session: it sees the variables already made, and the variables it makes stay \
                afterwards, so `run "gatys.txn"` followed by `show t` works (as `txn -i gatys.txn` does from the shell). \
                Relative paths in it are read from its own folder.
                """,
            run: { args, interp in
                let path = try interp.inputPath(try args.string("path"))
                guard interp.fileStack.count < 16 else { throw CommandError("notebooks run each other too deeply (16 levels)", at: .position(0)) }
                let source: String
                do { source = try SafeFile.readText(path) } catch let failure as SafeFile.Failure {
                    throw CommandError("cannot read \(interp.displayPath(path)): \(failure.reason)", at: .position(0))
                }
                let savedBase = interp.baseDirectory
                interp.baseDirectory = (path as NSString).deletingLastPathComponent
                defer { interp.baseDirectory = savedBase }
                let errors = interp.run(source: source, file: interp.displayPath(path))
                if let first = errors.first { throw CommandError("\(interp.displayPath(path)) stopped at line \(first.location.line)", at: .position(0)) }
                return .none
            }),

        CommandSpec(
            name: "quit", summary: "end the session",
            example: "quit",
            run: { _, interp in
                interp.requestQuit()
                return .none
            }),
    ]
}
