import Foundation

/// Keeps the first and last `limit / 2` bytes of a stream and counts what falls between.
public struct OutputCapture: Sendable {
    private let half: Int
    private var head = Data()
    private var tail = Data()
    /// The bytes dropped between the head and the tail.
    public private(set) var omitted = 0

    /// Keeps at most `limit` bytes.
    public init(limit: Int) { half = max(1, limit / 2) }

    /// Adds the next bytes of the stream.
    public mutating func append(_ chunk: Data) {
        var chunk = chunk
        if head.count < half {
            let take = min(half - head.count, chunk.count)
            head.append(chunk.prefix(take))
            chunk = chunk.dropFirst(take)
        }
        guard !chunk.isEmpty else { return }
        tail.append(chunk)
        if tail.count > half {
            let excess = tail.count - half
            omitted += excess
            tail = Data(tail.suffix(half))
        }
    }

    /// The kept bytes; where bytes were dropped, a line says how many (`… [N bytes cut] …`).
    public var data: Data {
        guard omitted > 0 else { return head + tail }
        return head + Data(Self.cutMarker(omitted).utf8) + tail
    }

    /// The line that stands where bytes were dropped (the capture's, and the journal's own bound).
    public static func cutMarker(_ count: Int) -> String { "\n… [\(count)" + cutWords + "\n" }

    /// What every cut marker holds: a quick test before ``cutPattern``.
    public static let cutWords = " bytes cut] …"

    /// A cut marker as a regular expression.
    public static let cutPattern = #"\n… \[[0-9]+ bytes cut\] …\n"#
}
