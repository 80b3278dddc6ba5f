/// Fencing tokens: `GENERATION-RANDOM`, a generation that grows with each controller a run is
/// given to (its start, every takeover, every forced unlock) and 128 random bits as hex. The
/// random part tells two tokens apart; the generation orders them, so a server's lock can tell a
/// newer controller of the same run (which may replace the token it finds) from an older one that
/// woke up late (which must not).
public enum StoreTokens {
    /// 128 random bits as hex.
    public static func random() -> String {
        (0..<4).map { _ in
            let text = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            return String(repeating: "0", count: 8 - text.count) + text
        }.joined()
    }

    /// A token of the generation after the newest of `previous` (the run's fence, the holder it
    /// replaces); the first generation when there is none.
    public static func next(after previous: String?...) -> String {
        "\((previous.compactMap { $0 }.map(generation(of:)).max() ?? 0) + 1)-\(random())"
    }

    /// The fence of a run whose lock was released by force: of the released token's generation,
    /// so the run's next controller is of a newer one, and no controller's token.
    public static func released(after token: String?) -> String {
        "\(token.map(generation(of:)) ?? 0)-unlocked-\(random())"
    }

    /// A token's generation: its leading number (0 for a token without one: none was recorded).
    public static func generation(of token: String) -> Int {
        let digits = token.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9, token.dropFirst(digits.count).first == "-" else { return 0 }
        return Int(digits) ?? 0
    }
}
