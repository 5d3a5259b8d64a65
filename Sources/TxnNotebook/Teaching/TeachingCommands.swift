/// Commands for teaching the method: `explain`.
func teachingCommands() -> [CommandSpec] {
    [
        CommandSpec(
            name: "explain", summary: "the mathematics of a step, with the sizes of its arguments (explain gram f.pool2)",
            positional: [ParamSpec("command", .any, whenAbsent: "-", "a command, followed by its own arguments")],
            example: "explain gram f.pool2",
            detail: """
                Prints the formulas the command computes, with the paper's equation numbers, and then the same \
                quantities for the arguments given: matrix sizes, unknowns, memory. The arguments are checked as \
                the command itself would check them; nothing is computed or assigned. `help NAME --math` prints the \
                formulas alone.
                """,
            // Its arguments are another command's, checked against that command's spec.
            runUnbound: { interpreter, call, file, lines in try interpreter.explain(call, file: file, lines: lines) }),
    ]
}
