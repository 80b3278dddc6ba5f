/// A refusal's words (why a run does not start).
struct RefusalMessage: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
