import Foundation
import System
import Testing

/// The one ISO-8601 form: what Foundation's formatter wrote, to the second and to the millisecond.
struct TimestampTests {
    @Test func matchesFoundationsFormatterAndReadsBothForms() throws {
        let seconds = ISO8601DateFormatter()
        let millis = ISO8601DateFormatter()
        millis.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let date = Date(timeIntervalSince1970: Double(Int.random(in: 0...4_000_000_000, using: &generator)) + Double(Int.random(in: 0...999, using: &generator)) / 1000 + 0.0004)
            #expect(Timestamp.seconds(date) == seconds.string(from: date))
            #expect(Timestamp.milliseconds(date) == millis.string(from: date))
            let read = try #require(Timestamp.parse(Timestamp.milliseconds(date)))
            #expect(abs(read.timeIntervalSince(date)) < 0.001)
            // Read back and written again, a stored time is the same text (a store moved to another).
            #expect(Timestamp.milliseconds(read) == Timestamp.milliseconds(date))
        }
        #expect(Timestamp.parse("2026-12-01T12:00:00+01:00") == Timestamp.parse("2026-12-01T11:00:00Z"))
        #expect(Timestamp.parse("yesterday") == nil)
        // Strict: no rolled-over dates, no impossible offsets, no missing offset.
        for refused in ["2026-02-30T00:00:00Z", "2026-12-01T12:00:00+25:00", "2026-12-01T12:00:00", "2026-12-01T24:00:00Z"] {
            #expect(Timestamp.parse(refused) == nil, "\(refused)")
        }
    }

    @Test func globMatchesAsHostPatternsAndSSHConfigExpect() {
        #expect(Glob.matches("web*", "web12") && Glob.matches("*.example.com", "a.b.example.com") && Glob.matches("db?", "db1"))
        #expect(!Glob.matches("web?", "web12") && !Glob.matches("web", "web1") && Glob.matches("*", ""))
        #expect(Glob.matches("caf?", "cafe\u{301}"))  // one character, accent and all
    }
}
