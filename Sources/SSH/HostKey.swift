import Foundation
import System

/// A server's public host key: its type name and wire-format blob.
public struct HostKey: Sendable, Hashable {
    /// The key type as OpenSSH names it: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, ...
    public var type: String
    /// The public key blob (what known_hosts stores base64-encoded).
    public var blob: Data

    /// Creates a key from its type and blob.
    public init(type: String, blob: Data) {
        self.type = type
        self.blob = blob
    }

    /// Reads the type name embedded at the start of a key blob (`uint32 length, name`).
    public init?(blob: Data) {
        guard blob.count >= 4 else { return nil }
        let bytes = [UInt8](blob.prefix(4))
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length > 0, length < 64, blob.count >= 4 + length else { return nil }
        let start = blob.startIndex + 4
        guard let name = String(data: blob[start..<(start + length)], encoding: .utf8) else { return nil }
        self.init(type: name, blob: blob)
    }

    /// The fingerprint as OpenSSH prints it: `SHA256:` and unpadded base64.
    public var fingerprint: String {
        let encoded = Digest.sha256(blob).base64EncodedString().replacingOccurrences(of: "=", with: "")
        return "SHA256:" + encoded
    }

    /// The short type OpenSSH shows in messages: `ED25519`, `ECDSA`, `RSA`.
    public var displayType: String {
        switch type {
        case "ssh-ed25519": "ED25519"
        case let t where t.hasPrefix("ecdsa-"): "ECDSA"
        case "ssh-rsa": "RSA"
        case "ssh-dss": "DSA"
        default: type
        }
    }
}
