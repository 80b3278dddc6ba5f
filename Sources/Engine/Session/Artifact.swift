/// A backup recorded on the timeline: what was archived on which host, and where the archive is.
public struct Artifact: Sendable, Hashable {
    /// Host.
    public var host: String
    /// Step id.
    public var step: String
    /// What was archived.
    public var path: String
    /// The archive file on the host.
    public var archive: String
    /// Size in bytes.
    public var bytes: Int?
    /// SHA-256.
    public var sha256: String?

    /// Creates a record.
    public init(host: String, step: String, path: String, archive: String, bytes: Int? = nil, sha256: String? = nil) {
        self.host = host
        self.step = step
        self.path = path
        self.archive = archive
        self.bytes = bytes
        self.sha256 = sha256
    }
}
