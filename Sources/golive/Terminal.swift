import Foundation

/// Writing to the terminal: stdout for results, stderr for diagnostics; colour only on a TTY
/// without `NO_COLOR`.
enum Terminal {
    nonisolated(unsafe) static var colorDisabled = ProcessInfo.processInfo.environment["NO_COLOR"] != nil

    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stdinIsTTY: Bool { isatty(STDIN_FILENO) == 1 }

    /// True when stdout is a terminal that understands cursor movement (not `TERM=dumb`).
    static var canRedraw: Bool {
        stdoutIsTTY && ProcessInfo.processInfo.environment["TERM"].map { $0 != "dumb" && !$0.isEmpty } ?? false
    }

    static func error(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data((text + "\n").utf8))
    }

    /// Writes to stdout; a closed stdout (the terminal or the pipe is gone) is not fatal: the run
    /// goes on, and rolls back if it must, whoever reads its output.
    static func out(_ data: Data) {
        try? FileHandle.standardOutput.write(contentsOf: data)
    }

    /// Writes text to stdout (see ``out(_:)-(Data)``).
    static func out(_ text: String) { out(Data(text.utf8)) }

    static func paint(_ text: String, _ code: String) -> String {
        guard !colorDisabled, stdoutIsTTY else { return text }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    static func green(_ text: String) -> String { paint(text, "32") }
    static func red(_ text: String) -> String { paint(text, "31") }
    static func yellow(_ text: String) -> String { paint(text, "33") }
    static func bold(_ text: String) -> String { paint(text, "1") }
    static func dim(_ text: String) -> String { paint(text, "2") }

    /// A line of the watch screen with its colour: the header bold, rows of failed or unreachable hosts
    /// red, rows being or already rolled back yellow.
    static func watchRow(_ line: String, header: Bool) -> String {
        if line.contains(" failed ") || line.contains("unreachable") || line.contains("needs-attention") { return red(line) }
        if line.contains(" rolled-back ") || line.contains(" rolling-back ") { return yellow(line) }
        return header ? bold(line) : line
    }
}
