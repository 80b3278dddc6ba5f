import Foundation

/// Reads just enough of a private key file to know its type, so that keys libssh2 1.10 cannot use
/// (RSA, which needs rsa-sha2 signatures) are explained instead of failing obscurely.
public enum PrivateKeyFile {
    /// The key type (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, ...), or nil when unrecognised.
    public static func keyType(atPath path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        if text.contains("BEGIN RSA PRIVATE KEY") { return "ssh-rsa" }
        if text.contains("BEGIN EC PRIVATE KEY") { return "ecdsa-sha2" }
        if text.contains("BEGIN DSA PRIVATE KEY") { return "ssh-dss" }
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return nil }
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return nil }
        var reader = WireReader(data)
        guard reader.skip(bytes: 15),  // "openssh-key-v1\0"
            reader.readString() != nil,  // cipher
            reader.readString() != nil,  // kdf
            reader.readString() != nil,  // kdf options
            reader.readUInt32() != nil,  // number of keys
            let publicKey = reader.readString()
        else { return nil }
        return HostKey(blob: publicKey)?.type
    }
}

/// Reads SSH wire-format fields (`uint32`, length-prefixed strings).
struct WireReader {
    private let data: [UInt8]
    private var offset = 0

    init(_ data: Data) { self.data = [UInt8](data) }

    mutating func skip(bytes: Int) -> Bool {
        guard offset + bytes <= data.count else { return false }
        offset += bytes
        return true
    }

    mutating func readUInt32() -> UInt32? {
        guard offset + 4 <= data.count else { return nil }
        let value = data[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        offset += 4
        return value
    }

    mutating func readString() -> Data? {
        guard let length = readUInt32(), offset + Int(length) <= data.count else { return nil }
        let value = Data(data[offset..<offset + Int(length)])
        offset += Int(length)
        return value
    }
}
