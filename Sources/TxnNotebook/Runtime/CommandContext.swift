import Foundation
import TxnImage
import TxnTensor
import TxnVGG

/// What a command may see and change of its session: output, the session's settings and its current model,
/// paths, and the few whole-session acts of `help`, `vars`, `run` and `quit`. Not the parser, the evaluator or
/// how statements run: a command is given its evaluated arguments and this, nothing more.
protocol CommandContext: AnyObject {
    /// Where text and images go.
    var output: OutputSink { get }
    func print(_ text: String)

    /// The default random seed (`set seed=`).
    var seed: UInt64 { get set }
    /// Progress every N iterations (`set every=`).
    var progressEvery: Int { get set }
    /// Follows and stops long commands for a front end; nil in the terminal.
    var monitor: RunMonitor? { get }

    /// The session's variables, to list them.
    var variables: [String: Value] { get }
    /// The model used by commands not given one: the last one `model` made.
    var currentModel: ModelValue? { get set }
    /// The checkpoint `model` loads when given no path.
    var defaultWeightsPath: String { get }

    /// Every command, in the order `help` lists them.
    var commands: [CommandSpec] { get }
    var commandsByName: [String: CommandSpec] { get }
    var commandNames: [String] { get }

    /// A path to read, resolved against the notebook's folder.
    func inputPath(_ path: String) throws -> String
    /// A path to write, resolved against the output folder.
    func outputPath(_ path: String) throws -> String
    /// A path as the user should see it.
    func displayPath(_ path: String) -> String

    /// Runs the notebook at `path` (resolved) in this session: its variables stay.
    func runNotebook(_ path: String) throws
    /// Ends the session after this statement.
    func requestQuit()
}

extension CommandContext {
    /// A command's image result: shown in the output with its caption, and returned as the statement's value.
    func imageResult(_ image: Image, caption: String) -> Value {
        output.show(image, caption: caption)
        return .image(image)
    }
}

extension Interpreter: CommandContext {}
