/// Splits a line into words as a POSIX shell (and Python's `shlex.split`) does: blanks separate,
/// `'...'` keeps everything, `"..."` lets `\` escape only `"` and `\`, `\` outside quotes escapes
/// the next character; with `comments`, an unquoted `#` ends the line.
enum ShellWords {
    /// A word and where it starts in the line (in characters).
    struct Word: Equatable {
        var text: String
        var offset: Int
    }

    /// A quote that is never closed.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func split(_ line: String, comments: Bool = false) throws(Failure) -> [Word] {
        var words: [Word] = []
        var current: String?
        var start = 0
        var quote: Character?
        var escaped = false
        for (offset, character) in line.enumerated() {
            if escaped {
                escaped = false
                if quote == "\"", character != "\"", character != "\\" { current?.append("\\") }
                current?.append(character)
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\", open == "\"" {
                    escaped = true
                } else {
                    current?.append(character)
                }
                continue
            }
            if character == " " || character == "\t" || character == "\n" || character == "\r" {
                if let word = current { words.append(Word(text: word, offset: start)) }
                current = nil
                continue
            }
            if comments, character == "#" {
                if let word = current { words.append(Word(text: word, offset: start)) }
                return words
            }
            if current == nil {
                current = ""
                start = offset
            }
            switch character {
            case "'", "\"": quote = character
            case "\\": escaped = true
            default: current?.append(character)
            }
        }
        if quote != nil { throw Failure(description: "a quotation is not closed") }
        if escaped { throw Failure(description: "the line ends in an escape (\\)") }
        if let word = current { words.append(Word(text: word, offset: start)) }
        return words
    }
}
