import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The one ISO-8601 (RFC 3339, UTC) form of a time golive writes: `2026-12-01T12:00:00Z` for people
/// and documents, with milliseconds (`2026-12-01T12:00:00.123Z`) where events are ordered.
public enum Timestamp {
    /// `date` to the second, UTC.
    public static func seconds(_ date: Date) -> String { format(date, milliseconds: false) }

    /// `date` to the millisecond, UTC.
    public static func milliseconds(_ date: Date) -> String { format(date, milliseconds: true) }

    /// Reads either form (and any offset RFC 3339 allows); nil when `text` is not one.
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    private static func format(_ date: Date, milliseconds: Bool) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        let millis = min(999, Int(((seconds - Double(whole)) * 1000).rounded(.down)))
        var parts = tm()
        gmtime_r(&whole, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):"
            + "\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))" + (milliseconds ? ".\(pad(Int32(millis), 3))Z" : "Z")
    }
}
