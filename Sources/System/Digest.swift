internal import CGoliveSystem
import Foundation

/// SHA-256, HMAC-SHA1 and HMAC-SHA256 through OpenSSL's libcrypto.
public enum Digest {
    /// SHA-256 of `data` (32 bytes).
    public static func sha256(_ data: Data) -> Data {
        var out = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBytes { raw in golive_sha256(raw.baseAddress, raw.count, &out) }
        return Data(out)
    }

    /// SHA-256 of `data` as lowercase hex (what `sha256sum` prints).
    public static func sha256Hex(_ data: Data) -> String {
        sha256(data).map { String(format: "%02x", $0) }.joined()
    }

    /// HMAC-SHA1 of `data` with `key` (20 bytes), as hashed known_hosts entries use.
    public static func hmacSHA1(key: Data, data: Data) -> Data { hmac(key, data, length: 20, golive_hmac_sha1) }

    /// HMAC-SHA256 of `data` with `key` (32 bytes), as a signed notification's header carries it.
    public static func hmacSHA256(key: Data, data: Data) -> Data { hmac(key, data, length: 32, golive_hmac_sha256) }

    private static func hmac(
        _ key: Data, _ data: Data, length: Int,
        _ function: (UnsafeRawPointer?, Int32, UnsafeRawPointer?, Int, UnsafeMutablePointer<UInt8>?) -> Void
    ) -> Data {
        var out = [UInt8](repeating: 0, count: length)
        key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                function(k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out)
            }
        }
        return Data(out)
    }
}
