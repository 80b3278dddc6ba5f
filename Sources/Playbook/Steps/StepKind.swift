import Yams

/// The kinds of step, by keyword. The parser's keyword list is ``allCases``; each kind's parsing
/// lives in its own file (`Steps/KindStep.swift`) and its running in the engine's
/// (`Engine/Steps/StepActions+Kind.swift`). Adding a kind is a case here, a case of
/// ``Step/Action``, and the two files: every `switch` over either enum is exhaustive, so a
/// forgotten half does not compile.
public enum StepKind: String, CaseIterable, Sendable {
    case shell, command, upload, template, archive, http, tcp, wait, gate, local

    /// Parses this kind's value of a step.
    func parse(_ node: Node, _ path: String, with parser: PlaybookParser, owner: String?) -> Step.Action? {
        switch self {
        case .shell: parser.parseShell(node, path, owner: owner)
        case .local: parser.parseLocal(node, path, owner: owner)
        case .command: parser.parseCommand(node, path, owner: owner)
        case .upload: parser.parseTransfer(node, path, rendered: false)
        case .template: parser.parseTransfer(node, path, rendered: true)
        case .archive: parser.parseArchive(node, path, owner: owner)
        case .http: parser.parseHTTP(node, path).map(Step.Action.http)
        case .tcp: parser.parseTCP(node, path).map(Step.Action.tcp)
        case .wait: parser.parseWait(node, path, owner: owner)
        case .gate: parser.parseGate(node, path, owner: owner)
        }
    }
}
