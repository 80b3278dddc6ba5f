import Foundation

/// The text of a file golive reads as source (a playbook, an inventory, a template file): UTF-8,
/// a leading byte-order mark dropped (editors on Windows write one), no NUL byte. Anything else is
/// a located error instead of text silently mended with replacement characters.
public enum SourceText {
    /// The file's text, or the error locating its first byte that is not UTF-8 or its first NUL.
    public static func decode(_ data: Data, file: String, keyPath: String = "") -> Result<String, PlaybookError> {
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        if let text = String(validating: bytes, as: UTF8.self) {
            if let nul = text.firstIndex(of: "\0") {
                return .failure(PlaybookError(.syntax("the file contains a NUL byte"), at: location(of: text[..<nul], file: file), keyPath: keyPath))
            }
            return .success(text)
        }
        // The longest valid prefix locates the first bad byte.
        var valid = bytes.startIndex
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = bytes.startIndex
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                offset += UTF8.width(scalar)
                valid = offset
            case .emptyInput, .error: break loop
            }
        }
        let prefix = String(decoding: bytes[bytes.startIndex..<valid], as: UTF8.self)
        let byte = String(format: "0x%02X", valid < bytes.endIndex ? bytes[valid] : 0)
        return .failure(
            PlaybookError(
                .unreadable("the file is not UTF-8: byte \(byte) at offset \(valid - data.startIndex) is not valid here"),
                at: location(of: prefix[...], file: file), keyPath: keyPath, hint: "save the file as UTF-8"))
    }

    /// The line and column just after `prefix`.
    private static func location(of prefix: Substring, file: String) -> SourceLocation {
        let line = prefix.filter { $0 == "\n" }.count + 1
        let column = (prefix.lastIndex(of: "\n").map { prefix[prefix.index(after: $0)...] } ?? prefix).count + 1
        return SourceLocation(file: file, line: line, column: column)
    }
}
