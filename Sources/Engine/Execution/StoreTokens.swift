/// Fencing tokens: 128 random bits as hex.
public enum StoreTokens {
    /// A new token.
    public static func random() -> String {
        (0..<4).map { _ in
            let text = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            return String(repeating: "0", count: 8 - text.count) + text
        }.joined()
    }
}
