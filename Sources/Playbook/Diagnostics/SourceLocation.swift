/// A position in a playbook or inventory file (1-based).
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The file, as given on the command line.
    public var file: String
    /// Line, starting at 1.
    public var line: Int
    /// Column, starting at 1 (in Unicode scalars).
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`.
    public var description: String { "\(file):\(line):\(column)" }

    /// A location for things that come from the command line rather than a file.
    public static func commandLine(_ what: String) -> SourceLocation {
        SourceLocation(file: "<\(what)>", line: 1, column: 1)
    }
}
