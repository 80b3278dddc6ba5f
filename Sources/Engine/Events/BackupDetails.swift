/// What `backupRecorded` records of an `archive` backup: what it archived, where, and how to check it.
public struct BackupDetails: Codable, Sendable, Hashable {
    /// The path archived (rendered).
    public var path: String
    /// The archive on the host (rendered).
    public var archive: String
    /// The archive's SHA-256 as written.
    public var sha256: String
    /// The archive's size in bytes, as text.
    public var bytes: String
    /// `1` when the path existed (`0`: the restore removes it).
    public var existed: String

    /// Creates the details.
    public init(path: String, archive: String, sha256: String, bytes: String, existed: String) {
        self.path = path
        self.archive = archive
        self.sha256 = sha256
        self.bytes = bytes
        self.existed = existed
    }

    /// The size in bytes.
    public var size: Int? { Int(bytes) }
    /// Whether the path existed when it was archived.
    public var pathExisted: Bool { existed == "1" }
}
