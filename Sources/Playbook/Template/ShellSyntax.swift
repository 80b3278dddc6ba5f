/// Reads a command template the way a POSIX shell (and bash) will, just enough to tell where each
/// placeholder stands: outside quotes, inside `"..."`, `'...'` or `$'...'`, in a here-document or a
/// comment, inside a command substitution (a fresh context), or somewhere no quoting is safe
/// (backticks, after a backslash or a `$`, arithmetic, `[[ ]]`, `${...}`, an array subscript, the
/// arguments of commands that take variable names). It also notices when a placeholder is read
/// by a second shell (`bash -c`, `su -c`, `ssh`, `eval`, `| sh`, interpreters' `-c`/`-e`).
///
/// Linear in the template's length: a word is kept only as long as needed to recognise commands.
enum ShellSyntax {
    /// What is known about one placeholder.
    struct Found: Sendable, Hashable {
        var placement: ShellPlacement
        /// The placeholder is an argument of a command that runs it through a second shell.
        var secondShell: Bool
    }

    private enum Kind: Equatable {
        /// Outside quotes: the top level, or inside `$(...)`.
        case bare
        case single
        /// `$'...'`: backslash escapes, `'` ends it.
        case ansi
        case double
        case backtick
        case arithmetic
        /// `$[ ... ]` (bash's old arithmetic).
        case oldArithmetic
        /// `[[ ... ]]`.
        case test
        case parameter
        case comment
        case heredoc(delimiter: String, quoted: Bool, stripTabs: Bool, feedsShell: Bool)
    }

    private struct Frame {
        var kind: Kind
        /// Bare frames: the words of the current simple command (the first few), the word being read.
        var words: [String] = []
        var word = ""
        var wordIsLong = false
        /// Nested `(` inside this frame; `case ... in` patterns pending.
        var depth = 0
        var cases = 0
        /// Heredoc frames: the line being read.
        var line = ""
    }

    /// Commands whose argument is parsed by a second shell.
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox", "fish", "csh", "tcsh"]
    /// Interpreters that run code given with `-c` or `-e`.
    static let interpreters: Set<String> = ["python", "python2", "python3", "perl", "ruby", "node", "php", "lua", "awk", "gawk"]
    /// bash builtins whose arguments are variable names or arithmetic: a value there is evaluated.
    static let nameCommands: Set<String> = ["let", "declare", "typeset", "local", "readonly", "read", "unset", "mapfile", "readarray"]
    private static let keepWords = 8

    /// Whether the command that starts `text` runs its standard input as code: a shell (also
    /// through `sudo`), or an interpreter given no program of its own (`| python3`, not `| awk '...'`).
    static func readsCodeFromStdin(_ text: String) -> Bool {
        var words = text.prefix { $0 != ";" && $0 != "&" && $0 != ")" }
            .split(whereSeparator: { $0 == " " || $0 == "\t" })
            .map { (word: Substring) -> String in word.split(separator: "/").last.map(String.init) ?? String(word) }
        if words.first == "sudo" {
            words.removeFirst()
            while let option = words.first, option.hasPrefix("-") {
                words.removeFirst()
                if option == "-s" || option == "-i" { return true }  // sudo's own shell reads the input
                if ["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"].contains(option), !words.isEmpty { words.removeFirst() }
            }
        }
        guard let name = words.first else { return false }
        if shells.contains(name) { return true }
        if interpreters.contains(name) && name != "awk" && name != "gawk" {
            return words.dropFirst().allSatisfy { $0 == "-" }
        }
        return false
    }
    private static let keepWordLength = 64

    /// The placements of the placeholders, in order, given the template's pieces: literal text,
    /// or `nil` for a placeholder.
    static func analyze(_ pieces: [String?]) -> [Found] {
        var stack: [Frame] = [Frame(kind: .bare)]
        var escaped = false
        var pendingHeredocs: [(String, Bool, Bool, Bool)] = []
        var found: [Found] = []
        var previous: Character = " "

        func innermostBare() -> Int? { stack.lastIndex { $0.kind == .bare } }

        func commandWords() -> [String] {
            guard let index = innermostBare() else { return [] }
            let frame = stack[index]
            return (frame.words + (frame.word.isEmpty ? [] : [frame.word])).map { $0.split(separator: "/").last.map(String.init) ?? $0 }
        }

        func secondShell(rest: String) -> Bool {
            let words = commandWords()
            if words.contains("eval") || words.contains("ssh") || words.contains("watch") || words.contains("source") || words.first == "." { return true }
            let options = words.filter { $0.hasPrefix("-") && !$0.hasPrefix("--") }
            if words.contains(where: shells.contains) || words.contains("su") {
                if options.contains(where: { $0.contains("c") }) { return true }
            }
            if words.contains("sudo") && options.contains(where: { $0.contains("s") || $0.contains("i") }) { return true }
            if words.contains(where: { interpreters.contains($0) }) && options.contains(where: { $0.contains("c") || $0.contains("e") }) { return true }
            // A pipeline or here-string feeding a shell, later on the same line: `echo {{ v }} | sh`.
            let line = rest.prefix { $0 != "\n" }
            for separator in ["|", "<<<", "<<"] {
                for part in line.components(separatedBy: separator).dropFirst() where readsCodeFromStdin(part) { return true }
            }
            // A here-document fed to a shell: `sh <<EOF`.
            for frame in stack { if case .heredoc(_, _, _, true) = frame.kind { return true } }
            return false
        }

        func placement() -> ShellPlacement {
            if escaped { return .unsafe("a placeholder right after a backslash: the backslash escapes the value's first character") }
            guard let top = stack.last else { return .bare }
            switch top.kind {
            case .single: return .singleQuoted
            case .ansi: return .unsafe("a placeholder inside $'...', where backslashes are escapes: use '...' or \"...\"")
            case .comment: return .comment
            case .backtick: return .unsafe("a placeholder inside backticks, where backslashes are processed twice: use $(...) instead")
            case .arithmetic, .oldArithmetic:
                return .unsafe("a placeholder inside arithmetic — (( )), $(( )) or $[ ] — where bash evaluates the value, array subscripts and all")
            case .test:
                return .unsafe("a placeholder inside [[ ]], where -eq, -lt and the like evaluate the value as arithmetic: use [ ] instead")
            case .parameter: return .unsafe("a placeholder inside ${...}: quoting there differs between shells")
            case .heredoc(let delimiter, let quoted, _, _):
                if !quoted && previous == "$" { return .unsafe("a placeholder right after '$': the value would be read as what follows it") }
                return .heredoc(delimiter: delimiter, quoted: quoted)
            case .double, .bare:
                if previous == "$" { return .unsafe("a placeholder right after '$': the value would be read as what follows it") }
                if let index = innermostBare() {
                    let frame = stack[index]
                    let word = frame.word
                    if top.kind == .bare || top.kind == .double,
                        let dollar = word.lastIndex(of: "$"),
                        word[word.index(after: dollar)...].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
                        word.index(after: dollar) < word.endIndex
                    {
                        return .unsafe("a placeholder right after $NAME: the value would extend the variable's name; write ${NAME}")
                    }
                    if top.kind == .bare, let bracket = word.firstIndex(of: "["),
                        word[..<bracket].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !word[..<bracket].isEmpty
                    {
                        return .unsafe("a placeholder inside an array subscript: bash evaluates it as arithmetic")
                    }
                    let words = commandWords()
                    if let first = words.first, nameCommands.contains(first) {
                        return .unsafe("a placeholder in the arguments of '\(first)', which takes variable names or arithmetic: bash evaluates the value")
                    }
                    if words.first == "printf", words.contains("-v") {
                        return .unsafe("a placeholder in the arguments of 'printf -v', which takes a variable name: bash evaluates the value")
                    }
                }
                return top.kind == .double ? .doubleQuoted : .bare
            }
        }

        func appendToWord(_ character: Character) {
            guard let index = innermostBare() else { return }
            if stack[index].word.count < keepWordLength {
                stack[index].word.append(character)
            } else {
                stack[index].wordIsLong = true
            }
        }

        func endWord(resetCommand: Bool) {
            guard let index = stack.indices.last, stack[index].kind == .bare else { return }
            let word = stack[index].word
            if !word.isEmpty || stack[index].wordIsLong {
                if word == "case" && stack[index].words.isEmpty { stack[index].cases += 1 }
                if word == "esac" && stack[index].cases > 0 { stack[index].cases -= 1 }
                if stack[index].words.count < keepWords { stack[index].words.append(word) }
            }
            stack[index].word = ""
            stack[index].wordIsLong = false
            if resetCommand { stack[index].words = [] }
        }

        /// Opens the expansion that starts at `character` — backticks, `$(`, `$((`, `${`, `$[` —
        /// taking what it reads from `characters`; false when none starts here. `markingWord`: a
        /// `$(...)` is part of the word around it (outside quotes).
        func openExpansion(_ character: Character, _ characters: inout ArraySlice<Character>, markingWord: Bool) -> Bool {
            if character == "`" {
                stack.append(Frame(kind: .backtick))
                return true
            }
            guard character == "$", let next = characters.first else { return false }
            switch next {
            case "(":
                characters = characters.dropFirst()
                if characters.first == "(" {
                    characters = characters.dropFirst()
                    stack.append(Frame(kind: .arithmetic))
                } else {
                    if markingWord { appendToWord("x") }
                    stack.append(Frame(kind: .bare))
                }
            case "{":
                characters = characters.dropFirst()
                stack.append(Frame(kind: .parameter))
            case "[":
                characters = characters.dropFirst()
                stack.append(Frame(kind: .oldArithmetic))
            default:
                return false
            }
            return true
        }

        func startHeredocIfPending() {
            if !pendingHeredocs.isEmpty {
                let (delimiter, quoted, strip, feeds) = pendingHeredocs.removeFirst()
                stack.append(Frame(kind: .heredoc(delimiter: delimiter, quoted: quoted, stripTabs: strip, feedsShell: feeds)))
            }
        }

        for (pieceIndex, piece) in pieces.enumerated() {
            guard let text = piece else {
                let rest = pieces[(pieceIndex + 1)...].compactMap { $0 }.joined()
                found.append(Found(placement: placement(), secondShell: secondShell(rest: rest)))
                escaped = false
                previous = "x"
                appendToWord("x")
                continue
            }
            var characters = Array(text)[...]
            while let character = characters.first {
                characters = characters.dropFirst()
                let next = characters.first
                defer { previous = character }
                guard let top = stack.last else { break }
                switch top.kind {
                case .single:
                    if character == "'" { stack.removeLast() }
                case .ansi:
                    if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "'" { stack.removeLast() }
                case .comment:
                    if character == "\n" {
                        stack.removeLast()
                        endWord(resetCommand: true)
                        startHeredocIfPending()
                    }
                case .double:
                    if escaped {
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        stack.removeLast()
                    } else if !openExpansion(character, &characters, markingWord: false) {
                        appendToWord(character)
                    }
                case .backtick:
                    if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "`" { stack.removeLast() }
                case .parameter:
                    if character == "}" { stack.removeLast() }
                case .oldArithmetic:
                    if character == "]" { stack.removeLast() }
                case .arithmetic:
                    let depth = top.depth
                    if character == "(" {
                        stack[stack.count - 1].depth = depth + 1
                    } else if character == ")" {
                        if depth > 0 {
                            stack[stack.count - 1].depth = depth - 1
                        } else if next == ")" {
                            characters = characters.dropFirst()
                            stack.removeLast()
                        }
                    }
                case .test:
                    if character == "]", next == "]" {
                        characters = characters.dropFirst()
                        stack.removeLast()
                    }
                case .heredoc(let delimiter, let quoted, let strip, _):
                    if character == "\n" {
                        let line = stack[stack.count - 1].line
                        let body = strip ? String(line.drop(while: { $0 == "\t" })) : line
                        if body == delimiter {
                            stack.removeLast()
                            startHeredocIfPending()
                        } else {
                            stack[stack.count - 1].line = ""
                        }
                        escaped = false
                        continue
                    }
                    let line = stack[stack.count - 1].line
                    if line.count <= delimiter.count || (strip && character == "\t" && line.allSatisfy { $0 == "\t" }) {
                        stack[stack.count - 1].line.append(character)
                    }
                    guard !quoted else { continue }
                    // An unquoted here-document expands: $(...) is a fresh shell, the rest is unsafe.
                    if escaped {
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else {
                        _ = openExpansion(character, &characters, markingWord: false)
                    }
                case .bare:
                    if escaped {
                        escaped = false
                        appendToWord(character)
                        continue
                    }
                    if openExpansion(character, &characters, markingWord: true) { continue }
                    let word = top.word
                    switch character {
                    case "\\":
                        escaped = true
                    case "'":
                        if word.hasSuffix("$") {
                            stack[stack.count - 1].word.removeLast()
                            appendToWord("x")
                            stack.append(Frame(kind: .ansi))
                        } else {
                            appendToWord("x")
                            stack.append(Frame(kind: .single))
                        }
                    case "\"":
                        appendToWord("x")
                        stack.append(Frame(kind: .double))
                    case "#" where word.isEmpty && !top.wordIsLong:
                        stack.append(Frame(kind: .comment))
                    case "(" where next == "(" && word.isEmpty:
                        characters = characters.dropFirst()
                        stack.append(Frame(kind: .arithmetic))
                    case "[" where next == "[" && word.isEmpty:
                        characters = characters.dropFirst()
                        stack.append(Frame(kind: .test))
                    case "(":
                        endWord(resetCommand: true)
                        stack[stack.count - 1].depth += 1
                    case ")":
                        if top.cases > 0 {
                            endWord(resetCommand: true)  // the end of a case pattern
                        } else if top.depth > 0 {
                            endWord(resetCommand: true)
                            stack[stack.count - 1].depth -= 1
                        } else if stack.count > 1 {
                            stack.removeLast()  // the end of a $(...)
                        }
                    case "<" where next == "<":
                        characters = characters.dropFirst()
                        if characters.first == "<" {
                            characters = characters.dropFirst()  // a here-string: a word follows
                            endWord(resetCommand: false)
                            continue
                        }
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
                        let owner = commandWords()
                        let feeds = owner.contains(where: shells.contains) || owner.contains(where: interpreters.contains) || owner.contains("ssh")
                        if !delimiter.isEmpty { pendingHeredocs.append((delimiter, quoted, stripTabs, feeds)) }
                    case "\n":
                        endWord(resetCommand: true)
                        startHeredocIfPending()
                    case ";", "&", "|":
                        endWord(resetCommand: true)
                    case " ", "\t", "\r":
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
