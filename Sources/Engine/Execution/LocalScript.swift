import Foundation

/// A command for the controller's shell, written to a file only its owner can read (a fresh 0700
/// directory holding a 0600 `script`), so that it never appears in argv.
enum LocalScript {
    /// Writes `text` and returns the directory holding it (the caller removes it).
    ///
    /// - Throws: when the temporary directory or file cannot be made.
    static func write(_ text: String) throws -> String {
        var template = Array("\(FileManager.default.temporaryDirectory.path)/golive-local-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot make a private directory for a local command"])
        }
        let folder = String(cString: made)
        let path = folder + "/script"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot write \(path)"])
        }
        return folder
    }
}
