/// The value of an INI inventory's `key=value`, typed as Ansible types it: as a Python literal
/// (`ast.literal_eval`): numbers, quoted strings, `True`/`False`/`None`, lists, tuples and dicts;
/// anything that is not one is the text itself.
enum PythonLiteral {
    /// `text` as Ansible's INI reader types it.
    static func value(_ text: String) -> Value {
        // literal_eval drops leading spaces and tabs.
        var parser = Parser(Array(text.drop { $0 == " " || $0 == "\t" }.unicodeScalars))
        guard let first = parser.parseExpression() else { return .string(text) }
        if parser.atEnd() { return first }
        // `a, b` is a tuple (a list, as Ansible keeps it).
        var items = [first]
        while parser.eat(",") {
            if parser.atEnd() { return .list(items) }
            guard let item = parser.parseExpression() else { return .string(text) }
            items.append(item)
        }
        return parser.atEnd() ? .list(items) : .string(text)
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        var depth = 0

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func skipBlanks() {
            while let scalar = current {
                if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0C}" {
                    index += 1
                } else if scalar == "#" {
                    while let next = current, next != "\n" { index += 1 }
                } else {
                    return
                }
            }
        }

        mutating func atEnd() -> Bool {
            skipBlanks()
            return index == scalars.count
        }

        mutating func eat(_ scalar: Unicode.Scalar) -> Bool {
            skipBlanks()
            if current == scalar {
                index += 1
                return true
            }
            return false
        }

        mutating func parseExpression() -> Value? {
            skipBlanks()
            guard let scalar = current else { return nil }
            if scalar == "-" || scalar == "+" {
                // Only numbers take a sign.
                index += 1
                skipBlanks()
                guard let number = parseNumber() else { return nil }
                if scalar == "+" { return number }
                switch number {
                case .int(let value): return value == Int.min ? nil : .int(-value)
                case .double(let value): return .double(-value)
                default: return nil
                }
            }
            if scalar == "[" || scalar == "(" || scalar == "{" {
                depth += 1
                defer { depth -= 1 }
                guard depth < 64 else { return nil }
                index += 1
                return scalar == "{" ? parseBraces() : parseSequence(closing: scalar == "[" ? "]" : ")")
            }
            if scalar == "'" || scalar == "\"" || isStringPrefix() { return parseStrings() }
            if isDigit(scalar) || (scalar == "." && index + 1 < scalars.count && isDigit(scalars[index + 1])) { return parseNumber() }
            if scalar == "." {
                if index + 2 < scalars.count, scalars[index + 1] == ".", scalars[index + 2] == "." {
                    index += 3
                    return .string("...")
                }
                return nil
            }
            let name = parseName()
            switch name {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .null
            case "set":
                // `set()`, the one call literal_eval takes: an empty set (a list, as Ansible keeps it).
                return eat("(") && eat(")") ? .list([]) : nil
            default: return nil
            }
        }

        mutating func parseSequence(closing: Unicode.Scalar) -> Value? {
            var items: [Value] = []
            var sawComma = false
            while true {
                if eat(closing) {
                    // `(1)` is the number, `(1,)` a tuple.
                    if closing == ")", items.count == 1, !sawComma { return items[0] }
                    return .list(items)
                }
                guard let item = parseExpression() else { return nil }
                items.append(item)
                if eat(",") {
                    sawComma = true
                    continue
                }
                guard eat(closing) else { return nil }
                if closing == ")", items.count == 1, !sawComma { return items[0] }
                return .list(items)
            }
        }

        /// A dict, or a set (a list, as Ansible makes it).
        mutating func parseBraces() -> Value? {
            if eat("}") { return .map([:]) }
            guard let first = parseExpression() else { return nil }
            if eat(":") {
                var map: [String: Value] = [:]
                guard let value = parseExpression() else { return nil }
                map[Self.key(first)] = value
                while eat(",") {
                    if eat("}") { return .map(map) }
                    guard let key = parseExpression(), eat(":"), let value = parseExpression() else { return nil }
                    map[Self.key(key)] = value
                }
                return eat("}") ? .map(map) : nil
            }
            var items = [first]
            while eat(",") {
                if eat("}") { return .list(items) }
                guard let item = parseExpression() else { return nil }
                items.append(item)
            }
            return eat("}") ? .list(items) : nil
        }

        /// A dict key as JSON writes it.
        static func key(_ value: Value) -> String {
            switch value {
            case .string(let text): text
            case .null: "null"
            default: value.text(revealingSecrets: false)
            }
        }

        func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar >= "0" && scalar <= "9" }

        func isStringPrefix() -> Bool {
            var probe = index
            var letters = ""
            while probe < scalars.count, letters.count < 2, "rRbBuU".unicodeScalars.contains(scalars[probe]) {
                letters.unicodeScalars.append(scalars[probe])
                probe += 1
            }
            guard !letters.isEmpty, probe < scalars.count, scalars[probe] == "'" || scalars[probe] == "\"" else { return false }
            let lower = letters.lowercased()
            return ["r", "b", "u", "rb", "br"].contains(lower)
        }

        mutating func parseName() -> String {
            var name = ""
            while let scalar = current, scalar == "_" || scalar.properties.isAlphabetic || isDigit(scalar) {
                name.unicodeScalars.append(scalar)
                index += 1
            }
            return name
        }

        /// One or more adjacent string literals, concatenated.
        mutating func parseStrings() -> Value? {
            var text = ""
            var parsed = false
            while true {
                skipBlanks()
                guard let scalar = current, scalar == "'" || scalar == "\"" || isStringPrefix() else { break }
                var raw = false
                while let prefix = current, prefix != "'" && prefix != "\"" {
                    if prefix == "r" || prefix == "R" { raw = true }
                    index += 1
                }
                guard let part = parseString(raw: raw) else { return nil }
                text += part
                parsed = true
            }
            return parsed ? .string(text) : nil
        }

        mutating func parseString(raw: Bool) -> String? {
            guard let quote = current else { return nil }
            let triple = index + 2 < scalars.count && scalars[index + 1] == quote && scalars[index + 2] == quote
            index += triple ? 3 : 1
            var text = ""
            while let scalar = current {
                if scalar == quote {
                    if !triple {
                        index += 1
                        return text
                    }
                    if index + 2 < scalars.count, scalars[index + 1] == quote, scalars[index + 2] == quote {
                        index += 3
                        return text
                    }
                }
                if scalar == "\n", !triple { return nil }
                if scalar == "\\", index + 1 < scalars.count {
                    let next = scalars[index + 1]
                    if raw {
                        text.unicodeScalars.append(scalar)
                        text.unicodeScalars.append(next)
                        index += 2
                        continue
                    }
                    index += 2
                    switch next {
                    case "n": text += "\n"
                    case "t": text += "\t"
                    case "r": text += "\r"
                    case "0"..."7":
                        var digits = String(next)
                        while digits.count < 3, let more = current, more >= "0" && more <= "7" {
                            digits.unicodeScalars.append(more)
                            index += 1
                        }
                        guard let code = UInt32(digits, radix: 8), let decoded = Unicode.Scalar(code) else { return nil }
                        text.unicodeScalars.append(decoded)
                    case "a": text += "\u{07}"
                    case "b": text += "\u{08}"
                    case "f": text += "\u{0C}"
                    case "v": text += "\u{0B}"
                    case "\\", "'", "\"": text.unicodeScalars.append(next)
                    case "\n": break
                    case "x", "u", "U":
                        let width = next == "x" ? 2 : next == "u" ? 4 : 8
                        guard index + width <= scalars.count else { return nil }
                        var digits = ""
                        for offset in 0..<width { digits.unicodeScalars.append(scalars[index + offset]) }
                        guard let code = UInt32(digits, radix: 16), let decoded = Unicode.Scalar(code) else { return nil }
                        text.unicodeScalars.append(decoded)
                        index += width
                    default:
                        // An unknown escape keeps its backslash.
                        text.unicodeScalars.append(scalar)
                        text.unicodeScalars.append(next)
                    }
                    continue
                }
                text.unicodeScalars.append(scalar)
                index += 1
            }
            return nil
        }

        mutating func parseNumber() -> Value? {
            var digits = ""
            while let scalar = current, scalar.properties.isAlphabetic || isDigit(scalar) || scalar == "_" || scalar == "."
                || ((scalar == "+" || scalar == "-") && (digits.last == "e" || digits.last == "E") && !digits.lowercased().hasPrefix("0x"))
            {
                digits.unicodeScalars.append(scalar)
                index += 1
            }
            if digits.contains("__") || digits.hasSuffix("_") || digits.hasPrefix("_") { return nil }
            let lower = digits.lowercased()
            for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) {
                let body = lower.dropFirst(2).drop { $0 == "_" }.filter { $0 != "_" }
                return Int(body, radix: radix).map(Value.int)
            }
            let plain = lower.filter { $0 != "_" }
            if plain.allSatisfy(\.isNumber) {
                // `012` is a syntax error in Python 3 (but `000` is zero).
                if plain.count > 1, plain.hasPrefix("0"), plain.contains(where: { $0 != "0" }) { return nil }
                return Int(plain).map(Value.int)
            }
            if plain.hasSuffix("j") { return nil }
            guard plain.allSatisfy({ $0.isNumber || $0 == "." || $0 == "e" || $0 == "+" || $0 == "-" }), let number = Double(plain) else {
                return nil
            }
            return .double(number)
        }
    }
}
