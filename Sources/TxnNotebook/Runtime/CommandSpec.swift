/// A command of the language: its arguments, its help, and what it does.
struct CommandSpec {
    var name: String
    var summary: String
    var positional: [ParamSpec] = []
    var keys: [ParamSpec] = []
    var example: String
    /// A paragraph for `help NAME`: what the step does and why.
    var detail: String = ""
    /// The command prints its own account of its result, so the interpreter does not add `name = summary`.
    var describesItsResult = false
    /// Rules between arguments, checked without running (`Interpreter.check`): what `run` would refuse before it
    /// starts work, such as `optimize`'s options together.
    var check: ((Arguments) throws -> Void)? = nil
    /// What it does, seeing of the session only what `CommandContext` offers.
    var run: (Arguments, CommandContext) throws -> Value = { _, _ in .none }
    /// For a command whose arguments are another command's (`explain gram f.pool2`, checked against `gram`'s spec):
    /// called with the call as written instead of `run`, its arguments not bound to this spec.
    var runUnbound: ((Interpreter, CommandCall, _ file: String, SourceLines) throws -> Value)? = nil

    /// `name <image> [model] key=default …`
    var usage: String {
        var parts = [name]
        for p in positional { parts.append(p.required ? "<\(p.name)>" : "[\(p.name)]") }
        for k in keys { parts.append("\(k.name)=\(k.defaultText ?? "<\(k.type.name)>")") }
        return parts.joined(separator: " ")
    }

    /// The full help text.
    var help: String {
        var out = "\(name) — \(summary)\n\nusage: \(usage)\n"
        if !detail.isEmpty { out += "\n\(detail)\n" }
        if !positional.isEmpty {
            out += "\narguments:\n"
            for p in positional {
                out += "  \(pad(p.name, 14)) \(p.type.name)\(p.required ? "" : ", optional"): \(p.help)\n"
            }
        }
        if !keys.isEmpty {
            out += "\nkeys:\n"
            for k in keys {
                out += "  \(pad(k.name + "=" + (k.defaultText ?? "…"), 22)) \(k.help) (\(k.type.name))\n"
            }
        }
        out += "\nexample:\n  \(example)\n"
        return out
    }
}

extension ParamType {
    /// The choices of a string enum, in its declaration order.
    static func cases<E: RawRepresentable & CaseIterable>(of _: E.Type) -> ParamType where E.RawValue == String {
        .choice(E.allCases.map(\.rawValue))
    }
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

/// Every command, in the order `help` lists them: the steps of the method first.
func allCommands() -> [CommandSpec] {
    methodCommands() + ganCommands() + texnetCommands() + generatorCommands() + inspectionCommands() + teachingCommands() + sessionCommands()
}
