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

    /// The moment an RFC 3339 timestamp names, read strictly: `2026-11-28T22:00:00+08:00`, fractions
    /// allowed, the offset required (both forms above are read back exactly). Dates that do not
    /// exist (`2026-02-30`) and offsets beyond ±23:59 are refused instead of being rolled over into
    /// something else; nil when `text` is not one.
    public static func parse(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        guard scalars.count >= 20, scalars.count <= 40 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[from..<(from + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func character(_ at: Int, _ allowed: String) -> Bool { at < scalars.count && allowed.utf8.contains(scalars[at]) }
        guard let year = number(0, 4), character(4, "-"), let month = number(5, 2), character(7, "-"), let day = number(8, 2),
            character(10, "Tt"), let hour = number(11, 2), character(13, ":"), let minute = number(14, 2), character(16, ":"),
            let second = number(17, 2)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if character(index, ".") {
            index += 1
            var digits = 0
            var scale = 0.1
            while index < scalars.count, (48...57).contains(scalars[index]), digits < 9 {
                fraction += Double(scalars[index] - 48) * scale
                scale /= 10
                index += 1
                digits += 1
            }
            guard digits > 0 else { return nil }
        }
        var offset = 0
        if character(index, "Zz") {
            index += 1
        } else if character(index, "+-") {
            let sign = scalars[index] == UInt8(ascii: "-") ? -1 : 1
            guard let hours = number(index + 1, 2), character(index + 3, ":"), let minutes = number(index + 4, 2), hours <= 23, minutes <= 59
            else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
            index += 6
        } else {
            return nil
        }
        guard index == scalars.count else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...days[month - 1]).contains(day), hour <= 23, minute <= 59, second <= 59 else { return nil }
        // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let epochDays = era * 146_097 + dayOfEra - 719_468
        let seconds = epochDays * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    private static func format(_ date: Date, milliseconds: Bool) -> String {
        // Whole milliseconds, truncated — but a time read back from its own text (`.974` is
        // 0.97399999... as a Double) must give the same text again: a microsecond of slack.
        // A time outside years 1-9999 (or not a number) is written as the nearest one that is: the
        // text form has four digits of year, and no value may stop the process.
        let since = date.timeIntervalSince1970
        let bounded = since.isFinite ? min(max(since, -62_135_596_800), 253_402_300_799) : 0
        let total = Int64((bounded * 1000 + 0.001).rounded(.down))
        let wholeSeconds = total >= 0 ? total / 1000 : (total - 999) / 1000
        var whole = time_t(wholeSeconds)
        let millis = Int(total - wholeSeconds * 1000)
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
