import ArgumentParser
import Foundation
import TxnFiles
import TxnNotebook
import TxnSynthesis
import TxnTensor

/// `txn [FILE.txn]`: runs a notebook, one-liners with -c, or the interactive session.
struct NotebookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a notebook (.txn file), statements given with -c, or the interactive REPL (the default).",
        discussion: """
            Relative paths in a notebook are read from the notebook's folder and written to --outdir (default: the \
            notebook's folder). Ctrl-C stops a running optimisation and keeps the best image so far.
            """)

    @Argument(help: "A .txn notebook. Without one (and without -c), an interactive session starts.")
    var file: String?

    @Option(name: .customShort("c"), help: "Statements to run, separated by ';' or newlines.")
    var commands: String?

    @Flag(help: "Print each statement before its output, like notebook cells.")
    var echo = false

    @Flag(help: "Go on after an error (the exit code still reports it).")
    var keepGoing = false

    @Flag(name: .customShort("i"), help: "After the notebook (or -c), stay in the interactive session with its variables, as python -i.")
    var interactive = false

    @Flag(help: "Step through the notebook cell by cell: each cell's prose, then its statement on the editing line (Enter runs it, an edit runs instead, `skip`, `quit`, Ctrl-D leaves the rest and stays in the session).")
    var step = false

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a notebook parameter: --set size=128 (repeatable).", valueName: "name=value"))
    var settings: [String] = []

    @Option(help: "Write a self-contained HTML notebook of the run to this file.")
    var report: String?

    @Option(help: "Folder for files the notebook writes (relative save paths).")
    var outdir: String?

    @OptionGroup var numeric: NumericOptions

    func validate() throws {
        if file != nil && commands != nil { throw ValidationError("give a notebook file or -c statements, not both") }
        if step && file == nil { throw ValidationError("--step needs a notebook file: txn --step FILE.txn") }
        if interactive && file == nil && commands == nil { throw ValidationError("-i needs a notebook file or -c statements (txn alone is already interactive)") }
        for s in settings where !s.contains("=") {
            throw ValidationError("--set '\(s)': expected name=value, e.g. --set size=128")
        }
    }

    func run() throws {
        numeric.apply()
        // Known before the run, not after it: a report that cannot be written would lose the whole run.
        if let report {
            do { try SafeFile.checkWritable(absolute(report), createFolders: true) } catch { throw ValidationError("--report \(error)") }
        }
        let interpreter = Interpreter(modelsDirectory: ModelFiles.directory)
        interpreter.defaultWeights = numeric.weights.map(absolute)
        for s in settings {
            let (name, text) = (String(s[..<s.firstIndex(of: "=")!]), String(s[s.index(after: s.firstIndex(of: "=")!)...]))
            do {
                interpreter.overrides[name] = try interpreter.evaluateLiteral(text, file: "--set \(name)")
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if let file {
            try runFile(file, interpreter)
        } else if let commands {
            do { try interpreter.checkOverrides(declaredIn: commands, file: "-c") } catch { throw ValidationError("\(error)") }
            if let outdir { interpreter.outputDirectory = absolute(outdir) }
            Interrupt.install()
            let errors = interpreter.run(source: commands, file: "-c", echo: echo, keepGoing: keepGoing)
            let failedAfter = interactive ? REPL(interpreter: interpreter).run() : false
            if !errors.isEmpty || failedAfter { throw ExitCode(1) }
        } else {
            if !settings.isEmpty { throw ValidationError("--set gives a notebook's parameters: use it with a notebook file or -c") }
            if let outdir { interpreter.outputDirectory = absolute(outdir) }
            let repl = REPL(interpreter: interpreter)
            let failed = repl.run()
            if failed { throw ExitCode(1) }
        }
    }

    func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    func runFile(_ file: String, _ interpreter: Interpreter) throws {
        let source: String
        do {
            source = try SafeFile.readText(file)
        } catch let failure as SafeFile.Failure {
            switch failure.kind {
            case .notFound: throw ValidationError("\(file): no such notebook")
            case .tooLarge: throw ValidationError("\(failure) \(CommandLineMessage.raiseMemoryLimit)")
            default: throw ValidationError("\(failure)")
            }
        }
        do { try interpreter.checkOverrides(declaredIn: source, file: file) } catch { throw ValidationError("\(error)") }
        let path = absolute(file)
        interpreter.baseDirectory = parentPath(path)
        interpreter.outputDirectory = outdir.map(absolute) ?? interpreter.baseDirectory
        let recorder = report.map { _ in ReportRecorder(title: (file as NSString).lastPathComponent) }
        var failed = false
        var stay = interactive
        var pendingInput: LineReader?
        if step {
            let session: StepSession
            let editor = isatty(STDIN_FILENO) != 0
                ? LineEditor(program: "txn", historyFile: REPL.historyFile, endOfInputOnCtrlD: true) : nil
            do { session = try StepSession(interpreter: interpreter, source: source, file: file, editor: editor) } catch {
                throw ValidationError("\(error)")
            }
            session.onCell = { recorder?.add($0) }
            stay = session.run() == .stay
            failed = session.failed
            pendingInput = session.remainingInput
        } else {
            Interrupt.install()
            let errors = interpreter.run(source: source, file: file, echo: echo, keepGoing: keepGoing) { cell in
                recorder?.add(cell)
            }
            failed = !errors.isEmpty
        }
        // -i and --step go on in the REPL with the notebook's variables (as python -i), recording what runs there too.
        if stay && !interpreter.quitRequested {
            let repl = REPL(interpreter: interpreter, pendingInput: pendingInput)
            repl.onCell = { recorder?.add($0) }
            failed = repl.run() || failed
        }
        if let report, let recorder {
            let out = absolute(report)
            try recorder.write(to: out, interpreter: interpreter)
            print("notebook written to \(interpreter.displayPath(out))")
        }
        if failed { throw ExitCode(1) }
    }
}
