/// Reads a command template the way a POSIX shell will, just enough to tell where each
/// placeholder stands: outside quotes, inside `"..."` or `'...'`, in a here-document, inside a
/// command substitution (a fresh context), or somewhere no quoting is safe. It also notices when
/// a placeholder is an argument of a second shell (`bash -c`, `su -c`, `ssh`, `eval`), which
/// parses the text again.
enum ShellSyntax {
    /// What is known about one placeholder.
    struct Found: Sendable, Hashable {
        var placement: ShellPlacement
        /// The placeholder is an argument of a command that runs it through a second shell.
        var secondShell: Bool
    }

    private enum Frame {
        /// Outside quotes (the top level, or inside `$(...)`), with the words of the current command.
        case bare(words: [String], word: String, depth: Int)
        case single
        case double
        case backtick
        case arithmetic(depth: Int)
        case parameter
        case heredoc(delimiter: String, quoted: Bool, stripTabs: Bool, line: String)
    }

    /// Commands whose argument is parsed by a second shell.
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"]

    /// The placements of the placeholders, in order, given the template's pieces: literal text,
    /// or `nil` for a placeholder.
    static func analyze(_ pieces: [String?]) -> [Found] {
        var stack: [Frame] = [.bare(words: [], word: "", depth: 0)]
        var escaped = false
        var pendingHeredocs: [(String, Bool, Bool)] = []
        var found: [Found] = []

        func secondShell() -> Bool {
            for frame in stack.reversed() {
                guard case .bare(let words, let word, _) = frame else { continue }
                let all = words + (word.isEmpty ? [] : [word])
                let names = all.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
                if names.contains("eval") || names.contains("ssh") { return true }
                let hasDashC = all.contains { $0.hasPrefix("-") && !$0.hasPrefix("--") && $0.contains("c") }
                if hasDashC && (names.contains { shells.contains($0) } || names.contains("su")) { return true }
                return false
            }
            return false
        }

        func placement() -> ShellPlacement {
            if escaped { return .unsafe("a placeholder right after a backslash: the backslash escapes the value's first character") }
            switch stack.last {
            case .single?: return .singleQuoted
            case .double?: return .doubleQuoted
            case .backtick?: return .unsafe("a placeholder inside backticks, where backslashes are processed twice: use $(...) instead")
            case .arithmetic?: return .unsafe("a placeholder inside $((...)): arithmetic cannot be quoted")
            case .parameter?: return .unsafe("a placeholder inside ${...}: quoting there differs between shells")
            case .heredoc(let delimiter, let quoted, _, _)?: return .heredoc(delimiter: delimiter, quoted: quoted)
            default: return .bare
            }
        }

        /// The word being read in the innermost bare frame.
        func appendToWord(_ character: Character) {
            for index in stack.indices.reversed() {
                if case .bare(let words, let word, let depth) = stack[index] {
                    stack[index] = .bare(words: words, word: word + String(character), depth: depth)
                    return
                }
            }
        }

        func endWord(resetCommand: Bool) {
            guard case .bare(var words, let word, let depth)? = stack.last else { return }
            if !word.isEmpty { words.append(word) }
            stack[stack.count - 1] = .bare(words: resetCommand ? [] : words, word: "", depth: depth)
        }

        for piece in pieces {
            guard let text = piece else {
                found.append(Found(placement: placement(), secondShell: secondShell()))
                escaped = false
                appendToWord("x")
                continue
            }
            var characters = Array(text)[...]
            while let character = characters.first {
                characters = characters.dropFirst()
                let next = characters.first
                switch stack.last {
                case .single?:
                    if character == "'" { stack.removeLast() }
                case .double?:
                    if escaped {
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        stack.removeLast()
                    } else if character == "`" {
                        stack.append(.backtick)
                    } else if character == "$", next == "(" {
                        characters = characters.dropFirst()
                        if characters.first == "(" {
                            characters = characters.dropFirst()
                            stack.append(.arithmetic(depth: 0))
                        } else {
                            stack.append(.bare(words: [], word: "", depth: 0))
                        }
                    } else if character == "$", next == "{" {
                        characters = characters.dropFirst()
                        stack.append(.parameter)
                    }
                case .backtick?:
                    if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "`" { stack.removeLast() }
                case .parameter?:
                    if character == "}" { stack.removeLast() }
                case .arithmetic(let depth)?:
                    if character == "(" {
                        stack[stack.count - 1] = .arithmetic(depth: depth + 1)
                    } else if character == ")" {
                        if depth > 0 {
                            stack[stack.count - 1] = .arithmetic(depth: depth - 1)
                        } else if next == ")" {
                            characters = characters.dropFirst()
                            stack.removeLast()
                        }
                    }
                case .heredoc(let delimiter, let quoted, let strip, let line)?:
                    if character == "\n" {
                        let body = strip ? String(line.drop(while: { $0 == "\t" })) : line
                        if body == delimiter {
                            stack.removeLast()
                            if !pendingHeredocs.isEmpty {
                                let (d, q, s) = pendingHeredocs.removeFirst()
                                stack.append(.heredoc(delimiter: d, quoted: q, stripTabs: s, line: ""))
                            }
                        } else {
                            stack[stack.count - 1] = .heredoc(delimiter: delimiter, quoted: quoted, stripTabs: strip, line: "")
                        }
                    } else {
                        stack[stack.count - 1] = .heredoc(delimiter: delimiter, quoted: quoted, stripTabs: strip, line: line + String(character))
                    }
                default:
                    var word = "", depth = 0
                    if case .bare(_, let current, let level)? = stack.last {
                        word = current
                        depth = level
                    }
                    if escaped {
                        escaped = false
                        appendToWord(character)
                        continue
                    }
                    switch character {
                    case "\\":
                        escaped = true
                    case "'":
                        appendToWord("x")
                        stack.append(.single)
                    case "\"":
                        appendToWord("x")
                        stack.append(.double)
                    case "`":
                        stack.append(.backtick)
                    case "$" where next == "(":
                        characters = characters.dropFirst()
                        if characters.first == "(" {
                            characters = characters.dropFirst()
                            stack.append(.arithmetic(depth: 0))
                        } else {
                            appendToWord("x")
                            stack.append(.bare(words: [], word: "", depth: 0))
                        }
                    case "$" where next == "{":
                        characters = characters.dropFirst()
                        stack.append(.parameter)
                    case "#" where word.isEmpty:
                        // A comment, to the end of the line.
                        while let skipped = characters.first, skipped != "\n" { characters = characters.dropFirst() }
                    case "(":
                        endWord(resetCommand: true)
                        if case .bare(let words, let word, let depth)? = stack.last {
                            stack[stack.count - 1] = .bare(words: words, word: word, depth: depth + 1)
                        }
                    case ")":
                        if depth > 0 {
                            endWord(resetCommand: true)
                            if case .bare(let words, let word, let depth)? = stack.last {
                                stack[stack.count - 1] = .bare(words: words, word: word, depth: depth - 1)
                            }
                        } else if stack.count > 1 {
                            stack.removeLast()  // the end of a $(...)
                        }
                    case "<" where next == "<" && characters.dropFirst().first != "<":
                        characters = characters.dropFirst()
                        var stripTabs = false
                        if characters.first == "-" {
                            stripTabs = true
                            characters = characters.dropFirst()
                        }
                        while characters.first == " " || characters.first == "\t" { characters = characters.dropFirst() }
                        var delimiter = "", quoted = false
                        while let c = characters.first, !" \t\n;&|<>()".contains(c) {
                            characters = characters.dropFirst()
                            if c == "'" || c == "\"" || c == "\\" { quoted = true } else { delimiter.append(c) }
                        }
                        if !delimiter.isEmpty { pendingHeredocs.append((delimiter, quoted, stripTabs)) }
                    case "\n":
                        endWord(resetCommand: true)
                        if !pendingHeredocs.isEmpty {
                            let (d, q, s) = pendingHeredocs.removeFirst()
                            stack.append(.heredoc(delimiter: d, quoted: q, stripTabs: s, line: ""))
                        }
                    case ";", "&", "|":
                        endWord(resetCommand: true)
                    case " ", "\t":
                        endWord(resetCommand: false)
                    default:
                        appendToWord(character)
                    }
                }
            }
        }
        return found
    }
}
